package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.CrossEntropyKernel.DEFAULT_IGNORE_INDEX;
import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class CrossEntropyKernelTest {

    private static final int IGN = DEFAULT_IGNORE_INDEX;

    @AfterAll
    static void report() { printFdErrors("CrossEntropy"); }

    @Test
    void referenceGradientMatchesFiniteDifferencesWithIgnoredRows() {
        Random rnd = new Random(30);
        int n = 5, v = 6;
        int[] targets = {2, IGN, 0, 5, IGN};
        double[] z = randn(rnd, n * v, 2.0), dz = new double[n * v];
        CrossEntropyKernel.forwardBackwardReference(z, targets, IGN, n, v, dz);
        assertFd("CrossEntropy dlogits (ignore-index)", z,
                zz -> CrossEntropyKernel.forwardBackwardReference(zz, targets, IGN, n, v, new double[n * v]), dz);
        for (int j = 0; j < v; j++) {
            assertEquals(0.0, dz[v + j], 0.0, "ignored row gets no gradient");
        }
    }

    @Test
    void fastKernelMatchesDoubleTwin() {
        Random rnd = new Random(31);
        for (int v : new int[]{2, 5, 16, 17, 33, 100, 1000}) {
            int n = 6;
            int[] targets = new int[n];
            for (int i = 0; i < n; i++) targets[i] = rnd.nextInt(v);
            targets[1] = IGN;
            targets[4] = IGN;
            double[] z = randnF32(rnd, n * v, 3.0), dz = new double[n * v];
            double loss = CrossEntropyKernel.forwardBackwardReference(z, targets, IGN, n, v, dz);
            FloatTensor tdz = FloatTensor.zeros(n, v);
            double fl = CrossEntropyKernel.forwardBackward(FloatTensor.of(z, n, v), targets, IGN, tdz);
            assertEquals(loss, fl, 1e-5 * Math.abs(loss), "loss V=" + v);
            assertRel("dlogits V=" + v, dz, tdz.toDoubleArray(), FP32_TOL);
        }
    }

    @Test
    void lossOnlyEqualsFusedKernelBitForBitAndMatchesDoubleTwin() {
        Random rnd = new Random(33);
        for (int v : new int[]{2, 17, 100, 1000}) {
            int n = 7;
            int[] targets = new int[n];
            for (int i = 0; i < n; i++) targets[i] = rnd.nextInt(v);
            targets[2] = IGN;
            double[] z = randnF32(rnd, n * v, 3.0);
            double ref = CrossEntropyKernel.forwardBackwardReference(z, targets, IGN, n, v, new double[n * v]);
            FloatTensor logits = FloatTensor.of(z, n, v);
            double fused = CrossEntropyKernel.forwardBackward(logits, targets, IGN, FloatTensor.zeros(n, v));
            double only = CrossEntropyKernel.loss(logits, targets, IGN, FloatTensor.zeros(v));
            assertEquals(fused, only, 0.0, "same arithmetic as the fused kernel, V=" + v);
            assertEquals(ref, only, 1e-5 * Math.abs(ref), "double twin, V=" + v);
            assertArrayEquals(z, logits.toDoubleArray(), "logits are only read");
        }
        assertEquals(0.0, CrossEntropyKernel.loss(FloatTensor.zeros(2, 3), new int[]{IGN, IGN}, IGN, FloatTensor.zeros(3)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.loss(FloatTensor.zeros(2, 3), new int[]{0, 1}, IGN, FloatTensor.zeros(2)));
        assertEquals("scratch: need 3 elements (one logits row) but was 2", e.getMessage());
    }

    @Test
    void uniformLogitsGiveLnVAndGradientRowsSumToZero() {
        int n = 4, v = 50;
        FloatTensor z = FloatTensor.zeros(n, v).fill(3.25f), dz = FloatTensor.zeros(n, v);
        double loss = CrossEntropyKernel.forwardBackward(z, new int[]{0, 49, IGN, 7}, IGN, dz);
        assertEquals(Math.log(v), loss, 1e-6);
        double[] g = dz.toDoubleArray();
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < v; j++) s += g[i * v + j];
            assertEquals(0.0, s, 1e-7, "row " + i);
        }
        assertEquals((1.0 / v - 1) / 3, g[0], 1e-7, "(p - 1) / count at the target of row 0");
    }

    @Test
    void inPlaceGradientAndAllIgnored() {
        Random rnd = new Random(32);
        int n = 3, v = 19;
        int[] targets = {4, 18, 0};
        double[] z = randnF32(rnd, n * v, 1.0), dz = new double[n * v];
        double loss = CrossEntropyKernel.forwardBackwardReference(z, targets, IGN, n, v, dz);
        FloatTensor t = FloatTensor.of(z, n, v);
        assertEquals(loss, CrossEntropyKernel.forwardBackward(t, targets, IGN, t), 1e-5 * loss);
        assertRel("in-place dlogits", dz, t.toDoubleArray(), FP32_TOL);

        FloatTensor g = FloatTensor.zeros(n, v).fill(7f);
        assertEquals(0.0, CrossEntropyKernel.forwardBackward(FloatTensor.of(z, n, v), new int[]{IGN, IGN, IGN}, IGN, g));
        for (double d : g.toDoubleArray()) assertEquals(0.0, d);
    }

    @Test
    void rejectsOutOfRangeTargetsNamingIdPositionAndVocab() {
        FloatTensor z = FloatTensor.zeros(3, 10), dz = FloatTensor.zeros(3, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.forwardBackward(z, new int[]{1, 2, 10}, IGN, dz));
        assertTrue(e.getMessage().contains("token id 10") && e.getMessage().contains("position 2")
                && e.getMessage().contains("vocab size 10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.forwardBackward(z, new int[]{-1, 2, 3}, IGN, dz));
        assertTrue(e.getMessage().contains("token id -1") && e.getMessage().contains("position 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.forwardBackward(z, new int[]{1, 2}, IGN, dz));
        assertTrue(e.getMessage().contains("targets") && e.getMessage().contains("3") && e.getMessage().contains("2"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.forwardBackward(z, new int[]{1, 2, 3}, IGN, FloatTensor.zeros(3, 11)));
        assertTrue(e.getMessage().contains("dlogits") && e.getMessage().contains("[3, 10]")
                && e.getMessage().contains("[3, 11]"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyKernel.forwardBackward(z, new int[]{1, 2, 3}, 5, dz));
    }
}
