package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./lab train and ./lab eval end to end on a tiny model, and their bad-input errors. */
class TrainEvalCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private final StringWriter err = runner.err;

    private int lab(String... args) {
        return runner.run(args);
    }

    private String stdout(String... args) {
        return runner.stdout(args);
    }

    private Path runFile() throws Exception {
        return Files.writeString(tmp.resolve("run.json"), """
                {"data": {"dataset": "brown", "tokenizer": "byte"},
                 "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 16, "n_embd": 16,
                                     "n_layer": 1, "n_head": 2, "layer_norm_epsilon": 1e-5,
                                     "activation_function": "gelu_new"},
                           "batch_size": 4, "seq_len": 16, "steps": 6, "lr_max": 1e-2, "lr_min": 1e-3,
                           "warmup_steps": 1, "weight_decay": 0.0, "grad_clip": 1.0, "grad_accum_steps": 1,
                           "seed": 3, "eval_interval": 0, "eval_batches": 1, "checkpoint_interval": 0,
                           "keep_checkpoints": 1, "freeze_pattern": ""}}""");
    }

    @Test
    void trainWritesAModelThatEvalScoresExactlyAsTheLibraryDoes() throws Exception {
        Path out = tmp.resolve("model");
        stdout("train", "--config", runFile().toString(), "--out", out.toString());
        JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        double ppl = summary.get("validation_perplexity").asDouble();
        assertTrue(ppl > 1 && ppl < 256, "better than the uniform byte model (256): " + ppl);
        assertEquals(6, summary.get("steps").asInt());
        assertFalse(Files.exists(tmp.resolve(".model.partial")), "the temporary folder was renamed");

        int[] ids = new int[200];
        ByteBuffer b = ByteBuffer.allocate(2 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 37 + 11) % 256;
            b.putShort((short) ids[i]);
        }
        Path bin = Files.write(tmp.resolve("ids.bin"), b.array());
        JsonNode r = new ObjectMapper().readTree(stdout("eval", "--model", out.toString(), "--data", bin.toString(), "--json"));
        Perplexity.Result direct = Perplexity.evaluate(Gpt.load(out, 8, 16), ids, 16, 8);
        assertEquals(direct.perplexity(), r.get("perplexity").asDouble(), 1e-12 * direct.perplexity());
        assertEquals(200 - 13, r.get("tokens").asLong(), "200 ids in windows of 16: 200 - ceil(200/16) predicted");
        assertEquals(40, r.get("git_commit").asText().length());

        assertEquals(2, lab("train", "--config", runFile().toString(), "--out", out.toString()));
        assertTrue(err.toString().contains("--out " + out + " already exists: choose a new folder"), err::toString);
    }

    @Test
    void evalRejectsBadDataFilesNamingTheProblem() throws Exception {
        Path model = tmp.resolve("m");
        new Gpt(org.distillery.io.Gpt2Config.of(32, 8, 8, 1, 2), 1, 8, 0).save(model);
        Path odd = Files.write(tmp.resolve("odd.bin"), new byte[] {1, 0, 2});
        assertEquals(2, lab("eval", "--model", model.toString(), "--data", odd.toString()));
        assertTrue(err.toString().contains("--data " + odd + ": 3 bytes is not a whole number of uint16 ids"), err::toString);
        Path big = Files.write(tmp.resolve("big.bin"), new byte[] {1, 0, 40, 0});
        assertEquals(2, lab("eval", "--model", model.toString(), "--data", big.toString()));
        assertTrue(err.toString().contains("token id 40 at position 1 is outside the model's vocabulary of 32"), err::toString);
        Path text = Files.writeString(tmp.resolve("t.txt"), "hello");
        assertEquals(2, lab("eval", "--model", model.toString(), "--data", text.toString()));
        assertTrue(err.toString().contains("has no tokenizer files (vocab.json + merges.txt) and its vocab_size 32 "
                + "is not the byte tokenizer's 256"), err::toString);
        assertEquals(2, lab("eval", "--model", tmp.resolve("nope").toString(), "--data", text.toString()));
        assertTrue(err.toString().contains("--model " + tmp.resolve("nope") + ": no config.json there"), err::toString);
    }
}
