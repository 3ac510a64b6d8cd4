package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab train}: run files that are missing, folders, not UTF-8, not JSON, or hold a wrong field; an existing
 * {@code --out} or one whose folder is missing. Each is one exact line on stderr, exit code 2, and nothing is left in
 * the output folder; a run that diverges is one line with exit code 1.
 */
class TrainBadInputTest {
    @TempDir
    Path tmp;

    /** The tiny run of src/bench/runs/brown-byte-tiny.json with {@code change} applied to its text. */
    static String run(String from, String to) {
        String base = """
                {"data": {"dataset": "brown", "tokenizer": "byte", "validation_tokens": 500},
                 "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 16, "n_embd": 16, "n_layer": 1,
                                     "n_head": 2},
                           "batch_size": 2, "seq_len": 16, "steps": 2, "lr_max": 0.001, "lr_min": 0.0001, "warmup_steps": 0,
                           "weight_decay": 0.1, "grad_clip": 1.0, "grad_accum_steps": 1, "seed": 1, "eval_interval": 0,
                           "eval_batches": 1, "checkpoint_interval": 0, "keep_checkpoints": 1, "freeze_pattern": ""}}""";
        if (!base.contains(from)) throw new IllegalArgumentException("not in the run: " + from);
        return base.replace(from, to);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path in = Files.createDirectories(tmp.resolve("in"));
        String out = work.resolve("model").toString();
        Files.createDirectories(work.resolve("exists"));
        Path folder = Files.createDirectories(in.resolve("folder.json"));
        Path notUtf8 = Files.write(in.resolve("latin1.json"), new byte[] {'{', (byte) 0xE9, '}'});
        Path notJson = Files.writeString(in.resolve("not-json.json"), "{\"data\": }");
        Path noData = Files.writeString(in.resolve("no-data.json"), "{\"train\": {}}");
        Path wiki = Files.writeString(in.resolve("wiki.json"), run("\"brown\"", "\"wiki\""));
        Path steps0 = Files.writeString(in.resolve("steps0.json"), run("\"steps\": 2", "\"steps\": 0"));
        Path stepsFraction = Files.writeString(in.resolve("steps-fraction.json"), run("\"steps\": 2", "\"steps\": 2.5"));
        Path lrNegative = Files.writeString(in.resolve("lr.json"), run("\"lr_max\": 0.001", "\"lr_max\": -1"));
        Path heads = Files.writeString(in.resolve("heads.json"), run("\"n_head\": 2", "\"n_head\": 3"));
        Path vocab = Files.writeString(in.resolve("vocab.json"), run("\"vocab_size\": 256", "\"vocab_size\": 300"));
        Path longSeq = Files.writeString(in.resolve("seq.json"), run("\"seq_len\": 16", "\"seq_len\": 32"));
        Path noFreeze = Files.writeString(in.resolve("freeze.json"), run(", \"freeze_pattern\": \"\"", ""));
        Path good = Files.writeString(in.resolve("good.json"), run("\"steps\": 2", "\"steps\": 2"));
        String nl = System.lineSeparator();
        return BadInput.cli(work, List.of(
                usage("no such run file", "--config " + in.resolve("none.json") + ": no such file",
                        "train", "--config", in.resolve("none.json").toString(), "--out", out),
                usage("a folder as the run file", "--config " + folder + ": is a folder, not a file",
                        "train", "--config", folder.toString(), "--out", out),
                usage("not UTF-8", "--config " + notUtf8 + ": not UTF-8 text (java.nio.charset.MalformedInputException: Input length"
                        + " = 2)", "train", "--config", notUtf8.toString(), "--out", out),
                usage("not JSON", "--config " + notJson + ": not valid JSON: Unexpected character ('}' (code 125)): expected a valid"
                        + " value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                        "train", "--config", notJson.toString(), "--out", out),
                usage("no data section", "--config " + noData + ": needs \"data\": {\"dataset\": ..., \"tokenizer\": ...} (strings)",
                        "train", "--config", noData.toString(), "--out", out),
                usage("unknown dataset", "--config " + wiki + ": data.dataset 'wiki' is not accepted: use one of [brown]",
                        "train", "--config", wiki.toString(), "--out", out),
                usage("0 steps", "--config " + steps0 + " (train): steps: must be >= 1 but was 0",
                        "train", "--config", steps0.toString(), "--out", out),
                usage("2.5 steps", "--config " + stepsFraction + " (train): field steps must be an integer but was 2.5",
                        "train", "--config", stepsFraction.toString(), "--out", out),
                usage("negative learning rate", "--config " + lrNegative + " (train): lrMax: must be finite and > 0 but was -1.0",
                        "train", "--config", lrNegative.toString(), "--out", out),
                usage("n_embd not divisible by n_head", "--config " + heads + " (train) (config.model): field \"n_embd\" = 16 is not"
                        + " divisible by \"n_head\" = 3", "train", "--config", heads.toString(), "--out", out),
                usage("byte tokenizer with 300 tokens", "--config " + vocab + ": the byte tokenizer has 256 tokens but"
                        + " train.model.vocab_size is 300", "train", "--config", vocab.toString(), "--out", out),
                usage("seq_len above n_positions", "--config " + longSeq + " (train): seqLen: must be in [1, n_positions = 16] but"
                        + " was 32", "train", "--config", longSeq.toString(), "--out", out),
                usage("a field missing", "--config " + noFreeze + " (train): config has no field freeze_pattern",
                        "train", "--config", noFreeze.toString(), "--out", out),
                usage("--out exists", "--out " + work.resolve("exists") + " already exists: choose a new folder (outputs are never"
                        + " overwritten)", "train", "--config", good.toString(), "--out", work.resolve("exists").toString()),
                usage("--out in a missing folder", "--out " + work.resolve("no/model") + ": the folder " + work.resolve("no")
                        + " does not exist", "train", "--config", good.toString(), "--out", work.resolve("no/model").toString())));
    }

    /**
     * A run that diverges stops with one line and exit code 1; nothing appears at --out, and its temporary folder
     * (.OUT.partial, with the checkpoints it wrote) is kept for inspection: a new run into the same --out names it.
     */
    @Test
    void aRunThatDivergesWritesNoModel() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path diverges = Files.writeString(tmp.resolve("diverges.json"), run("\"lr_max\": 0.001, \"lr_min\": 0.0001",
                "\"lr_max\": 1e30, \"lr_min\": 1e29").replace("\"grad_clip\": 1.0", "\"grad_clip\": 0"));
        String out = work.resolve("model").toString(), nl = System.lineSeparator();
        BadInput.Run r = BadInput.lab("train", "--config", diverges.toString(), "--out", out);
        assertEquals("train: step 2: loss is NaN (micro-batch 0); training stopped. Last good checkpoint: none" + nl, r.err());
        assertEquals(1, r.exit());
        assertEquals(List.of(".model.partial"), BadInput.entries(work));
        r = BadInput.lab("train", "--config", diverges.toString(), "--out", out);
        assertEquals("train: " + work.resolve(".model.partial") + " exists (an interrupted run?): remove it or choose another"
                + " --out (./lab train --resume RUNDIR continues an interrupted ./lab train from its run folder)" + nl, r.err());
        assertEquals(2, r.exit());
    }
}
