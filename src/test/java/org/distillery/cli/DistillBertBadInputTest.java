package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.model.Bert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./lab distill with a BERT teacher ({@link TinyBertTeacher}) refuses bad input with one exact line (exit code 2) and
 * writes nothing; a run that fails after it started leaves nothing behind either.
 */
class DistillBertBadInputTest {
    static final int T = TinyBertTeacher.T;
    @TempDir
    static Path shared;
    static TinyBertTeacher fixture;
    static Path teacherDir;

    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();

    @BeforeAll
    static void buildTeacher() {
        fixture = TinyBertTeacher.build(shared);
        teacherDir = fixture.dir();
    }

    private Path spec(String name, String json) throws IOException {
        return Files.writeString(tmp.resolve(name), json);
    }

    private int lab(Path teacher, Path spec, Path out, String... more) {
        return TinyBertTeacher.distill(runner, teacher, spec, out, more);
    }

    @Test
    void badInputIsOneExactLineAndWritesNothing() throws Exception {
        Path good = spec("good.json", """
                {"layers": 2, "steps": 1, "batch": 4, "seq_len": 16, "eval_tokens": 500}""");
        Path noVocab = tmp.resolve("no-vocab");
        Bert.load(teacherDir, 1, T).save(noVocab);
        Path out = tmp.resolve("out");
        record Case(Path teacher, Path spec, String message, String... more) {}
        List<Case> cases = new ArrayList<>();
        for (String[] c : new String[][] {
                {"{\"layers\": 5, \"seq_len\": 16}", "layers: must be in [1, 4] (the teacher's num_hidden_layers) but was 5"},
                {"{\"layers\": 0}", "layers: must be >= 1 but was 0"},
                {"{\"layers\": 2, \"seq_len\": 16, \"layer_map\": [0, 4]}", "layer_map: [0, 4] names teacher layer 4 (entry 1), but the teacher"
                        + " has layers 0..3"},
                {"{\"layers\": 2, \"seq_len\": 16, \"layer_map\": [0]}", "layer_map: [0] has 1 entries but layers is 2; give one teacher layer"
                        + " per student layer"},
                {"{\"layers\": 2, \"init\": \"random\", \"layer_map\": [0, 1]}", "layer_map: [0, 1] is only used with init"
                        + " \"teacher\", but init is \"random\""},
                {"{\"layers\": 2, \"init\": \"copy\"}", "init: must be \"teacher\" or \"random\" but was \"copy\""},
                {"{\"layers\": 2, \"seq_len\": 32}", "seq_len: must be in [3, 16] (the teacher's max_position_embeddings) but"
                        + " was 32"},
                {"{\"layers\": 2, \"lr_max\": 0.1}", "unknown key 'lr_max'; accepted: layers, init, layer_map, batch, seq_len,"
                        + " steps, lr, warmup, dropout, seed, eval_tokens"},
                {"{\"steps\": 10}", "layers: missing; the student's number of layers is required"}}) {
            Path f = spec("bad-" + cases.size() + ".json", c[0]);
            cases.add(new Case(teacherDir, f, "--student-config " + f + ": " + c[1], "--losses", "ce=1"));
        }
        cases.add(new Case(noVocab, good, "--teacher " + noVocab + ": no vocab.txt there; a BERT teacher needs its WordPiece"
                + " vocabulary (vocab.txt, one token per line)", "--losses", "ce=1"));
        cases.add(new Case(teacherDir, good, "--losses: unknown loss 'kd'; accepted: ce, mlm, cos, mse, attn",
                "--losses", "ce=1,kd=2"));
        cases.add(new Case(teacherDir, good, "--losses: clm is the task loss of GPT students; this student is a BERT: use mlm",
                "--losses", "ce=1,clm=1"));
        cases.add(new Case(teacherDir, good, "--losses ce=0,mlm=0: every weight is 0; at least one of ce, mlm, cos, mse, attn"
                + " must be > 0", "--losses", "ce=0,mlm=0"));
        cases.add(new Case(teacherDir, good, "--temperature: must be a finite number > 0 but was 0.0",
                "--losses", "ce=1", "--temperature", "0"));
        cases.add(new Case(teacherDir, good, "--temperature: must be a finite number > 0 but was -2.0",
                "--losses", "ce=1", "--temperature", "-2"));
        for (Case c : cases) {
            runner.err.getBuffer().setLength(0);
            assertEquals(2, lab(c.teacher(), c.spec(), out, c.more()), c.message());
            assertEquals("distill: " + c.message() + System.lineSeparator(), runner.err.toString());
            assertFalse(Files.exists(out), "no output after: " + c.message());
        }
    }

    @Test
    void theHelpShowsEveryKeyOfTheStudentSpec() {
        String help = runner.stdout("distill", "--help");
        for (String key : org.distillery.distill.BertStudentRun.Spec.KEYS) {
            assertTrue(help.contains("\"" + key + "\": "), key + " in: " + help);
        }
        assertTrue(help.contains("BERT's 15 % masking"), "no unformatted %: " + help);
        assertEquals("", runner.err.toString());
    }

    @Test
    void anExistingOutIsRefusedAndKeptAsItWas() throws Exception {
        Path good = spec("good.json", """
                {"layers": 2, "steps": 1, "batch": 4, "seq_len": 16, "eval_tokens": 500}""");
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        runner.err.getBuffer().setLength(0);
        assertEquals(2, lab(teacherDir, good, out, "--losses", "ce=1"));
        assertEquals("distill: --out " + out + " already exists: choose a new folder (outputs are never overwritten)"
                + System.lineSeparator(), runner.err.toString());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(out.resolve("keep.txt")), files.toList());
        }
    }

    @Test
    void aRunThatFailsWhileTrainingLeavesNothingBehind() throws Exception {
        // a NaN in the teacher's output bias: the soft loss is NaN at the first step and the trainer stops
        Path nan = tmp.resolve("nan-teacher");
        Bert broken = Bert.load(teacherDir, 1, T);
        broken.parameters().get("cls.predictions.bias").set(0, Float.NaN);
        broken.save(nan);
        fixture.tokenizer().save(nan.resolve("vocab.txt"));
        Path failed = tmp.resolve("failed");
        assertEquals(1, lab(nan, spec("random.json", """
                {"layers": 1, "init": "random", "steps": 2, "batch": 4, "seq_len": 16, "eval_tokens": 500}"""), failed,
                "--losses", "ce=1"));
        assertTrue(runner.err.toString().contains("step 1: loss is NaN"), runner.err::toString);
        assertFalse(Files.exists(failed));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains(".partial")).toList());
        }
    }
}
