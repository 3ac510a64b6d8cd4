package org.distillery.train;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training loop on a tiny GPT (V=32, C=16, 2 layers, 2 heads, T=8): gradient accumulation, determinism,
 * bit-exact resume, the NaN stop, the metrics CSV and input errors.
 */
class TrainerTest {
    private static final int V = 32;

    /** A noisy repeating pattern: learnable, but not trivially. */
    private static int[] tokens(long seed, int n) {
        Random r = new Random(seed);
        int[] pattern = new int[23];
        for (int i = 0; i < pattern.length; i++) pattern[i] = r.nextInt(V);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(10) == 0 ? r.nextInt(V) : pattern[i % pattern.length];
        return x;
    }

    private static final int[] TRAIN = tokens(1, 3000), VAL = tokens(2, 600);

    private static TrainConfig config(int steps) {
        return TrainConfig.defaults(Gpt2Config.of(V, 16, 16, 2, 2)).withBatch(4, 8).withSteps(steps, 3)
                .withLr(1e-2, 1e-3).withEval(4, 2).withSeed(7).withCheckpoints(0, 2);
    }

    private static double[] losses(List<Trainer.StepRecord> h) {
        return h.stream().mapToDouble(Trainer.StepRecord::loss).toArray();
    }

    private static void assertBitIdentical(double[] a, double[] b, String what) {
        assertEquals(a.length, b.length, what + ": lengths");
        for (int i = 0; i < a.length; i++) {
            assertEquals(Double.doubleToRawLongBits(a[i]), Double.doubleToRawLongBits(b[i]),
                    what + ": step " + (i + 1) + " differs: " + a[i] + " vs " + b[i]);
        }
    }

    @Test
    void twoRunsWithTheSameSeedAreBitIdenticalAndLearn() {
        double[] a = losses(new Trainer(config(40), TRAIN, VAL).showProgress(false).run());
        Trainer second = new Trainer(config(40), TRAIN, VAL).showProgress(false);
        double[] b = losses(second.run());
        assertBitIdentical(a, b, "same seed");
        assertEquals(Math.log(V), a[0], 0.15, "initial loss near ln V");
        assertTrue(a[39] < a[0] - 0.5, "loss falls: " + a[0] + " -> " + a[39]);
        assertEquals(List.of(4, 8, 12, 16, 20, 24, 28, 32, 36, 40),
                second.evals().stream().map(Trainer.EvalRecord::step).toList(), "validation steps");
        double[] other = losses(new Trainer(config(40).withSeed(8), TRAIN, VAL).showProgress(false).run());
        assertNotEquals(a[5], other[5], "another seed is another run");
    }

    @Test
    void learningRatesFollowTheSchedule() {
        Trainer t = new Trainer(config(12), TRAIN, null).showProgress(false);
        LrSchedule s = config(12).schedule();
        for (Trainer.StepRecord r : t.run()) {
            assertEquals(s.lr(r.step()), r.lr(), 0);
        }
        assertEquals(1e-2, t.history().get(2).lr(), 0, "warm-up end (step 3)");
        assertEquals(1e-3, t.history().get(11).lr(), 0, "last step");
    }

    @Test
    void accumulatingTwoHalfBatchesEqualsOneFullBatch() {
        TrainConfig full = config(5).withBatch(4, 8).withGradClip(0);
        TrainConfig half = full.withBatch(2, 8).withGradAccumSteps(2);
        Trainer a = new Trainer(full, TRAIN, null).showProgress(false);
        Trainer b = new Trainer(half, TRAIN, null).showProgress(false);
        a.runUntil(1);
        b.runUntil(1);
        assertEquals(a.history().get(0).loss(), b.history().get(0).loss(), 1e-6, "step loss = mean of the micro-batch losses");
        assertEquals(a.history().get(0).gradNorm(), b.history().get(0).gradNorm(), 1e-6 * a.history().get(0).gradNorm());
        double maxDiff = 0, maxAbs = 0;
        for (Map.Entry<String, FloatTensor> e : a.model().gradients().entrySet()) {
            FloatTensor ga = e.getValue(), gb = b.model().gradients().get(e.getKey());
            for (int i = 0; i < ga.size(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(ga.get(i) - gb.get(i)));
                maxAbs = Math.max(maxAbs, Math.abs(ga.get(i)));
            }
        }
        System.out.printf("accumulation: max |grad(full) - grad(2 x half)| = %.3g (max |grad| = %.3g)%n", maxDiff, maxAbs);
        assertTrue(maxDiff < 1e-6, "max gradient difference " + maxDiff);
        assertTrue(maxAbs > 1e-3, "gradients are not trivially zero");
        assertEquals(2 * 2 * 8, half.tokensPerStep());
    }

    @Test
    void resumeFromACheckpointContinuesBitIdentically(@TempDir Path dir) throws Exception {
        int n = 6;
        TrainConfig cfg = config(2 * n).withGradAccumSteps(2).withCheckpoints(n, 2);
        double[] straight = losses(new Trainer(cfg, TRAIN, VAL).showProgress(false).run());

        Path run = dir.resolve("run");
        Trainer first = new Trainer(cfg, TRAIN, VAL, run).showProgress(false);
        first.runUntil(n);
        Path ck = run.resolve("step-00000006");
        assertEquals(ck, Trainer.latestCheckpoint(run));
        assertTrue(Files.isRegularFile(ck.resolve("model/model.safetensors")));
        assertTrue(Files.isRegularFile(ck.resolve("optimizer.safetensors")));
        assertTrue(Files.isRegularFile(ck.resolve("trainer.json")));

        Trainer resumed = Trainer.resume(ck, TRAIN, VAL).showProgress(false);
        assertEquals(n, resumed.step());
        assertEquals(cfg, resumed.config(), "config round-trips through trainer.json");
        double[] joined = losses(resumed.run());
        assertBitIdentical(straight, joined, "straight vs checkpoint + resume");
        assertEquals(Trainer.latestCheckpoint(run), run.resolve("step-00000012"));

        // metrics.csv: one train loss row per step 1..2n, a val loss row at the eval steps, no duplicates
        try (Reader r = Files.newBufferedReader(run.resolve(Trainer.METRICS_FILE))) {
            List<CSVRecord> rows = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build()
                    .parse(r).getRecords();
            List<CSVRecord> trainLoss = rows.stream().filter(x -> x.get("split").equals("train")
                    && x.get("metric").equals("loss")).toList();
            assertEquals(2 * n, trainLoss.size());
            for (int i = 0; i < 2 * n; i++) {
                assertEquals(i + 1, Integer.parseInt(trainLoss.get(i).get("step")));
                assertEquals(straight[i], Double.parseDouble(trainLoss.get(i).get("value")), 0);
            }
            assertEquals(List.of("4", "8", "12"), rows.stream().filter(x -> x.get("split").equals("val"))
                    .map(x -> x.get("step")).toList());
        }
    }

    @Test
    void aNanLossStopsTheRunNamingTheStepAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) {
        TrainConfig cfg = config(10).withCheckpoints(2, 2);
        Path run = dir.resolve("run");
        Trainer t = new Trainer(cfg, TRAIN, VAL, run).showProgress(false);
        t.runUntil(3);
        t.model().parameters().get("ln_f.weight").set(0, Float.NaN);     // poison the model after step 3
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, t::run);
        assertEquals(4, e.step());
        assertTrue(e.getMessage().startsWith("step 4: loss is NaN"), e.getMessage());
        assertTrue(e.getMessage().contains("step-00000002 (step 2)"), e.getMessage());
        assertEquals(run.resolve("step-00000002"), e.lastGoodCheckpoint());
        assertEquals(run.resolve("step-00000002"), Trainer.latestCheckpoint(run));
        Gpt good = Gpt.load(run.resolve("step-00000002/model"), 1, 8);
        for (FloatTensor p : good.parameters().values()) {
            for (int i = 0; i < p.size(); i++) assertTrue(Float.isFinite(p.get(i)));
        }
        // the checkpoint resumes into the same run as an uninterrupted one
        double[] straight = losses(new Trainer(cfg, TRAIN, VAL).showProgress(false).run());
        double[] resumed = losses(Trainer.resume(run.resolve("step-00000002"), TRAIN, VAL).showProgress(false).run());
        assertBitIdentical(straight, resumed, "resume after the NaN stop");
    }

    @Test
    void aHugeLearningRateDivergesWithAClearError() {
        TrainConfig cfg = config(30).withLr(1e30, 1e29).withGradClip(0);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> new Trainer(cfg, TRAIN, null).showProgress(false).run());
        assertTrue(e.getMessage().matches("step \\d+: (loss|gradient norm) is (NaN|Infinity|-Infinity) .*"), e.getMessage());
        assertTrue(e.getMessage().endsWith("Last good checkpoint: none"), e.getMessage());
    }

    @Test
    void checkpointsArePrunedToTheNewest(@TempDir Path dir) {
        Path run = dir.resolve("run");
        new Trainer(config(5).withCheckpoints(1, 2), TRAIN, null, run).showProgress(false).run();
        assertEquals(List.of(run.resolve("step-00000004"), run.resolve("step-00000005")), Trainer.checkpoints(run));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(config(5), TRAIN, null, run));
        assertTrue(e.getMessage().contains("already holds checkpoints"), e.getMessage());
    }

    @Test
    void badInputsNameTheArgument(@TempDir Path dir) {
        Gpt2Config m = Gpt2Config.of(V, 16, 16, 2, 2);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.defaults(m).withBatch(4, 17))
                .getMessage().contains("seqLen: must be in [1, n_positions = 16] but was 17"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.defaults(m).withSteps(10, 11))
                .getMessage().contains("warmupSteps: must be in [0, steps = 10] but was 11"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.defaults(m).withLr(1e-3, 1e-2))
                .getMessage().contains("lrMin: must be in (0, lrMax = 0.001] but was 0.01"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.defaults(m).withGradAccumSteps(0))
                .getMessage().contains("gradAccumSteps: must be >= 1 but was 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.defaults(m).withFreezePattern("h.(0"))
                .getMessage().contains("freezePattern: 'h.(0' has '(' at 2; accepted: parameter names separated by '|'"));
        TrainConfig cfg = config(4);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(cfg, new int[8], null))
                .getMessage().contains("has 8 tokens but a window of seqLen + 1 = 9 is needed"));
        int[] bad = TRAIN.clone();
        bad[17] = V;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Trainer(cfg, bad, null))
                .getMessage().contains("train: token 32 at position 17 is outside [0, vocab_size = 32)"));
        Trainer t = new Trainer(cfg, TRAIN, null).showProgress(false);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> t.runUntil(5)).getMessage()
                .contains("untilStep: must be in [current step = 0, steps = 4] but was 5"));
        assertThrows(IllegalStateException.class, t::saveCheckpoint);
        assertThrows(IllegalStateException.class, t::validationLoss);
    }

    @Test
    void resumeChecksTheTokenStreams(@TempDir Path dir) {
        Path run = dir.resolve("run");
        new Trainer(config(4), TRAIN, VAL, run).showProgress(false).run();
        int[] other = TRAIN.clone();
        other[0] = (other[0] + 1) % V;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(Trainer.latestCheckpoint(run), other, VAL));
        assertTrue(e.getMessage().startsWith("train: the token stream (length 3000"), e.getMessage());
    }

    @Test
    void frozenParametersDoNotMove() {
        Trainer t = new Trainer(config(3).withFreezePattern("^h.0."), TRAIN, null).showProgress(false);
        float before = t.model().parameters().get("h.0.mlp.c_fc.weight").get(5);
        float other = t.model().parameters().get("h.1.mlp.c_fc.weight").get(5);
        t.run();
        assertEquals(before, t.model().parameters().get("h.0.mlp.c_fc.weight").get(5), 0);
        assertNotEquals(other, t.model().parameters().get("h.1.mlp.c_fc.weight").get(5));
    }

    @Test
    void aFormatOneCheckpointStillResumes(@TempDir Path dir) throws Exception {
        TrainConfig cfg = config(8).withCheckpoints(4, 2);
        double[] straight = losses(new Trainer(cfg, TRAIN, VAL).showProgress(false).run());
        Path run = dir.resolve("run");
        new Trainer(cfg, TRAIN, VAL, run).showProgress(false).runUntil(4);
        Path ck = run.resolve("step-00000004");
        // rewrite trainer.json in the GPT-only layout of format 1
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode now = (com.fasterxml.jackson.databind.node.ObjectNode) Trainer.readState(ck);
        assertEquals(2, now.get("format").asInt());
        assertEquals("causal-lm", now.path("objective").path("kind").asText());
        com.fasterxml.jackson.databind.node.ObjectNode old = json.createObjectNode();
        old.put("format", 1).put("step", 4).put("next_window", 16).put("adamw_step", now.get("adamw_step").asInt());
        old.set("config", now.path("objective").get("config"));
        old.set("train_tokens", now.path("objective").get("train_tokens"));
        old.set("val_tokens", now.path("objective").get("val_tokens"));
        old.set("history", now.get("history"));
        old.set("evals", now.get("evals"));
        Files.writeString(ck.resolve(Trainer.STATE_FILE), json.writeValueAsString(old));
        Trainer resumed = Trainer.resume(ck, TRAIN, VAL).showProgress(false);
        assertEquals(cfg, resumed.config());
        assertBitIdentical(straight, losses(resumed.run()), "format-1 checkpoint + resume");
    }
}
