package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.ToDoubleFunction;

import org.distillery.testing.GradientCheck;

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

    // ---------------------------------------------------------------------------------------------
    // attention-probability dropout

    private static final double DROP = 0.3;

    @Test
    void referenceBackwardWithDropoutMatchesFiniteDifferences() {
        Random rnd = new Random(84);
        int b = 2, t = 4, c = 6, nh = 2;
        long seed = 4242;
        for (Case k : CASES) {
            double[] qkv = randn(rnd, b * t * 3 * c, 1.0), w = randn(rnd, b * t * c, 1.0);
            double[] y = new double[b * t * c], p = new double[b * nh * t * t], dqkv = new double[qkv.length];
            AttentionKernel.forwardReference(qkv, b, t, c, nh, k.causal, k.seqLens, DROP, seed, y, p);
            AttentionKernel.backwardReference(w, qkv, p, b, t, c, nh, DROP, seed, dqkv);
            ToDoubleFunction<double[]> loss = qq -> {
                double[] yy = new double[b * t * c];
                AttentionKernel.forwardReference(qq, b, t, c, nh, k.causal, k.seqLens, DROP, seed, yy, new double[b * nh * t * t]);
                return dot(yy, w);
            };
            assertFd("Attention dropout dqkv " + k.name, qkv, loss, dqkv);
            // the same check entry by entry with the models' GradientCheck (central differences, double)
            GradientCheck check = new GradientCheck(1e-6, 1e-9);
            double[] fd = numericGrad(qkv, loss);
            for (int i = 0; i < qkv.length; i++) check.check("dqkv[" + i + "] " + k.name, dqkv[i], fd[i]);
            double[] undropped = new double[qkv.length];
            AttentionKernel.backwardReference(w, qkv, p, b, t, c, nh, undropped);
            assertTrue(relErr(undropped, dqkv) > 1e-2, "the mask changes the gradient (" + k.name + ")");
        }
    }

    /** fp32 kernels (both paths) with a fixed mask against central differences of their own forward. */
    @Test
    void fastBackwardWithDropoutMatchesFiniteDifferences() {
        Random rnd = new Random(85);
        int b = 2, t = 5, c = 8, nh = 2;
        long seed = 77;
        int[] lens = {5, 3};
        for (boolean gemm : new boolean[]{true, false}) {
            FloatTensor qkv = FloatTensor.of(randnF32(rnd, b * t * 3 * c, 1.0), b * t, 3 * c);
            double[] w = randnF32(rnd, b * t * c, 1.0);
            AttentionKernel att = new AttentionKernel(b, t, c, nh, false, gemm);
            FloatTensor y = FloatTensor.zeros(b * t, c), dqkv = FloatTensor.zeros(b * t, 3 * c);
            att.forward(qkv, lens, y, DROP, seed);
            att.backward(FloatTensor.of(w, b * t, c), qkv, dqkv);
            double[] g = dqkv.toDoubleArray();
            GradientCheck check = new GradientCheck(1e-2, 1e-4);
            for (int i = 0; i < qkv.size(); i++) {
                double fd = GradientCheck.centralDifference(qkv, i, 1e-2f, () -> {
                    att.forward(qkv, lens, y, DROP, seed);
                    return dot(y.toDoubleArray(), w);
                });
                check.check((gemm ? "gemm" : "loops") + " dqkv[" + i + "]", g[i], fd);
            }
        }
    }

    @Test
    void fastKernelWithDropoutMatchesDoubleTwin() {
        Random rnd = new Random(86);
        int[][] shapes = {{2, 5, 40, 2}, {1, 9, 66, 2}, {2, 37, 20, 1}, {3, 19, 48, 4}};
        for (boolean gemm : new boolean[]{true, false})
        for (int[] s : shapes) {
            int b = s[0], t = s[1], c = s[2], nh = s[3];
            for (Case k : CASES) {
                int[] lens = null;
                if (k.seqLens != null) {
                    lens = new int[b];
                    for (int bb = 0; bb < b; bb++) lens[bb] = Math.min(t, k.seqLens[bb % 2] * (t > 16 ? 7 : 1));
                }
                long seed = 1000 + t;
                double[] qkv = randnF32(rnd, b * t * 3 * c, 1.0), dy = randnF32(rnd, b * t * c, 1.0);
                double[] y = new double[b * t * c], p = new double[b * nh * t * t], dqkv = new double[qkv.length];
                AttentionKernel.forwardReference(qkv, b, t, c, nh, k.causal, lens, DROP, seed, y, p);
                AttentionKernel.backwardReference(dy, qkv, p, b, t, c, nh, DROP, seed, dqkv);

                AttentionKernel att = new AttentionKernel(b, t, c, nh, k.causal, gemm);
                FloatTensor tqkv = FloatTensor.of(qkv, b * t, 3 * c), ty = FloatTensor.zeros(b * t, c).fill(9f);
                att.forward(tqkv, lens, ty, DROP, seed);
                assertEquals(DROP, att.dropout());
                FloatTensor tdqkv = FloatTensor.zeros(b * t, 3 * c).fill(9f);
                att.backward(FloatTensor.of(dy, b * t, c), tqkv, tdqkv);
                String at = (gemm ? " gemm " : " loops ") + k.name + " B=" + b + " T=" + t + " C=" + c + " nh=" + nh;
                assertRel("y" + at, y, ty.toDoubleArray(), FP32_TOL);
                assertRel("P (undropped)" + at, p, att.probabilities().toDoubleArray(), FP32_TOL);
                assertRel("dqkv" + at, dqkv, tdqkv.toDoubleArray(), FP32_TOL);
            }
        }
    }

    @Test
    void gemmAndLoopPathsAgreeWithDropout() {
        Random rnd = new Random(87);
        int b = 3, t = 19, c = 48, nh = 4;
        int[] lens = {19, 11, 4};
        for (boolean causal : new boolean[]{true, false}) {
            double[] qkv = randnF32(rnd, b * t * 3 * c, 1.0), dy = randnF32(rnd, b * t * c, 1.0);
            double[][] ys = new double[2][], ps = new double[2][], ds = new double[2][];
            for (int path = 0; path < 2; path++) {
                AttentionKernel att = new AttentionKernel(b, t, c, nh, causal, path == 0);
                FloatTensor tqkv = FloatTensor.of(qkv, b * t, 3 * c), ty = FloatTensor.zeros(b * t, c);
                FloatTensor tdqkv = FloatTensor.zeros(b * t, 3 * c);
                att.forward(tqkv, lens, ty, 0.2, 31L);
                att.backward(FloatTensor.of(dy, b * t, c), tqkv, tdqkv);
                ys[path] = ty.toDoubleArray();
                ps[path] = att.probabilities().toDoubleArray();
                ds[path] = tdqkv.toDoubleArray();
            }
            assertRel("P gemm vs loops causal=" + causal, ps[1], ps[0], FP32_TOL);
            assertRel("y gemm vs loops causal=" + causal, ys[1], ys[0], FP32_TOL);
            assertRel("dqkv gemm vs loops causal=" + causal, ds[1], ds[0], FP32_TOL);
        }
    }

    /**
     * p = 0 runs the code without dropout: bit-identical to the three-argument forward, whatever seed, and a
     * kernel that ran with p &gt; 0 before gives again exactly the results of a fresh one.
     */
    @Test
    void pZeroIsBitIdenticalToNoDropout() {
        Random rnd = new Random(88);
        int b = 2, t = 7, c = 24, nh = 3;
        int[] lens = {7, 5};
        double[] qkv = randnF32(rnd, b * t * 3 * c, 1.0), dy = randnF32(rnd, b * t * c, 1.0);
        for (boolean gemm : new boolean[]{true, false}) {
            FloatTensor tqkv = FloatTensor.of(qkv, b * t, 3 * c), tdy = FloatTensor.of(dy, b * t, c);
            AttentionKernel fresh = new AttentionKernel(b, t, c, nh, true, gemm), used = new AttentionKernel(b, t, c, nh, true, gemm);
            FloatTensor y0 = FloatTensor.zeros(b * t, c), d0 = FloatTensor.zeros(b * t, 3 * c);
            fresh.forward(tqkv, lens, y0);
            fresh.backward(tdy, tqkv, d0);
            FloatTensor y1 = FloatTensor.zeros(b * t, c), d1 = FloatTensor.zeros(b * t, 3 * c);
            used.forward(tqkv, lens, y1, 0.5, 9L);
            used.backward(tdy, tqkv, d1);
            assertFalse(java.util.Arrays.equals(y0.toDoubleArray(), y1.toDoubleArray()), "p = 0.5 changes y");
            used.forward(tqkv, lens, y1, 0.0, 12345L);
            assertEquals(0.0, used.dropout());
            used.backward(tdy, tqkv, d1);
            String path = gemm ? "gemm" : "loops";
            assertArrayEquals(y0.toDoubleArray(), y1.toDoubleArray(), 0.0, path + " y");
            assertArrayEquals(fresh.probabilities().toDoubleArray(), used.probabilities().toDoubleArray(), 0.0, path + " P");
            assertArrayEquals(d0.toDoubleArray(), d1.toDoubleArray(), 0.0, path + " dqkv");
        }
    }

    /**
     * With V = identity per head (hd = T, v_j = e_j) the output row is the dropped probability row itself:
     * y_i[j] = Pd_ij. Every Pd_ij is P_ij / (1 - p) where {@link DropoutKernel#keep} says kept and exactly 0
     * elsewhere; the kept fraction of the visible entries is 1 - p within 5 standard deviations; the same seed
     * gives the same mask, another seed another one.
     */
    @Test
    void maskIsDropoutKernelsWithTheRightFractionAndScale() {
        Random rnd = new Random(89);
        int b = 2, t = 32, nh = 2, hd = t, c = nh * hd;
        double p = 0.1;
        float inv = (float) (1.0 / (1.0 - p));
        for (boolean gemm : new boolean[]{true, false}) {
            FloatTensor qkv = FloatTensor.zeros(b * t, 3 * c);
            for (int r = 0; r < b * t; r++) {
                for (int e = 0; e < 2 * c; e++) qkv.set(r * 3 * c + e, (float) rnd.nextGaussian());
                for (int h = 0; h < nh; h++) qkv.set(r * 3 * c + 2 * c + h * hd + r % t, 1f);  // v_j = e_j
            }
            AttentionKernel att = new AttentionKernel(b, t, c, nh, false, gemm);
            FloatTensor y = FloatTensor.zeros(b * t, c), y2 = FloatTensor.zeros(b * t, c), y3 = FloatTensor.zeros(b * t, c);
            att.forward(qkv, null, y2, p, 5L);
            att.forward(qkv, null, y3, p, 6L);
            att.forward(qkv, null, y, p, 5L);
            int kept = 0, total = 0, differ = 0;
            for (int bb = 0; bb < b; bb++) {
                for (int h = 0; h < nh; h++) {
                    for (int i = 0; i < t; i++) {
                        for (int j = 0; j < t; j++) {
                            int idx = ((bb * nh + h) * t + i) * t + j;
                            float pd = y.get((bb * t + i) * c + h * hd + j), pij = att.probabilities().get(idx);
                            boolean keep = DropoutKernel.keep(5L, idx, p);
                            if (keep) {
                                assertEquals(pij * inv, pd, 1e-6f * pd, "kept Pd = P / (1 - p) at " + idx);
                                kept++;
                            } else {
                                assertEquals(0f, pd, 0f, "dropped at " + idx);
                            }
                            total++;
                            assertEquals(pd, y2.get((bb * t + i) * c + h * hd + j), 0f, "same seed, same mask");
                            if ((pd == 0f) != (y3.get((bb * t + i) * c + h * hd + j) == 0f)) differ++;
                        }
                    }
                }
            }
            double sd = Math.sqrt(total * p * (1 - p));
            assertEquals(total * (1 - p), kept, 5 * sd, (gemm ? "gemm" : "loops") + " kept count of " + total);
            assertTrue(differ > total * p, "another seed gives another mask (" + differ + " differences)");
        }
    }

    @Test
    void rejectsDropoutOutsideZeroOne() {
        AttentionKernel att = new AttentionKernel(1, 2, 4, 2, true);
        for (double p : new double[]{-0.1, 1.0, Double.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> att.forward(FloatTensor.zeros(2, 12), null, FloatTensor.zeros(2, 4), p, 1L));
            assertTrue(e.getMessage().startsWith("p:") && e.getMessage().contains("[0, 1)"), e.getMessage());
        }
    }

    /** L = sum(Y W) + sum(P G): the extra gradient G on the probabilities (attention-map losses). */
    @Test
    void probabilityGradientMatchesFiniteDifferencesAndBothPathsMatchTheTwin() {
        Random rnd = new Random(89);
        int b = 2, t = 4, c = 6, nh = 2;
        for (Case k : CASES) {
            double[] qkv = randn(rnd, b * t * 3 * c, 1.0), w = randn(rnd, b * t * c, 1.0), g = randn(rnd, b * nh * t * t, 1.0);
            double[] y = new double[b * t * c], p = new double[b * nh * t * t], dqkv = new double[qkv.length];
            AttentionKernel.forwardReference(qkv, b, t, c, nh, k.causal, k.seqLens, y, p);
            AttentionKernel.backwardReference(w, qkv, p, b, t, c, nh, 0.0, 0L, g, dqkv);
            assertFd("Attention dqkv with dP " + k.name, qkv, qq -> {
                double[] yy = new double[b * t * c], pp = new double[b * nh * t * t];
                AttentionKernel.forwardReference(qq, b, t, c, nh, k.causal, k.seqLens, yy, pp);
                return dot(yy, w) + dot(pp, g);
            }, dqkv);
        }
        int[][] shapes = {{2, 5, 40, 2}, {3, 19, 48, 4}};
        for (boolean gemm : new boolean[]{true, false})
        for (double drop : new double[]{0.0, DROP})
        for (int[] sh : shapes) {
            int bb = sh[0], t2 = sh[1], c2 = sh[2], nh2 = sh[3];
            for (Case k : CASES) {
                int[] lens = k.seqLens == null ? null : java.util.Arrays.copyOf(new int[]{t2, t2 - 2, t2 - 1}, bb);
                double[] qkv = randnF32(rnd, bb * t2 * 3 * c2, 1.0), dy = randnF32(rnd, bb * t2 * c2, 1.0);
                double[] g = randnF32(rnd, bb * nh2 * t2 * t2, 1.0);
                double[] y = new double[bb * t2 * c2], p = new double[bb * nh2 * t2 * t2], dqkv = new double[qkv.length];
                AttentionKernel.forwardReference(qkv, bb, t2, c2, nh2, k.causal, lens, drop, 7L, y, p);
                AttentionKernel.backwardReference(dy, qkv, p, bb, t2, c2, nh2, drop, 7L, g, dqkv);
                AttentionKernel att = new AttentionKernel(bb, t2, c2, nh2, k.causal, gemm);
                FloatTensor tqkv = FloatTensor.of(qkv, bb * t2, 3 * c2);
                att.forward(tqkv, lens, FloatTensor.zeros(bb * t2, c2), drop, 7L);
                att.addProbabilityGradient(FloatTensor.of(g, bb, nh2, t2, t2));
                FloatTensor tdqkv = FloatTensor.zeros(bb * t2, 3 * c2);
                att.backward(FloatTensor.of(dy, bb * t2, c2), tqkv, tdqkv);
                String at = (gemm ? " gemm " : " loops ") + k.name + " p=" + drop + " T=" + t2;
                assertRel("dqkv with dP" + at, dqkv, tdqkv.toDoubleArray(), FP32_TOL);
                // used once: the next backward is the plain one
                double[] plain = new double[qkv.length];
                AttentionKernel.backwardReference(dy, qkv, p, bb, t2, c2, nh2, drop, 7L, plain);
                att.backward(FloatTensor.of(dy, bb * t2, c2), tqkv, tdqkv);
                assertRel("dqkv after" + at, plain, tdqkv.toDoubleArray(), FP32_TOL);
            }
        }
        AttentionKernel att = new AttentionKernel(1, 2, 4, 2, true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> att.addProbabilityGradient(FloatTensor.zeros(3)));
        assertEquals("g: expected 8 elements ([B, nh, T, T] = [1, 2, 2, 2]) but got [3]", e.getMessage());
    }
}
