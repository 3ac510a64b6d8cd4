package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.data.Mnist;
import org.distillery.distill.MnistDistillation.Data;
import org.distillery.distill.MnistDistillation.Evaluation;
import org.distillery.distill.MnistDistillation.NetConfig;
import org.distillery.distill.MnistDistillation.Student;
import org.distillery.distill.MnistDistillation.Teacher;
import org.distillery.eval.SeedSummary;
import org.distillery.model.Mlp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MnistDistillation}: the validation split and the transfer-set filter, error counting on hand
 * cases, the bias shift (only class 3's logit moves, by b), the T^2 factor of the soft gradient, and
 * tiny teacher/student runs that are deterministic for a seed and read back from the cache.
 */
class MnistDistillationTest {
    static Data data;

    @BeforeAll
    static void load() {
        data = Data.load(500, 7);
    }

    @Test
    void theValidationSplitIsCarvedFromTrainingAndIsReproducible() {
        assertEquals(8004 - 500, data.trainSize());
        assertEquals(500, data.valY().length);
        assertEquals(1996, data.testY().length);
        assertEquals(500 * Mnist.PIXELS, data.valX().length);
        Data again = Data.load(500, 7), other = Data.load(500, 8);
        assertArrayEquals(data.valY(), again.valY());
        assertArrayEquals(data.valX(), again.valX());
        assertFalse(java.util.Arrays.equals(data.valX(), other.valX()), "another seed, another split");
        // the two parts are the whole training split: label counts add up
        int[] all = Mnist.load(Mnist.Split.TRAIN).labelCounts(), parts = new int[10];
        for (int y : data.trainY()) parts[y]++;
        for (int y : data.valY()) parts[y]++;
        assertArrayEquals(all, parts);
    }

    @Test
    void theSplitKeepsFileOrderAndSeparatesExamples() {
        float[] x = {0, 1, 2, 3, 4, 5};          // 6 one-pixel "images" whose pixel is their index
        int[] y = {0, 1, 2, 3, 4, 5};
        Data d = Data.split(x, y, new float[] {9}, new int[] {9 % 10}, 2, 3);
        assertEquals(4, d.trainSize());
        for (int i = 0; i < d.trainSize(); i++) assertEquals(d.trainY()[i], (int) d.trainX()[i]);
        for (int i = 1; i < d.trainSize(); i++) assertTrue(d.trainY()[i] > d.trainY()[i - 1], "file order");
        for (int v : d.valY()) for (int t : d.trainY()) assertNotEquals(v, t);
    }

    @Test
    void theTransferFilterRemovesExactlyTheThrees() {
        int[] keep = data.transferIndices(3);
        int threes = 0;
        for (int y : data.trainY()) if (y == 3) threes++;
        assertTrue(threes > 500, "the transfer set has " + threes + " threes");
        assertEquals(data.trainSize() - threes, keep.length);
        int k = 0;
        for (int i = 0; i < data.trainSize(); i++) {
            if (data.trainY()[i] != 3) assertEquals(i, keep[k++], "every other example kept, in order");
        }
        assertEquals(data.trainSize(), data.transferIndices(MnistDistillation.NONE).length);
        assertArrayEquals(new int[] {0, 2, 4}, MnistDistillation.keptIndices(new int[] {1, 3, 2, 3, 0}, 3));
        assertThrows(IllegalArgumentException.class, () -> MnistDistillation.keptIndices(new int[] {1}, 10));
    }

    /** Three rows over 10 classes: a right answer, a wrong one, and a tie (the first class wins). */
    static final float[] LOGITS = new float[30];
    static {
        LOGITS[2] = 5;                 // row 0: predicts 2, label 2 -> right
        LOGITS[10 + 3] = 1; LOGITS[10 + 8] = 2;   // row 1: predicts 8, label 3 -> wrong (3 is 1 behind)
        LOGITS[20 + 1] = 4; LOGITS[20 + 3] = 4;   // row 2: tie 1/3 -> predicts 1, label 3 -> wrong
    }

    static final int[] LABELS = {2, 3, 3};

    @Test
    void errorsAreCountedOverallAndPerDigit() {
        Evaluation e = MnistDistillation.evaluate(LOGITS, LABELS);
        assertEquals(3, e.examples());
        assertEquals(2, e.errors());
        assertEquals(2, e.errorsOn(3));
        assertEquals(0, e.errorsOn(2));
        assertEquals(2, e.examplesByDigit()[3]);
        assertEquals(100.0 * 2 / 3, e.percent(), 1e-12);
    }

    @Test
    void aShiftOfClassThreeMovesOnlyItsLogit() {
        // +0.5: row 2's tie breaks for 3 (right); row 1 still 8 (1.5 < 2)
        Evaluation e = MnistDistillation.evaluate(LOGITS, LABELS, 3, 0.5);
        assertEquals(1, e.errors());
        assertEquals(1, e.errorsOn(3));
        // +1.5: row 1 becomes 3 too; row 0 keeps 2 (5 > 1.5)
        assertEquals(0, MnistDistillation.evaluate(LOGITS, LABELS, 3, 1.5).errors());
        // +6: row 0 becomes 3 (wrong)
        assertEquals(1, MnistDistillation.evaluate(LOGITS, LABELS, 3, 6).errors());
        assertEquals(1.5, MnistDistillation.bestShift(LOGITS, LABELS, 3, new double[] {6, 0, 0.5, 1.5, 2}));
    }

    @Test
    void shiftBiasChangesOnlyClassThreesLogitByB() {
        Mlp m = new Mlp(List.of(Mnist.PIXELS, 16, 10), 8, 3);
        float[] x = java.util.Arrays.copyOf(data.testX(), 8 * Mnist.PIXELS);
        float[] before = MnistDistillation.logits(m, x);
        MnistDistillation.shiftBias(m, 3, 2.5);
        float[] after = MnistDistillation.logits(m, x);
        for (int r = 0; r < 8; r++) {
            for (int c = 0; c < 10; c++) {
                int i = r * 10 + c;
                if (c == 3) assertEquals(before[i] + 2.5, after[i], 1e-5, "row " + r);
                else assertEquals(before[i], after[i], 0.0, "row " + r + " class " + c);
            }
        }
        // and evaluating the shifted model equals shifting the logits
        int[] y = java.util.Arrays.copyOf(data.testY(), 8);
        assertEquals(MnistDistillation.evaluate(before, y, 3, 2.5).errors(), MnistDistillation.evaluate(after, y).errors());
    }

    @Test
    void softTargetsSoftenWithTemperature() {
        float[] z = {2, 1, 0};
        double[] p1 = MnistDistillation.softTargets(z, 1);
        double s = Math.exp(2) + Math.exp(1) + 1;
        assertArrayEquals(new double[] {Math.exp(2) / s, Math.exp(1) / s, 1 / s}, p1, 1e-12);
        double[] p100 = MnistDistillation.softTargets(z, 100);
        assertEquals(1.0, p100[0] + p100[1] + p100[2], 1e-12);
        assertTrue(p100[0] - p100[2] < 0.01, "nearly uniform at T = 100");
    }

    @Test
    void theSquaredTemperatureScalesTheSoftGradientByTSquared() {
        Mlp teacher = new Mlp(List.of(Mnist.PIXELS, 32, 10), 16, 1), student = new Mlp(List.of(Mnist.PIXELS, 8, 10), 16, 2);
        float[] x = java.util.Arrays.copyOf(data.trainX(), 16 * Mnist.PIXELS);
        for (double t : new double[] {1, 4, 20}) {
            double on = MnistDistillation.softGradientNorm(teacher, student, x, t, true);
            double off = MnistDistillation.softGradientNorm(teacher, student, x, t, false);
            assertTrue(off > 0);
            assertEquals(t * t, on / off, 1e-4 * t * t, "T = " + t);
        }
        // without the factor the gradient shrinks about as 1/T^2 at high T
        double at10 = MnistDistillation.softGradientNorm(teacher, student, x, 10, false);
        double at40 = MnistDistillation.softGradientNorm(teacher, student, x, 40, false);
        assertEquals(16, at10 / at40, 1.0);
    }

    @Test
    void tinyRunsAreDeterministicAndCached(@TempDir Path a, @TempDir Path b) throws Exception {
        NetConfig tc = NetConfig.teacher(List.of(32), 30, 5), sc = NetConfig.student(List.of(16), 20, 9);
        MnistDistillation ea = new MnistDistillation(data, a), eb = new MnistDistillation(data, b);
        Teacher ta = ea.teacher(tc, false), tb = eb.teacher(tc, false);
        assertFalse(ta.loaded());
        assertEquals(ta.test(), ta.test());
        assertArrayEquals(MnistDistillation.logits(ta.model(), data.testX()), MnistDistillation.logits(tb.model(), data.testX()));
        Distiller.Options opt = Distiller.Options.hinton(0.1, 4);
        Student sa = ea.student(ta, sc, opt, 3), sb = eb.student(tb, sc, opt, 3);
        assertFalse(sa.loaded());
        assertArrayEquals(sa.testLogits(), sb.testLogits(), "bit-identical for one seed");
        assertArrayEquals(sa.validationLogits(), sb.validationLogits());
        assertEquals(sa.test().errors(), sb.test().errors());
        Student again = ea.student(ea.teacher(tc, false), sc, opt, 3);
        assertTrue(again.loaded(), "read back from the cache");
        assertArrayEquals(sa.testLogits(), again.testLogits());
        assertEquals(sa.meanGradNorm(), again.meanGradNorm());
        // the teacher's outputs on the 20 micro-batches were cached once for this order and transfer set
        try (Stream<Path> s = Files.list(a)) {
            Path outputs = s.filter(p -> p.getFileName().toString().startsWith("mnist-teacher-outputs-")).findFirst().orElseThrow();
            try (Stream<Path> f = Files.list(outputs)) {
                assertEquals(20, f.filter(p -> p.getFileName().toString().endsWith("-logits.safetensors")).count());
            }
        }
        Student scratch = ea.student(null, sc, null, MnistDistillation.NONE);
        Student otherSeed = ea.student(ta, sc.withSeed(10), opt, 3);
        assertFalse(java.util.Arrays.equals(sa.testLogits(), scratch.testLogits()));
        assertFalse(java.util.Arrays.equals(sa.testLogits(), otherSeed.testLogits()));
    }

    @Test
    void seedSummaryHandCase() {
        SeedSummary s = SeedSummary.of(1, 2, 3);
        assertEquals(2, s.mean(), 0);
        assertEquals(1, s.sd(), 1e-12);
        assertEquals(4.303 / Math.sqrt(3), s.ci95(), 1e-12);
        assertEquals(1, s.min(), 0);
        assertEquals(3, s.max(), 0);
        assertEquals("2.00 ± 2.48", s.format(2));
        assertTrue(Double.isNaN(SeedSummary.of(5).ci95()));
        assertEquals(12.706, SeedSummary.tQuantile975(1), 0);
        assertEquals(1.960, SeedSummary.tQuantile975(100), 0);
    }

    @Test
    void aSweepPicksTheTemperatureOnValidation() {
        Evaluation e10 = new Evaluation(100, 10, new int[10], new int[10]), e5 = new Evaluation(100, 5, new int[10], new int[10]);
        Student good = new Student(null, null, -1, e5, e10, null, null, 1, 0, true);
        Student bad = new Student(null, null, -1, e10, e5, null, null, 2, 0, true);
        StudentSweep sweep = new StudentSweep("T").add("w", 1, List.of(bad, bad)).add("w", 4, List.of(good, good))
                .add("w", 8, List.of(good, bad));
        assertEquals(4, sweep.bestOnValidation("w").x());
        var t = sweep.table("t");
        assertEquals(3, t.rowCount());
        assertEquals(5.0, t.doubleColumn("test_errors_mean").get(0));
        assertEquals(7.5, t.doubleColumn("test_errors_mean").get(2));
        assertEquals(7.5, t.doubleColumn("val_errors_mean").get(2));
    }
}
