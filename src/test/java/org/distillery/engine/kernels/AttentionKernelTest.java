package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class AttentionKernelTest {

    @AfterAll
    static void report() { printFdErrors("Attention"); }

    private record Case(String name, boolean causal, int[] seqLens) {}

    private static final Case[] CASES = {
            new Case("causal", true, null),
            new Case("bidirectional", false, null),
            new Case("causal+padding", true, new int[]{3, 1}),
            new Case("bidirectional+padding", false, new int[]{4, 2}),
    };

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(80);
        int b = 2, t = 4, c = 6, nh = 2;
        for (Case k : CASES) {
            double[] qkv = randn(rnd, b * t * 3 * c, 1.0), w = randn(rnd, b * t * c, 1.0);
            double[] y = new double[b * t * c], p = new double[b * nh * t * t], dqkv = new double[qkv.length];
            AttentionKernel.forwardReference(qkv, b, t, c, nh, k.causal, k.seqLens, y, p);
            AttentionKernel.backwardReference(w, qkv, p, b, t, c, nh, dqkv);
            assertFd("Attention dqkv " + k.name, qkv, qq -> {
                double[] yy = new double[b * t * c];
                AttentionKernel.forwardReference(qq, b, t, c, nh, k.causal, k.seqLens, yy, new double[b * nh * t * t]);
                return dot(yy, w);
            }, dqkv);
        }
    }

    @Test
    void fastKernelMatchesDoubleTwin() {
        Random rnd = new Random(81);
        // head sizes 20 (one 16-lane vector + tail), 8 (tail only with AVX-512), 33
        // plus nh = 1 and T = 37, 19 (not multiples of the lane count) for the GEMM path's [T, T] rows
        int[][] shapes = {{2, 5, 40, 2}, {2, 7, 16, 2}, {1, 9, 66, 2}, {2, 37, 20, 1}, {3, 19, 48, 4}};
        for (boolean gemm : new boolean[]{true, false})
        for (int[] s : shapes) {
            int b = s[0], t = s[1], c = s[2], nh = s[3];
            for (Case k : CASES) {
                int[] lens = null;
                if (k.seqLens != null) {                               // longer T: lengths 7x the case's (21, 7; 28, 14)
                    lens = new int[b];
                    for (int bb = 0; bb < b; bb++) lens[bb] = Math.min(t, k.seqLens[bb % 2] * (t > 16 ? 7 : 1));
                }
                double[] qkv = randnF32(rnd, b * t * 3 * c, 1.0), dy = randnF32(rnd, b * t * c, 1.0);
                double[] y = new double[b * t * c], p = new double[b * nh * t * t], dqkv = new double[qkv.length];
                AttentionKernel.forwardReference(qkv, b, t, c, nh, k.causal, lens, y, p);
                AttentionKernel.backwardReference(dy, qkv, p, b, t, c, nh, dqkv);

                AttentionKernel att = new AttentionKernel(b, t, c, nh, k.causal, gemm);
                assertEquals(gemm, att.usesGemm());
                FloatTensor tqkv = FloatTensor.of(qkv, b * t, 3 * c), ty = FloatTensor.zeros(b * t, c).fill(9f);
                att.forward(tqkv, lens, ty);
                FloatTensor tdqkv = FloatTensor.zeros(b * t, 3 * c).fill(9f);
                att.backward(FloatTensor.of(dy, b * t, c), tqkv, tdqkv);
                 String at = (gemm ? " gemm " : " loops ") + k.name + " B=" + b + " T=" + t + " C=" + c + " nh=" + nh;
                assertRel("y" + at, y, ty.toDoubleArray(), FP32_TOL);
                assertRel("P" + at, p, att.probabilities().toDoubleArray(), FP32_TOL);
                assertRel("dqkv" + at, dqkv, tdqkv.toDoubleArray(), FP32_TOL);
            }
        }
    }

    @Test
    void probabilitiesSumToOneAndMaskedEntriesAreZero() {
        Random rnd = new Random(82);
        int b = 2, t = 6, c = 32, nh = 4;
        int[] lens = {6, 4};
        AttentionKernel att = new AttentionKernel(b, t, c, nh, true);
        att.forward(FloatTensor.of(randn(rnd, b * t * 3 * c, 2.0), b * t, 3 * c), lens, FloatTensor.zeros(b * t, c));
        double[] p = att.probabilities().toDoubleArray();
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    double s = 0;
                    for (int j = 0; j < t; j++) {
                        double v = p[((bb * nh + h) * t + i) * t + j];
                        if (j > i || j >= lens[bb]) assertEquals(0.0, v, 0.0, "masked P[" + bb + "," + h + "," + i + "," + j + "]");
                        s += v;
                    }
                    assertEquals(1.0, s, 1e-6);
                }
            }
        }
    }

    @Test
    void firstCausalQueryCopiesTheFirstValueAndPaddingDoesNotLeak() {
        Random rnd = new Random(83);
        int b = 2, t = 5, c = 24, nh = 3;
        int[] lens = {5, 3};
        double[] qkv = randnF32(rnd, b * t * 3 * c, 1.0);
        for (boolean causal : new boolean[]{true, false}) {
            AttentionKernel att = new AttentionKernel(b, t, c, nh, causal);
            FloatTensor y1 = FloatTensor.zeros(b * t, c), y2 = FloatTensor.zeros(b * t, c);
            att.forward(FloatTensor.of(qkv, b * t, 3 * c), lens, y1);
            if (causal) {
                for (int e = 0; e < c; e++) assertEquals(qkv[2 * c + e], y1.get(e), 1e-6, "y_0 = v_0 when causal");
            }
            double[] changed = qkv.clone();                                  // rewrite padded tokens 3, 4 of sequence 1
            for (int i = 3; i < 5; i++) for (int e = 0; e < 3 * c; e++) changed[(t + i) * 3 * c + e] = 100 * rnd.nextGaussian();
            att.forward(FloatTensor.of(changed, b * t, 3 * c), lens, y2);
            for (int i = 0; i < 3; i++) {
                for (int e = 0; e < c; e++) {
                    assertEquals(y1.get((t + i) * c + e), y2.get((t + i) * c + e), 0f, "real token " + i + " sees no padding");
                }
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AttentionKernel(2, 4, 10, 3, true));
        assertTrue(e.getMessage().startsWith("nHead:"), e.getMessage());
        AttentionKernel att = new AttentionKernel(2, 4, 6, 2, true);
        e = assertThrows(IllegalArgumentException.class,
                () -> att.forward(FloatTensor.zeros(8, 12), null, FloatTensor.zeros(8, 6)));
        assertTrue(e.getMessage().startsWith("qkv:") && e.getMessage().contains("[8, 18]") && e.getMessage().contains("[8, 12]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> att.forward(FloatTensor.zeros(8, 18), new int[]{4, 5}, FloatTensor.zeros(8, 6)));
        assertTrue(e.getMessage().contains("length 5 of sequence 1") && e.getMessage().contains("[1, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> att.forward(FloatTensor.zeros(8, 18), new int[]{4}, FloatTensor.zeros(8, 6)));
        assertTrue(e.getMessage().startsWith("seqLens:"), e.getMessage());
    }
}
