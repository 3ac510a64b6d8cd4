package org.distillery.robustness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.distillery.cli.Lab;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.train.LanguageModelRun;
import org.distillery.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab train} killed with SIGKILL and resumed with {@code ./lab train --resume} ends exactly where an
 * uninterrupted run ends, and a kill never leaves a truncated or half-written file: the training runs as a
 * child JVM ({@link Lab}, one BLAS thread) and is killed three times, at seeded random points (a random step,
 * then a random 0-30 ms; the third at the last step, in the final checkpoint, evaluation or writing of the model
 * directory), each time resumed from its last checkpoint. At every kill point every checkpoint loads, every JSON
 * file parses, every safetensors file reads, every row of {@code metrics.csv} is whole and the only other names
 * are the writers' hidden temporaries; at the end the model directory equals the uninterrupted run's file for
 * file (weights, optimizer moments, config byte for byte; {@code metrics.csv}, {@code trainer.json} and
 * {@code summary.json} except the measured tokens/s and the provenance's date).
 */
class CrashSafetyTest {
    static final int STEPS = 60;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Hidden names that interrupted writers leave: AtomicFiles' temporary files and Trainer's checkpoint folders. */
    private static final String TEMP_FILE = "\\..+\\.\\d+\\.tmp", TEMP_CHECKPOINT = "\\.step-\\d+\\.(tmp\\d+|deleted)";

    @TempDir
    Path dir;

    /**
     * A run file: byte-level 2 x 32 GPT, batch 8 x 32, a checkpoint every 2 steps (the last 2 kept), final
     * perplexity on the first {@code validationTokens} validation bytes.
     */
    private Path runFile(int steps, int validationTokens) throws IOException {
        return Files.writeString(dir.resolve("run-" + steps + ".json"), """
                {"data": {"dataset": "brown", "tokenizer": "byte", "validation_tokens": %d},
                 "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 32, "n_embd": 32,
                                     "n_layer": 2, "n_head": 2, "layer_norm_epsilon": 1e-5,
                                     "activation_function": "gelu_new"},
                           "batch_size": 8, "seq_len": 32, "steps": %d, "lr_max": 1e-2, "lr_min": 1e-3,
                           "warmup_steps": 4, "weight_decay": 0.1, "grad_clip": 1.0, "grad_accum_steps": 1,
                           "seed": 5, "eval_interval": 10, "eval_batches": 2, "checkpoint_interval": 2,
                           "keep_checkpoints": 2, "freeze_pattern": ""}}""".formatted(validationTokens, steps));
    }

    @Test
    void killedThreeTimesAndResumedItEndsAsAnUninterruptedRunWithNoHalfWrittenFile() throws Exception {
        Path config = runFile(STEPS, 32768), reference = dir.resolve("reference"), out = dir.resolve("killed");
        Path partial = dir.resolve(".killed.partial"), runs = dir.resolve("runs"), record = runs.resolve("killed");
        Path refLog = dir.resolve("reference.log");      // the uninterrupted run, beside the killed one
        Process uninterrupted = ChildJvm.start(1, refLog, Lab.class, "train", "--config", config.toString(), "--out",
                reference.toString(), "--runs", runs.toString(), "--run-name", "reference");

        try {
            Random random = new Random(20261123);
            int[] targets = {2 + random.nextInt(18), 22 + random.nextInt(18), STEPS};
            List<String> killedAt = new ArrayList<>();
            for (int k = 0; k < targets.length; k++) {
                Path log = dir.resolve("kill-" + k + ".log");
                String[] args = k == 0 ? new String[] {"train", "--config", config.toString(), "--out", out.toString(),
                        "--runs", runs.toString(), "--run-name", "killed"}
                        : new String[] {"train", "--resume", record.toString()};
                Process p = ChildJvm.start(1, log, Lab.class, args);
                int step = waitForStep(partial.resolve("run").resolve(Trainer.METRICS_FILE), targets[k], p, log);
                Thread.sleep(random.nextInt(k == targets.length - 1 ? 10 : 30));
                if (!p.isAlive()) {
                    int kill = k;
                    assertTrue(k == targets.length - 1 && p.exitValue() == 0, () -> "the run ended before kill " + kill
                            + "; log:\n" + ChildJvm.tail(log));
                    killedAt.add("none (the run finished first)");
                    break;
                }
                p.destroyForcibly();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                assertEquals(128 + 9, p.exitValue(), "destroyForcibly is SIGKILL (exit status 128 + 9)");
                Path latest = Trainer.latestCheckpoint(partial.resolve("run"));
                killedAt.add("after step " + step + " (latest checkpoint " + (latest == null ? "none" : latest.getFileName())
                        + ", final directory " + (Files.exists(out) ? "written" : "not yet") + ")");
                if (!Files.exists(out)) assertNothingHalfWritten(partial);
            }
            System.out.println("killed " + killedAt);
            assertTrue(killedAt.size() >= 2 && killedAt.get(1).startsWith("after"), "the first two kills hit a running training");

            if (!Files.exists(out)) {
                Path log = dir.resolve("final.log");
                assertEquals(0, ChildJvm.run(1, log, 300, Lab.class, "train", "--resume", record.toString()),
                        () -> ChildJvm.tail(log));
                assertTrue(Files.readString(log).contains("trained " + out + ": "), () -> ChildJvm.tail(log));
            }
            assertFalse(Files.exists(partial), "the temporary folder was renamed");
            assertTrue(uninterrupted.waitFor(300, TimeUnit.SECONDS), "the uninterrupted run ends");
            assertEquals(0, uninterrupted.exitValue(), () -> ChildJvm.tail(refLog));
        } finally {
            uninterrupted.destroyForcibly();              // only if the test failed first
        }
        assertSameRun(reference, out);
    }

    @Test
    void resumeWithNoCheckpointYetStartsOverAndClearsWhatAKillLeftBehind() throws Exception {
        LanguageModelRun run = LanguageModelRun.read(runFile(6, 1024));
        Path reference = dir.resolve("reference"), out = dir.resolve("out"), partial = dir.resolve(".out.partial");
        run.run(reference, false);
        // a run killed before its first checkpoint was whole, in the middle of writing it and of other writes
        Path runDir = Files.createDirectories(partial.resolve("run"));
        Files.copy(reference.resolve("run").resolve(LanguageModelRun.RUN_FILE), runDir.resolve(LanguageModelRun.RUN_FILE));
        Files.writeString(runDir.resolve(Trainer.METRICS_FILE), "step,split,metric,value\r\n1,train,loss,5.5\r\n1,tra");
        Files.createDirectories(runDir.resolve(".step-00000002.tmp8812/model"));
        Files.write(runDir.resolve(".step-00000002.tmp8812/model/model.safetensors"), new byte[] {1, 2, 3});
        Files.createDirectories(runDir.resolve(".step-00000000.deleted"));
        Files.writeString(runDir.resolve(".metrics.csv.4711.tmp"), "step,split");
        Files.writeString(partial.resolve(".summary.json.99.tmp"), "{\"run\":");
        LanguageModelRun.Result r = LanguageModelRun.resume(out, false);
        assertEquals(6, r.trainer().step());
        assertFalse(Files.exists(partial));
        assertSameRun(reference, out);
    }

    /** LanguageModelRun.resume(out) refuses what it cannot continue with one line naming it, and leaves it as it was. */
    @Test
    void resumeRefusesWhatItCannotContinueWithOneLineNamingIt() throws Exception {
        Path out = dir.resolve("m"), partial = dir.resolve(".m.partial");
        assertError("--resume " + out + ": nothing to resume: no interrupted run (" + partial.toAbsolutePath()
                + " does not exist); start one with --config FILE --out " + out, out);
        Files.createDirectories(partial.resolve("run"));
        assertError("--resume " + out + ": " + partial.toAbsolutePath().resolve("run").resolve("run.json") + " is missing: "
                + partial.toAbsolutePath() + " is not an interrupted ./lab train run (distillation runs do not resume)", out);
        assertTrue(Files.isDirectory(partial.resolve("run")), "left as it was");
        Files.createDirectories(out);
        assertError("--resume " + out + ": the run is complete (" + out + " exists); nothing to resume", out);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(0, s.count(), "nothing written");
        }
    }

    private static void assertError(String message, Path out) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> LanguageModelRun.resume(out, false)).getMessage());
    }

    /**
     * Waits until {@code metrics.csv} has a row of step {@code target} or later; returns that step. Fails when the
     * process exits first with an error, or after 120 s.
     */
    private static int waitForStep(Path metrics, int target, Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            int step = lastStep(metrics);
            if (step >= target) return step;
            if (!p.isAlive()) {
                if (p.exitValue() != 0) fail("the run failed; log:\n" + ChildJvm.tail(log));
                return step;                                   // finished: the caller sees it is not alive
            }
            Thread.sleep(1);
        }
        p.destroyForcibly();
        fail("step " + target + " not reached in 120 s; log:\n" + ChildJvm.tail(log));
        return -1;
    }

    /** The step of the last whole row of a metrics.csv being written, or -1. */
    private static int lastStep(Path metrics) {
        String text;
        try {
            text = Files.readString(metrics);
        } catch (IOException e) {
            return -1;                                         // not there yet, or being replaced
        }
        int end = text.lastIndexOf("\r\n");
        if (end < 0) return -1;
        String last = text.substring(text.lastIndexOf("\r\n", end - 1) + 2, end);
        String first = last.substring(0, Math.max(0, last.indexOf(',')));
        return first.matches("\\d+") ? Integer.parseInt(first) : -1;
    }

    /**
     * Every file of a killed run's folder is whole: checkpoints load, JSON parses, safetensors read, metrics.csv
     * has only whole rows and every row up to the latest checkpoint; hidden names are writers' temporaries.
     */
    private static void assertNothingHalfWritten(Path partial) throws IOException {
        if (!Files.exists(partial)) return;                    // killed before the run created its folder
        List<Path> all;
        try (Stream<Path> s = Files.walk(partial)) {
            all = s.filter(p -> !p.equals(partial)).toList();
        }
        for (Path p : all) {
            Path rel = partial.relativize(p);
            if (insideTemporary(rel)) continue;
            String name = p.getFileName().toString();
            if (name.startsWith(".")) {
                assertTrue(name.matches(TEMP_FILE) && Files.isRegularFile(p) || name.matches(TEMP_CHECKPOINT)
                        && Files.isDirectory(p), "an unexpected hidden name " + rel);
            } else if (name.endsWith(".json")) {
                assertNotNull(JSON.readTree(Files.readString(p)), rel + " parses");
            } else if (name.endsWith(".safetensors")) {
                assertFalse(Safetensors.readAll(p).isEmpty(), rel + " reads");
            } else if (name.equals(Trainer.METRICS_FILE)) {
                assertWholeRows(p, Trainer.latestCheckpoint(p.getParent()));
            } else if (name.matches("step-\\d+")) {
                JsonNode state = Trainer.readState(p);
                assertEquals(Integer.parseInt(name.substring(5)), state.get("step").asInt(), rel + ": trainer.json's step");
                Gpt.load(p.resolve(Trainer.MODEL_DIR), 8, 32);
                assertTrue(Files.isRegularFile(p.resolve(Trainer.OPTIMIZER_FILE)), rel + " has its optimizer state");
            } else {
                assertTrue(Files.isDirectory(p) && (name.equals("run") || name.equals(Trainer.MODEL_DIR)), "unexpected " + rel);
            }
        }
    }

    private static boolean insideTemporary(Path rel) {
        for (int i = 0; i < rel.getNameCount() - 1; i++) {
            if (rel.getName(i).toString().matches(TEMP_CHECKPOINT)) return true;
        }
        return false;
    }

    private static void assertWholeRows(Path metrics, Path latestCheckpoint) throws IOException {
        String text = Files.readString(metrics);
        assertTrue(text.endsWith("\r\n"), "metrics.csv ends with a whole row: ..." + text.substring(Math.max(0, text.length() - 60)));
        int lastStep = 0;
        try (Reader r = new StringReader(text)) {
            for (CSVRecord rec : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r)) {
                assertEquals(4, rec.size(), "row " + rec.getRecordNumber() + " of metrics.csv: " + rec);
                lastStep = Integer.parseInt(rec.get("step"));
                Double.parseDouble(rec.get("value"));
            }
        }
        if (latestCheckpoint != null) {
            int ck = Integer.parseInt(latestCheckpoint.getFileName().toString().substring(5));
            assertTrue(lastStep >= ck, "metrics.csv has the rows up to the latest checkpoint (" + ck + "): " + lastStep);
        }
    }

    /** The two model directories hold the same files with the same content, timings and dates aside. */
    private static void assertSameRun(Path expected, Path actual) throws IOException {
        TreeMap<String, Path> a = files(expected), b = files(actual);
        assertEquals(a.keySet(), b.keySet(), "the same files");
        for (String rel : a.keySet()) {
            Path x = a.get(rel), y = b.get(rel);
            String name = x.getFileName().toString();
            assertFalse(name.startsWith("."), "a temporary left in the model directory: " + rel);
            switch (name) {
                case Trainer.METRICS_FILE -> assertEquals(rowsWithoutTimings(x), rowsWithoutTimings(y), rel);
                case "summary.json" -> assertEquals(withoutDate(x), withoutDate(y), rel);
                case Trainer.STATE_FILE -> assertEquals(withoutTokensPerSecond(x), withoutTokensPerSecond(y), rel);
                default -> assertArrayEquals(Files.readAllBytes(x), Files.readAllBytes(y), rel + ", byte for byte");
            }
        }
    }

    private static TreeMap<String, Path> files(Path root) throws IOException {
        TreeMap<String, Path> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(Files::isRegularFile).forEach(p -> m.put(root.relativize(p).toString(), p));
        }
        assertTrue(m.containsKey("model.safetensors") && m.containsKey("run/metrics.csv"), "a model directory: " + m.keySet());
        return m;
    }

    /** metrics.csv's rows, the measured throughput's value blanked. */
    private static List<String> rowsWithoutTimings(Path metrics) throws IOException {
        List<String> rows = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(metrics, StandardCharsets.UTF_8)) {
            for (CSVRecord rec : CSVFormat.DEFAULT.parse(r)) {
                rows.add(rec.get(0) + "," + rec.get(1) + "," + rec.get(2) + ","
                        + (rec.get(2).endsWith("_per_s") ? "(timing)" : rec.get(3)));
            }
        }
        assertTrue(rows.size() > 4 * STEPS / 10, "rows: " + rows.size());
        return rows;
    }

    private static JsonNode withoutDate(Path summary) throws IOException {
        ObjectNode o = (ObjectNode) JSON.readTree(summary.toFile());
        ((ObjectNode) o.get("provenance")).remove("date");
        return o;
    }

    private static JsonNode withoutTokensPerSecond(Path state) throws IOException {
        ObjectNode o = (ObjectNode) JSON.readTree(state.toFile());
        for (JsonNode r : o.get("history")) ((ArrayNode) r).remove(4);
        return o;
    }
}
