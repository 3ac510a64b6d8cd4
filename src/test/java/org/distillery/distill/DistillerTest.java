package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distillery.data.Mnist;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Bert;
import org.distillery.model.Gpt;
import org.distillery.model.Mlp;
import org.distillery.testing.ResumeSupport;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.ClassificationObjective;
import org.distillery.train.LoopConfig;
import org.distillery.train.MaskedLmBatches;
import org.distillery.train.MaskedLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Distiller}: with only the task term it is plain training, bit for bit; distilled runs of each
 * family reproduce their loss curves exactly and resume exactly (with learned projections); the teacher
 * cache is read back; incompatible pairs and bad options are refused with the argument named.
 */
class DistillerTest {
    static final Mnist TRAIN = Mnist.load(Mnist.Split.TRAIN);

    // ------------------------------------------------------------------------------------ GPT

    static int[] tokens(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i % 7 == 0) ? 3 : r.nextInt(vocab);   // a little structure
        return t;
    }

    static TrainConfig gptConfig(int embd, int layers, int heads) {
        return TrainConfig.defaults(Gpt2Config.of(32, 16, embd, layers, heads)).withBatch(4, 16).withSteps(6, 2)
                .withEval(3, 2).withSeed(5);
    }

    static LoopConfig loop(int steps) {
        return LoopConfig.defaults().withSteps(steps, Math.min(2, steps)).withLr(3e-3, 3e-4).withGradAccumSteps(2).withEvalInterval(3)
                .withCheckpoints(steps / 2, 2);
    }

    static Gpt gptTeacher() {
        return new Gpt(Gpt2Config.of(32, 16, 16, 2, 2), 4, 16, 77);
    }

    @Test
    void taskOnlyDistillationIsPlainTrainingBitForBit() {
        int[] train = tokens(1, 4000, 32), val = tokens(2, 600, 32);
        TrainConfig cfg = gptConfig(16, 1, 2);
        Trainer plain = new Trainer(cfg.loop(), new CausalLmObjective(cfg, train, val)).showProgress(false);
        plain.run();
        Distiller d = Distiller.of(gptTeacher(), new CausalLmObjective(cfg, train, val), Distiller.Options.of(1, 0, 0, 0, 2),
                null);
        Trainer distilled = new Trainer(cfg.loop(), d).showProgress(false);
        distilled.run();
        ResumeSupport.assertBitIdentical(plain.history(), distilled.history(), Trainer.StepRecord::loss, "loss");
        ResumeSupport.assertBitIdentical(plain.evals(), distilled.evals(), Trainer.EvalRecord::loss, "validation loss");
        ResumeSupport.assertSameParameters(plain.model(), d.studentModel());
    }

    @Test
    void narrowGptStudentWithSoftAndHiddenTermsResumesExactlyWithItsProjections(@TempDir Path dir) {
        int[] train = tokens(3, 4000, 32), val = tokens(4, 600, 32);
        TrainConfig cfg = gptConfig(8, 1, 2);
        Gpt teacher = gptTeacher();
        Distiller.Options opt = new Distiller.Options(Schedule.constant(0.5), Schedule.constant(1), Schedule.constant(0.5),
                Schedule.constant(0.25), Schedule.constant(0.5), Schedule.linear(4, 2, 8), true);
        Trainer resumed = ResumeSupport.assertExactResume(loop(8),
                () -> Distiller.of(teacher, new CausalLmObjective(cfg, train, val), opt, null),
                Distiller.restorer(teacher, CausalLmObjective.restorer(train, val), null), dir);
        Distiller d = (Distiller) resumed.objective();
        assertTrue(d.model().parameters().containsKey("distill.cos.projection.weight"));
        assertTrue(d.model().parameters().containsKey("distill.mse.projection.bias"));
        assertEquals(d.studentModel().parameterCount() + 2 * (16 * 8 + 16), d.model().parameterCount());
        Distiller.Terms t = d.lastTerms();
        assertTrue(t.soft() > 0 && t.cos() > 0 && t.mse() > 0 && t.attention() > 0 && Double.isFinite(t.task()), t.toString());
        assertEquals(t.total(), 0.5 * t.task() + 4 * t.soft() + 0.5 * t.cos() + 0.25 * t.mse() + 0.5 * t.attention(),
                1e-12 * t.total(), "total = weighted sum, soft x T^2");
        assertEquals(2.0, t.temperature(), 0.0, "the temperature schedule reached its end");
        // the saved student directory is an ordinary GPT-2 directory
        Path model = Trainer.latestCheckpoint(dir.resolve("run")).resolve(Trainer.MODEL_DIR);
        assertEquals(8, Gpt.load(model, 1, 16).config().nEmbd());
    }

    // ------------------------------------------------------------------------------------ MLP

    static ClassificationObjective mlpTask(int hidden, long seed) {
        int n = 300;
        float[] x = Arrays.copyOf(TRAIN.pixels(), n * Mnist.PIXELS);
        int[] y = Arrays.copyOf(TRAIN.labels(), n);
        float[] vx = Arrays.copyOfRange(TRAIN.pixels(), n * Mnist.PIXELS, (n + 100) * Mnist.PIXELS);
        int[] vy = Arrays.copyOfRange(TRAIN.labels(), n, n + 100);
        Mlp student = new Mlp(List.of(Mnist.PIXELS, hidden, Mnist.CLASSES), 0, 0.1, 20, seed);
        return new ClassificationObjective(student, x, y, vx, vy, new ClassificationObjective.Options(20, 28, 28, 1, seed));
    }

    static final Mlp MLP_TEACHER = new Mlp(List.of(Mnist.PIXELS, 48, Mnist.CLASSES), 0, 0.5, 20, 11);

    @Test
    void mlpHintonDistillationResumesExactly(@TempDir Path dir) {
        Distiller.Options opt = Distiller.Options.hinton(0.3, 4);
        ResumeSupport.assertExactResume(loop(6), () -> Distiller.of(MLP_TEACHER, mlpTask(16, 3), opt, null),
                Distiller.restorer(MLP_TEACHER, mlpRestorer(), null), dir);
    }

    private static TrainingObjective.Restorer mlpRestorer() {
        ClassificationObjective template = mlpTask(16, 3);
        return (modelDir, stored) -> {
            ClassificationObjective.Options o = template.options();
            Mlp m = Mlp.load(modelDir, 20, 0);
            int n = 300;
            return new ClassificationObjective(m, Arrays.copyOf(TRAIN.pixels(), n * Mnist.PIXELS),
                    Arrays.copyOf(TRAIN.labels(), n), Arrays.copyOfRange(TRAIN.pixels(), n * Mnist.PIXELS, (n + 100) * Mnist.PIXELS),
                    Arrays.copyOfRange(TRAIN.labels(), n, n + 100), o);
        };
    }

    @Test
    void teacherCacheIsWrittenThenReadBack(@TempDir Path dir) {
        TeacherOutputCache cache = new TeacherOutputCache(dir.resolve("cache"),
                TeacherOutputCache.fingerprint(MLP_TEACHER.parameters()));
        Distiller.Options opt = Distiller.Options.hinton(0.0, 8);
        List<Double> direct = losses(Distiller.of(MLP_TEACHER, mlpTask(16, 3), opt, null), 3);
        List<Double> filling = losses(Distiller.of(MLP_TEACHER, mlpTask(16, 3), opt, cache), 3);
        assertTrue(cache.contains("mb-0-logits") && cache.contains("mb-5-logits"), "2 micro-batches a step, 3 steps");
        List<Double> reading = losses(Distiller.of(MLP_TEACHER, mlpTask(16, 3), opt, cache), 3);
        assertEquals(direct, filling, "the cache changes nothing");
        assertEquals(direct, reading, "read back exactly");
        cache.store("mb-0-logits", FloatTensor.zeros(20, 10));          // proof that the file is what is read
        assertNotEquals(direct.get(0), losses(Distiller.of(MLP_TEACHER, mlpTask(16, 3), opt, cache), 1).get(0));

        // another data order (task seed 4 instead of 3) on the same folder: refused, not silently served
        IllegalArgumentException order = assertThrows(IllegalArgumentException.class,
                () -> losses(Distiller.of(MLP_TEACHER, mlpTask(16, 4), opt, cache), 1));
        assertTrue(order.getMessage().contains("was computed on other inputs"), order.getMessage());

        Mlp other = new Mlp(List.of(Mnist.PIXELS, 48, Mnist.CLASSES), 0, 0.5, 20, 12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Distiller.of(other, mlpTask(16, 3), opt, cache));
        assertTrue(e.getMessage().startsWith("cache: " + cache.dir() + " belongs to teacher "), e.getMessage());
    }

    private static List<Double> losses(Distiller d, int steps) {
        Trainer t = new Trainer(loop(steps).withEvalInterval(0).withCheckpoints(0, 1), d).showProgress(false);
        t.run();
        List<Double> out = new ArrayList<>();
        for (Trainer.StepRecord r : t.history()) out.add(r.loss());
        return out;
    }

    // ------------------------------------------------------------------------------------ BERT

    static final MaskedLmBatches.Vocabulary VOCAB = new MaskedLmBatches.Vocabulary(40, 0, 2, 3, 4, List.of(0, 1, 2, 3, 4));

    static List<int[]> sequences(long seed, int n, int maxLen) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            int[] q = new int[1 + r.nextInt(maxLen)];
            for (int i = 0; i < q.length; i++) q[i] = 5 + r.nextInt(35);
            out.add(q);
        }
        return out;
    }

    static BertConfig bertConfig(int layers) {
        return new BertConfig(40, 16, layers, 2, 32, "gelu", 16, 1, 1e-12, Map.of("pad_token_id", 0));
    }

    @Test
    void bertTripleLossResumesExactlyAndIgnoresPadding(@TempDir Path dir) {
        int t = 16;
        MaskedLmBatches train = new MaskedLmBatches(sequences(1, 200, t - 2), t, VOCAB, 0.15, 1);
        MaskedLmBatches val = new MaskedLmBatches(sequences(2, 30, t - 2), t, VOCAB, 0.15, 2);
        Bert teacher = new Bert(bertConfig(2), 4, t, 31);
        MaskedLmObjective.Options mo = new MaskedLmObjective.Options(4, 2, 0.1, 3);
        Distiller.Options opt = Distiller.Options.of(2, 5, 1, 0, 2)     // DistilBERT's weights, + MiniLM's attention term
                .withAttention(Schedule.constant(0.5));
        Trainer resumed = ResumeSupport.assertExactResume(loop(6),
                () -> {
                    Bert student = new Bert(bertConfig(1), 4, t, 9);
                    StudentInitializer.initialize(teacher.parameters(), student.parameters(), new int[] {1});
                    return Distiller.of(teacher, new MaskedLmObjective(student, train, val, mo), opt, null);
                },
                Distiller.restorer(teacher, MaskedLmObjective.restorer(train, val), null), dir);
        assertFalse(((Distiller) resumed.objective()).model().parameters().keySet().stream().anyMatch(k -> k.startsWith("distill.")),
                "same width: no projection");

        // padding: the soft term counts exactly the non-padding positions
        Bert student = new Bert(bertConfig(1), 4, t, 9);
        MaskedLmObjective task = new MaskedLmObjective(student, train, val, mo);
        Distiller d = Distiller.of(teacher, task, Distiller.Options.of(0, 1, 0, 0, 2), null);
        double loss = d.forwardBackward(new TrainingObjective.MicroBatch(1, 0, 0));
        int[] len = task.lengths();
        assertTrue(Arrays.stream(len).anyMatch(l -> l < t), "the batch has padding");
        boolean[] real = new boolean[4 * t];
        for (int r = 0; r < 4; r++) for (int p = 0; p < len[r]; p++) real[r * t + p] = true;
        FloatTensor scratch = FloatTensor.zeros(3, 40);
        double kl = org.distillery.engine.kernels.SoftTargetKernel.forwardBackward(student.logits(), teacher.logits(), 2,
                real, 0, null, scratch);
        double klAll = org.distillery.engine.kernels.SoftTargetKernel.forwardBackward(student.logits(), teacher.logits(), 2,
                null, 0, null, scratch);
        assertEquals(kl, d.lastTerms().soft(), 0.0, "KL over the non-padding positions");
        assertNotEquals(klAll, kl);
        assertEquals(4 * kl, loss, 1e-12 * loss, "soft weight 1 x T^2 = 4");
    }

    // ------------------------------------------------------------------------------------ bad input

    @Test
    void incompatiblePairsAndBadOptionsAreNamed() {
        int[] train = tokens(1, 2000, 32);
        TrainConfig cfg = gptConfig(16, 1, 2);
        Gpt wrongVocab = new Gpt(Gpt2Config.of(40, 16, 16, 1, 2), 4, 16, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Distiller.of(wrongVocab, new CausalLmObjective(cfg, train, null), Distiller.Options.hinton(0.5, 2), null));
        assertEquals("teacher: vocab_size 40 differs from the student's 32; teacher and student must share it", e.getMessage());
        Gpt shortTeacher = new Gpt(Gpt2Config.of(32, 16, 16, 1, 2), 2, 16, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> Distiller.of(shortTeacher, new CausalLmObjective(cfg, train, null), Distiller.Options.hinton(0.5, 2), null));
        assertEquals("teacher: built for batches up to 2 x 16 but the task needs 4 x 16", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.Options.of(0, 0, 0, 0, 2));
        assertEquals("task, soft, cos, mse, attention: every weight is 0 at every step; at least one loss term must be on",
                e.getMessage());
        Gpt fourHeads = new Gpt(Gpt2Config.of(32, 16, 16, 1, 4), 4, 16, 1);
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.of(fourHeads, new CausalLmObjective(cfg, train, null),
                Distiller.Options.of(1, 1, 0, 0, 2).withAttention(Schedule.constant(1)), null));
        assertEquals("options: the attention term needs the same number of heads, but the teacher has 4 and the student 2",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.of(MLP_TEACHER, mlpTask(16, 3),
                Distiller.Options.of(1, 1, 0, 0, 2).withAttention(Schedule.constant(1)), null));
        assertEquals("options: the attention term needs attention maps, which an MLP pair does not have; set its weight to 0",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.Options.of(1, 1, 0, 0, 0));
        assertEquals("temperature: must be > 0 at every step but is 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.Options.of(1, -1, 0, 0, 2));
        assertEquals("soft: weight must be >= 0 but is -1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Distiller.of(MLP_TEACHER, mlpTask(16, 3), Distiller.Options.of(1, 1, 1, 0, 2), null));
        assertEquals("options: the cos/mse terms need hidden states, which an MLP pair does not expose; set their weights"
                + " to 0", e.getMessage());
        Mlp tenInputs = new Mlp(List.of(10, 8, Mnist.CLASSES), 20, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> Distiller.of(tenInputs, mlpTask(16, 3), Distiller.Options.hinton(0.5, 2), null));
        assertEquals("teacher: input width 10 differs from the student's 784; teacher and student must share it", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distiller.Options.hinton(1.5, 2));
        assertEquals("alpha: the hard-label weight must be in [0, 1] but was 1.5", e.getMessage());
    }

    @Test
    void schedules() {
        Schedule s = Schedule.linear(4, 2, 5);
        assertEquals(4, s.at(1), 0);
        assertEquals(3.5, s.at(2), 1e-12);
        assertEquals(2, s.at(5), 0);
        assertEquals(2, s.at(50), 0);
        assertEquals(7, Schedule.constant(7).at(1), 0);
        assertEquals(s, Schedule.fromJson(s.toJson()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Schedule.linear(1, 2, 0));
        assertEquals("steps: must be >= 1 but was 0", e.getMessage());
    }
}
