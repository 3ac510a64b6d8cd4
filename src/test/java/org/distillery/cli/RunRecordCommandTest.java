package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.record.Rerun;
import org.distillery.record.RunRecord;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.LanguageModelRun;
import org.distillery.train.Trainer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run folders of the commands: --out and model/, --resume of an interrupted run (train from its checkpoint,
 * quantize done again or only completed), and every refusal with its exact message and nothing written.
 */
class RunRecordCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private Path root, src;

    @BeforeEach
    void setUp() {
        root = tmp.resolve("runs");
        src = TinyGptDir.model(tmp.resolve("src"));
    }

    private String err() {
        String e = runner.err.toString();
        runner.err.getBuffer().setLength(0);
        return e;
    }

    private void quantize(String name, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8",
                "--runs", root.toString(), "--run-name", name));
        args.addAll(List.of(more));
        runner.stdout(args.toArray(String[]::new));
    }

    /** An interrupted run: the run folder as the first moments of a run of {@code like}'s configuration leave it. */
    private RunRecord interrupted(String name, Path like) {
        return RunRecord.create(root.resolve(name), RunRecord.read(like).config());
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + (Files.isRegularFile(p) ? " " + p.toFile().length() : "")).sorted().toList();
        }
    }

    @Test
    void aTrainingRunKilledAfterACheckpointIsResumedFromItAndEndsBitIdentical() throws Exception {
        Path runFile = Files.writeString(tmp.resolve("run.json"), org.distillery.record.TinyTrainRun.RUN_FILE);
        runner.stdout("train", "--config", runFile.toString(), "--runs", root.toString(), "--run-name", "whole");
        Path whole = root.resolve("whole");

        // what a kill after the checkpoint of step 3 leaves: the record, and the trainer's folder with step-3
        RunRecord rec = interrupted("cut", whole);
        LanguageModelRun run = LanguageModelRun.read(runFile);
        LanguageModelRun.Corpus c = run.corpus();
        Path partial = root.resolve("cut").resolve(".model.partial");
        new Trainer(run.train().loop(), new CausalLmObjective(run.train(), c.train(), c.validation()), partial.resolve("run")).runUntil(3);
        rec.close();
        assertEquals(List.of(partial.resolve("run").resolve("step-00000003")), Trainer.checkpoints(partial.resolve("run")));
        List<RunRecord.Metric> before = RunRecord.readMetrics(partial.resolve("run").resolve("metrics.csv"));

        runner.stdout("train", "--resume", root.resolve("cut").toString());
        RunRecord cut = RunRecord.read(root.resolve("cut"));
        assertTrue(cut.isComplete());
        assertTrue(cut.summary().get("resumed").asBoolean());
        assertEquals(-1L, Files.mismatch(whole.resolve("model/model.safetensors"), cut.modelDir().resolve("model.safetensors")));
        Rerun.Comparison same = Rerun.compare(RunRecord.read(whole).metrics(), cut.metrics(), 0);
        assertTrue(same.matches(), same.mismatches().toString());
        assertEquals(before, cut.metrics().subList(0, before.size()), "steps 1-3 are the interrupted run's own (its timings too)");
        assertEquals(RunRecord.read(whole).summary().get("metrics"), cut.summary().get("metrics"));
        assertTrue(Files.isRegularFile(cut.dir().resolve("plots/loss.png")));
    }

    @Test
    void anInterruptedQuantizationIsDoneAgainOrOnlyCompletedAndEndsAsTheWholeRun() throws Exception {
        quantize("whole");
        Path whole = root.resolve("whole");
        RunRecord.read(whole).config();

        interrupted("cut", whole).close();
        Path junk = Files.createDirectories(root.resolve("cut").resolve(".model.partial-1234"));
        Files.writeString(junk.resolve("model.safetensors"), "half");
        runner.stdout("quantize", "--resume", root.resolve("cut").toString());
        assertFalse(Files.exists(junk), "the killed writer's temporary folder is gone");
        RunRecord cut = RunRecord.read(root.resolve("cut"));
        assertTrue(cut.isComplete());
        for (String f : List.of("model.safetensors", "quantized.safetensors")) {
            assertEquals(-1L, Files.mismatch(whole.resolve("model").resolve(f), cut.modelDir().resolve(f)), f);
        }
        assertTrue(Rerun.compare(RunRecord.read(whole).metrics(), cut.metrics(), 0).matches());

        // killed after the model was renamed into place: the model is kept, the record completed
        interrupted("late", whole).close();
        org.distillery.util.FileTrees.copy(whole.resolve("model"), root.resolve("late").resolve("model"));
        Files.writeString(root.resolve("late/model/marker.txt"), "kept");
        runner.stdout("quantize", "--resume", root.resolve("late").toString());
        RunRecord late = RunRecord.read(root.resolve("late"));
        assertTrue(late.isComplete());
        assertEquals("kept", Files.readString(late.modelDir().resolve("marker.txt")), "not redone");
        assertEquals(RunRecord.read(whole).summary().get("metrics"), late.summary().get("metrics"));
    }

    @Test
    void withOutTheModelIsWrittenThereAndTheRunFolderHoldsHardLinksToIt() throws Exception {
        Path out = tmp.resolve("q8");
        String line = runner.stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8", "--out", out.toString(),
                "--runs", root.toString(), "--run-name", "o");
        assertTrue(line.startsWith("quantized " + out + ": "), line);
        RunRecord r = RunRecord.read(root.resolve("o"));
        for (String f : List.of("config.json", "model.safetensors", "quantized.safetensors", "quantization.json")) {
            assertTrue(Files.isSameFile(out.resolve(f), r.modelDir().resolve(f)), f);
        }
        JsonNode cfg = r.config();
        assertEquals(List.of("--model", src.toString(), "--method", "rtn", "--bits", "8", "--out", out.toString()),
                List.of(new com.fasterxml.jackson.databind.ObjectMapper().treeToValue(cfg.get("args"), String[].class)));
        assertEquals(8, cfg.at("/options/bits").asInt());
        assertEquals(0, cfg.at("/options/seed").asInt(), "defaults are recorded too");
        assertEquals(org.distillery.data.DatasetFiles.sha256(src.resolve("model.safetensors")),
                cfg.at("/inputs/model/sha256/model.safetensors").asText());
        assertEquals("model/quantization.json", r.summary().get("report").asText());

        // killed after --out was written, before the record was complete: --out is linked, nothing redone
        RunRecord again = interrupted("o2", root.resolve("o"));
        again.close();
        runner.stdout("quantize", "--resume", root.resolve("o2").toString());
        assertTrue(Files.isSameFile(out.resolve("model.safetensors"), root.resolve("o2/model/model.safetensors")));
    }

    @Test
    void refusalsNameTheProblemAndLeaveEverythingAsItWas() throws Exception {
        quantize("done");
        Path done = root.resolve("done");
        List<String> doneFiles = listing(done);
        String sep = System.lineSeparator();

        assertEquals(2, runner.run("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8", "--runs", root.toString(),
                "--run-name", "done"));
        assertEquals("quantize: run folder " + done + " already exists: runs are never overwritten; choose another run name" + sep, err());
        assertEquals(doneFiles, listing(done));

        assertEquals(2, runner.run("quantize", "--resume", done.toString()));
        assertEquals("quantize: run folder " + done + " is complete: nothing to resume" + sep, err());

        RunRecord cut = interrupted("cut", done);
        cut.close();
        assertEquals(2, runner.run("quantize", "--resume", root.resolve("cut").toString(), "--bits", "4"));
        assertTrue(err().startsWith("quantize: --resume " + root.resolve("cut") + ": give no other options (the run's own are in its"
                + " config.json); found --bits 4" + sep));
        assertEquals(2, runner.run("quantize", "--act-order", "--resume", root.resolve("cut").toString()));
        assertTrue(err().startsWith("quantize: --resume " + root.resolve("cut") + ": give no other options (the run's own are in its"
                + " config.json); found --act-order" + sep));
        assertEquals(2, runner.run("train", "--resume", root.resolve("cut").toString()));
        assertTrue(err().startsWith("train: --resume " + root.resolve("cut") + ": that is a quantize run; use ./lab quantize --resume "
                + root.resolve("cut") + sep));
        assertEquals(2, runner.run("quantize", "--resume", tmp.resolve("nothing").toString()));
        assertTrue(err().startsWith("quantize: --resume run folder " + tmp.resolve("nothing") + ": no such folder" + sep));

        new Gpt(Gpt2Config.of(256, 16, 32, 2, 2), 4, 16, 8).save(src);           // the input changes
        assertEquals(2, runner.run("quantize", "--resume", root.resolve("cut").toString()));
        assertEquals("quantize: input --model " + src + " changed since the run (files differ: model.safetensors)" + sep, err());
        assertFalse(RunRecord.read(root.resolve("cut")).isComplete(), "still incomplete, still resumable");

        assertEquals(2, runner.run("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "1", "--runs", root.toString(),
                "--run-name", "bad"));
        assertEquals("quantize: --bits 1 is out of range: accepted 2 to 8" + sep, err());
        assertEquals(2, runner.run("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8", "--runs", root.toString(),
                "--run-name", "a/b"));
        assertEquals("quantize: --run-name 'a/b' is not accepted: use up to 200 letters, digits and . _ = + , - (starting with a"
                + " letter or digit)" + sep, err());
        try (Stream<Path> s = Files.list(root)) {
            assertEquals(List.of("cut", "done"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "bad input leaves no run folder and no temporary one");
        }
    }
}
