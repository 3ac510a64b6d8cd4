package org.distillery.engine.kernels;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link AttentionKlKernel}: twin vs finite differences in the maps and, through the attention layer's
 * double twin, in the student's qkv; fp32 vs twin; a padded query row and masked keys count nothing.
 */
class AttentionKlKernelTest {

    @AfterAll
    static void report() { printFdErrors("AttentionKl"); }

    private static double[] maps(Random rnd, double[] qkv, int b, int t, int c, int nh, boolean causal, int[] lens) {
        double[] p = new double[b * nh * t * t];
        AttentionKernel.forwardReference(qkv, b, t, c, nh, causal, lens, new double[b * t * c], p);
        return p;
    }

    @Test
    void gradientThroughTheStudentsAttentionMatchesFiniteDifferences() {
        Random rnd = new Random(90);
        int b = 2, t = 5, c = 8, nh = 2;
        int[] lens = {5, 3};
        for (boolean causal : new boolean[] {true, false}) {
            double[] pt = maps(rnd, randn(rnd, b * t * 3 * c, 1.5), b, t, c, nh, causal, lens);
            double[] qkv = randn(rnd, b * t * 3 * c, 1.0);
            double[] ps = maps(rnd, qkv, b, t, c, nh, causal, lens);
            double[] dps = new double[ps.length], dqkv = new double[qkv.length];
            AttentionKlKernel.forwardBackwardReference(ps, pt, b, nh, t, lens, 1.0, dps);
            assertFd("AttentionKl dPs " + (causal ? "causal" : "bidirectional"), ps,
                    pp -> AttentionKlKernel.forwardBackwardReference(pp, pt, b, nh, t, lens, 0, null), dps);
            AttentionKernel.backwardReference(new double[b * t * c], qkv, ps, b, t, c, nh, 0.0, 0L, dps, dqkv);
            assertFd("AttentionKl dqkv " + (causal ? "causal" : "bidirectional"), qkv,
                    qq -> AttentionKlKernel.forwardBackwardReference(maps(rnd, qq, b, t, c, nh, causal, lens), pt, b, nh, t,
                            lens, 0, null), dqkv);
        }
    }

    @Test
    void fp32MatchesTwinAndPaddingCountsNothing() {
        Random rnd = new Random(91);
        int b = 2, t = 9, c = 16, nh = 4;
        int[] lens = {9, 6};
        double[] pt = maps(rnd, randnF32(rnd, b * t * 3 * c, 1.5), b, t, c, nh, false, lens);
        double[] ps = maps(rnd, randnF32(rnd, b * t * 3 * c, 1.0), b, t, c, nh, false, lens);
        double[] d = new double[ps.length];
        double ref = AttentionKlKernel.forwardBackwardReference(ps, pt, b, nh, t, lens, 0.5, d);
        FloatTensor gd = FloatTensor.zeros(b, nh, t, t).fill(3f);
        double got = AttentionKlKernel.forwardBackward(FloatTensor.of(ps, b, nh, t, t), FloatTensor.of(pt, b, nh, t, t), b,
                lens, 0.5, gd);
        assertEquals(ref, got, 1e-5 * ref);
        assertRel("dPs", d, gd.toDoubleArray(), FP32_TOL);
        for (int h = 0; h < nh; h++) {
            for (int i = 6; i < t; i++) {
                for (int j = 0; j < t; j++) assertEquals(0.0, gd.get(((nh + h) * t + i) * t + j), 0.0, "padded query row");
            }
        }
        assertEquals(0.0, AttentionKlKernel.forwardBackward(FloatTensor.of(pt, b, nh, t, t), FloatTensor.of(pt, b, nh, t, t),
                b, lens, 0, null), 1e-7, "identical maps");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionKlKernel.forwardBackward(
                FloatTensor.zeros(2, 4, 9, 9), FloatTensor.zeros(2, 2, 9, 9), 2, null, 0, null));
        assertEquals("teacher: attention probabilities [2, 2, 9, 9] differ from the student's [2, 4, 9, 9] (the same heads"
                + " and sequence length are needed)", e.getMessage());
    }
}
