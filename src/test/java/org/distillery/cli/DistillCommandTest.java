package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.distillery.distill.TeacherOutputCache;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./lab distill end to end on a tiny teacher and student, and its bad-input errors. */
class DistillCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private final StringWriter err = runner.err;

    private int lab(String... args) {
        return runner.run(args);
    }

    private Path studentRun() throws Exception {
        return Files.writeString(tmp.resolve("student.json"), """
                {"data": {"dataset": "brown", "tokenizer": "byte", "validation_tokens": 2000},
                 "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 16, "n_embd": 8,
                                     "n_layer": 1, "n_head": 2, "layer_norm_epsilon": 1e-5,
                                     "activation_function": "gelu_new"},
                           "batch_size": 4, "seq_len": 16, "steps": 4, "lr_max": 1e-2, "lr_min": 1e-3,
                           "warmup_steps": 1, "weight_decay": 0.0, "grad_clip": 1.0, "grad_accum_steps": 1,
                           "seed": 3, "eval_interval": 0, "eval_batches": 1, "checkpoint_interval": 0,
                           "keep_checkpoints": 1, "freeze_pattern": ""}}""");
    }

    private Path teacher(int vocab) {
        Path dir = tmp.resolve("teacher-" + vocab);
        new Gpt(Gpt2Config.of(vocab, 16, 16, 1, 2), 1, 16, 5).save(dir);
        return dir;
    }

    @Test
    void distilsAStudentAndRecordsHow() throws Exception {
        Path teacher = teacher(256), out = tmp.resolve("student");
        assertEquals(0, lab("distill", "--teacher", teacher.toString(), "--student-config", studentRun().toString(),
                "--losses", "ce=0.5,clm=0.5,mse=0.1,attn=0.2", "--temperature", "3", "--out", out.toString()), err::toString);
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        JsonNode o = summary.get("objective");
        assertEquals("distillation", o.get("kind").asText());
        assertEquals(TeacherOutputCache.fingerprint(Gpt.load(teacher, 1, 16).parameters()), o.get("teacher").asText());
        assertEquals(0.5, o.at("/options/soft/start").asDouble());
        assertEquals(0.1, o.at("/options/mse/start").asDouble());
        assertEquals(0.2, o.at("/options/attention/start").asDouble());
        assertEquals(3.0, o.at("/options/temperature/start").asDouble());
        assertEquals(0.0, o.at("/options/cos/start").asDouble());
        assertEquals(8, Gpt.load(out, 1, 16).config().nEmbd(), "the student, not the teacher or projections");
        double ppl = summary.get("validation_perplexity").asDouble();
        assertTrue(ppl > 1 && ppl < 1000, "perplexity " + ppl);
    }

    @Test
    void badInputIsNamedAndLeavesNoOutput() throws Exception {
        Path run = studentRun(), teacher = teacher(256), out = tmp.resolve("out");
        Map<String[], String> cases = Map.of(
                new String[] {"--losses", "ce=1,kd=2"}, "--losses: unknown loss 'kd'; accepted: ce, clm, cos, mse, attn",
                new String[] {"--losses", "ce=1,mlm=1"}, "--losses: mlm is the task loss of BERT students; this student is a GPT: use clm",
                new String[] {"--losses", "ce=-1"}, "--losses: the weight of ce must be a finite number >= 0 but was -1.0",
                new String[] {"--losses", "ce"}, "--losses: 'ce' is not NAME=WEIGHT (names: ce, clm, cos, mse, attn)",
                new String[] {"--losses", "ce=0,clm=0"}, "--losses ce=0,clm=0: every weight is 0; at least one of ce, clm, cos, mse, attn must be > 0",
                new String[] {"--losses", "ce=1", "--temperature", "0"}, "--temperature: must be a finite number > 0 but was 0.0");
        for (Map.Entry<String[], String> c : cases.entrySet()) {
            String[] args = new String[8 + c.getKey().length];
            System.arraycopy(new String[] {"distill", "--teacher", teacher.toString(), "--student-config", run.toString(),
                    "--out", out.toString(), ""}, 0, args, 0, 7);
            System.arraycopy(c.getKey(), 0, args, 7, c.getKey().length);
            args = java.util.Arrays.stream(args).filter(a -> a != null && !a.isEmpty()).toArray(String[]::new);
            err.getBuffer().setLength(0);
            assertNotEquals(0, lab(args));
            assertTrue(err.toString().contains(c.getValue()), "expected '" + c.getValue() + "' in: " + err);
            assertFalse(Files.exists(out), "no output folder after: " + c.getValue());
        }
        err.getBuffer().setLength(0);
        assertNotEquals(0, lab("distill", "--teacher", teacher(300).toString(), "--student-config", run.toString(),
                "--losses", "ce=1", "--out", out.toString()));
        assertTrue(err.toString().contains("teacher: vocab_size 300 differs from the student's 256"), err.toString());
        assertFalse(Files.exists(out));
        err.getBuffer().setLength(0);
        assertNotEquals(0, lab("distill", "--teacher", tmp.resolve("nope").toString(), "--student-config", run.toString(),
                "--losses", "ce=1", "--out", out.toString()));
        assertTrue(err.toString().contains("--teacher " + tmp.resolve("nope") + ": no such folder"), err.toString());
    }
}
