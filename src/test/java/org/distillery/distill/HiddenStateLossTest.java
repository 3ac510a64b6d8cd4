package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.distillery.engine.kernels.CosineEmbeddingKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.MseKernel;
import org.distillery.testing.TestArrays;
import org.junit.jupiter.api.Test;

/**
 * {@link HiddenStateLoss}: without a projection it is exactly the kernel; with one, loss and all three
 * gradients (student input, projection weight and bias) match a double-precision twin written out here:
 * p = s W^T + b, dp from the kernel's twin, ds = dp W, dW = dp^T s, db = column sums of dp.
 */
class HiddenStateLossTest {

    private static double[] randn(Random r, int n) {
        return TestArrays.randnF32(r, n, 1.0);
    }

    private static double maxRel(double[] e, double[] a) {
        return TestArrays.maxRelError(e, a);
    }

    @Test
    void projectedLossAndGradientsMatchTheDoubleTwin() {
        Random rnd = new Random(70);
        int n = 6, hs = 5, ht = 9;
        boolean[] keep = {true, true, false, true, true, true};
        for (HiddenStateLoss.Kind kind : HiddenStateLoss.Kind.values()) {
            HiddenStateLoss loss = new HiddenStateLoss(kind, hs, ht, 3);
            assertTrue(loss.hasProjection());
            double[] w = loss.parameters().get("projection.weight").toDoubleArray();
            double[] b = randn(rnd, ht);
            loss.parameters().get("projection.bias").copyFrom(b);
            double[] s = randn(rnd, n * hs), t = randn(rnd, n * ht);
            double[] p = new double[n * ht];
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < ht; o++) {
                    double acc = b[o];
                    for (int k = 0; k < hs; k++) acc += s[i * hs + k] * w[o * hs + k];
                    p[i * ht + o] = acc;
                }
            }
            double[] dp = new double[n * ht];
            double ref = kind == HiddenStateLoss.Kind.MSE
                    ? MseKernel.forwardBackwardReference(p, t, n, ht, keep, 0.8, dp)
                    : CosineEmbeddingKernel.forwardBackwardReference(p, t, n, ht, keep, 0.8, dp);
            double[] ds = new double[n * hs], dw = new double[ht * hs], db = new double[ht];
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < ht; o++) {
                    db[o] += dp[i * ht + o];
                    for (int k = 0; k < hs; k++) {
                        ds[i * hs + k] += dp[i * ht + o] * w[o * hs + k];
                        dw[o * hs + k] += dp[i * ht + o] * s[i * hs + k];
                    }
                }
            }
            FloatTensor gs = FloatTensor.zeros(n, hs);
            double got = loss.forwardBackward(FloatTensor.of(s, n, hs), FloatTensor.of(t, n, ht), keep, 0.8, gs);
            assertEquals(ref, got, 1e-5 * ref, kind + " loss");
            assertTrue(maxRel(ds, gs.toDoubleArray()) < 1e-5, kind + " d student");
            assertTrue(maxRel(dw, loss.gradients().get("projection.weight").toDoubleArray()) < 1e-5, kind + " d W");
            assertTrue(maxRel(db, loss.gradients().get("projection.bias").toDoubleArray()) < 1e-5, kind + " d b");
        }
    }

    @Test
    void equalWidthsHaveNoProjectionAndEqualTheKernel() {
        Random rnd = new Random(71);
        int n = 3, h = 8;
        double[] s = randn(rnd, n * h), t = randn(rnd, n * h);
        HiddenStateLoss cos = new HiddenStateLoss(HiddenStateLoss.Kind.COSINE, h, h, 1);
        assertFalse(cos.hasProjection());
        assertTrue(cos.parameters().isEmpty());
        FloatTensor g1 = FloatTensor.zeros(n, h), g2 = FloatTensor.zeros(n, h);
        double a = cos.forwardBackward(FloatTensor.of(s, n, h), FloatTensor.of(t, n, h), null, 2.0, g1);
        double b = CosineEmbeddingKernel.forwardBackward(FloatTensor.of(s, n, h), FloatTensor.of(t, n, h), null, 2.0, g2);
        assertEquals(b, a, 0.0);
        assertArrayEquals(g2.toDoubleArray(), g1.toDoubleArray(), 0.0);
    }

    @Test
    void badShapesAreNamed() {
        HiddenStateLoss l = new HiddenStateLoss(HiddenStateLoss.Kind.MSE, 4, 6, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> l.forwardBackward(FloatTensor.zeros(2, 5), FloatTensor.zeros(2, 6), null, 0, null));
        assertEquals("student: hidden states must be [N, 4] but were [2, 5]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> l.forwardBackward(FloatTensor.zeros(2, 4), FloatTensor.zeros(3, 6), null, 0, null));
        assertEquals("teacher: hidden states must be [2, 6] but were [3, 6]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HiddenStateLoss(HiddenStateLoss.Kind.MSE, 0, 6, 1));
        assertEquals("studentWidth: must be >= 1 but was 0", e.getMessage());
    }
}
