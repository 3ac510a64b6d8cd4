package org.distillery.engine.kernels;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** {@link CosineEmbeddingKernel} and {@link MseKernel}: twins vs finite differences, fp32 vs twins, closed forms. */
class HiddenStateLossKernelsTest {

    @AfterAll
    static void report() {
        printFdErrors("Cosine");
        printFdErrors("Mse");
    }

    @Test
    void twinsMatchFiniteDifferences() {
        Random rnd = new Random(60);
        int n = 4, h = 5;
        boolean[] keep = {true, false, true, true};
        double[] s = randn(rnd, n * h, 1.5), t = randn(rnd, n * h, 1.5), ds = new double[n * h], dy = new double[n * h];
        CosineEmbeddingKernel.forwardBackwardReference(s, t, n, h, keep, 1.0, ds);
        assertFd("Cosine ds", s, x -> CosineEmbeddingKernel.forwardBackwardReference(x, t, n, h, keep, 0, null), ds);
        MseKernel.forwardBackwardReference(s, t, n, h, keep, 1.0, dy);
        assertFd("Mse dy", s, x -> MseKernel.forwardBackwardReference(x, t, n, h, keep, 0, null), dy);
        for (int j = 0; j < h; j++) {
            assertEquals(0.0, ds[h + j], 0.0);
            assertEquals(0.0, dy[h + j], 0.0);
        }
    }

    @Test
    void fastKernelsMatchTwinsOnOddWidthsAndAccumulate() {
        Random rnd = new Random(61);
        for (int h : ODD_LENGTHS) {
            int n = 5;
            boolean[] keep = {true, true, false, true, true};
            double[] s = randnF32(rnd, n * h, 2.0), t = randnF32(rnd, n * h, 2.0);
            double[] ds = new double[n * h], dy = new double[n * h];
            double cosRef = CosineEmbeddingKernel.forwardBackwardReference(s, t, n, h, keep, 0.5, ds);
            double mseRef = MseKernel.forwardBackwardReference(s, t, n, h, keep, 0.5, dy);
            FloatTensor fs = FloatTensor.of(s, n, h), ft = FloatTensor.of(t, n, h);
            FloatTensor gs = FloatTensor.zeros(n, h), gy = FloatTensor.zeros(n, h);
            assertEquals(cosRef, CosineEmbeddingKernel.forwardBackward(fs, ft, keep, 0.5, gs), 1e-6 * Math.max(1, cosRef), "cos h=" + h);
            assertEquals(mseRef, MseKernel.forwardBackward(fs, ft, keep, 0.5, gy, FloatTensor.zeros(h)), 1e-5 * mseRef, "mse h=" + h);
            if (h > 1) assertRel("cos grad h=" + h, ds, gs.toDoubleArray(), FP32_TOL);   // h = 1: cos = +-1, gradient ~0
            else assertArrayEquals(ds, gs.toDoubleArray(), 1e-6, "cos grad h=1 (absolute)");
            assertRel("mse grad h=" + h, dy, gy.toDoubleArray(), FP32_TOL);
            MseKernel.forwardBackward(fs, ft, keep, 0.5, gy, FloatTensor.zeros(h));
            for (int i = 0; i < dy.length; i++) dy[i] *= 2;
            assertRel("mse grad accumulated twice h=" + h, dy, gy.toDoubleArray(), FP32_TOL);
        }
    }

    @Test
    void closedForms() {
        // parallel rows: cos 1, loss 0 and zero gradient; orthogonal: loss 1; opposite: loss 2
        FloatTensor s = FloatTensor.of(new double[] {1, 2, 0, 3, 0, 0, 1, 1, 0}, 3, 3);
        FloatTensor t = FloatTensor.of(new double[] {2, 4, 0, 0, 5, 0, -2, -2, 0}, 3, 3);
        FloatTensor g = FloatTensor.zeros(3, 3);
        assertEquals((0 + 1 + 2) / 3.0, CosineEmbeddingKernel.forwardBackward(s, t, null, 1, g), 1e-7);
        for (int j = 0; j < 3; j++) assertEquals(0.0, g.get(j), 1e-8, "parallel row: no gradient");
        // orthogonal row s = (3,0,0), t = (0,5,0): d(1 - cos)/ds = -t/(|s||t|) / N = -(0, 1/3, 0) / 3
        assertEquals(-1.0 / 9, g.get(4), 1e-7);
        assertEquals(0.0, g.get(3), 1e-8);
        // MSE: y - t = (1, -1, 2, 0) over 2 rows x 2 -> (1 + 1 + 4 + 0) / 4
        FloatTensor y = FloatTensor.of(new double[] {1, 0, 2, 0}, 2, 2), tg = FloatTensor.of(new double[] {0, 1, 0, 0}, 2, 2);
        FloatTensor dy = FloatTensor.zeros(2, 2);
        assertEquals(1.5, MseKernel.forwardBackward(y, tg, null, 1, dy, FloatTensor.zeros(2)), 1e-7);
        assertArrayEquals(new double[] {0.5, -0.5, 1.0, 0.0}, dy.toDoubleArray(), 1e-7);
    }

    @Test
    void rejectsMismatchedShapesAndMasks() {
        FloatTensor a = FloatTensor.zeros(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CosineEmbeddingKernel.forwardBackward(a, FloatTensor.zeros(2, 4), null, 0, null));
        assertTrue(e.getMessage().startsWith("t: expected shape [2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> MseKernel.forwardBackward(a, a, new boolean[5], 0, null, FloatTensor.zeros(3)));
        assertEquals("keep: length 5 but the inputs have 2 rows", e.getMessage());
    }
}
