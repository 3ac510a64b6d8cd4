package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@link QuantizedLinear} against the dequantize-then-multiply reference in double, on shapes around the
 * vector width: odd out, in not a multiple of the lane count, groups of 32/64/128, per-channel groups, a group
 * that is not a multiple of 32 (INT4's scalar tail), batch sizes on both paths (matrix-vector and tiles).
 *
 * <p>Tolerance (accumulation order only): per output element,
 * {@code |y - y_ref| <= (in + 2 * groups + 4) * 2^-24 * (sum_k |x_k| |s_g| (|c'_k| + |z'_g|) + |b| + |y_ref|)}
 * with c', z' the in-memory code and zero the kernel multiplies (e.g. nibble and 8 for INT4), the
 * standard bound for recursive fp32 summation of the terms the kernel adds.
 */
class QuantizedLinearTest {
    private static final double U = Math.scalb(1.0, -24);
    private static double worstBoundFraction = 0;
    private static double worstRelative = 0;

    /** {out, in, group} */
    private static final int[][] SHAPES = {
            {7, 96, 32}, {13, 160, 32}, {37, 384, 128}, {5, 640, 64}, {9, 128, 128}, {1, 64, 32}, {4, 256, 32},
            {11, 100, 100}, {3, 50, 50}, {6, 144, 48}, {17, 96, 96},
    };
    private static final int[] BATCHES = {1, 2, 3, 4, 5, 9};

    @Test
    void everyFormatMatchesTheDequantizedReferenceOnOddShapesAndBatches() {
        Random rnd = new Random(7);
        int cases = 0;
        for (PackedFormat f : PackedFormat.values()) {
            for (int[] s : SHAPES) {
                int out = s[0], in = s[1], g = s[2];
                if (f.isBlockFormat() && g != 32) continue;
                if (f.bits() == 4 && g % 2 != 0) continue;
                float[] w = gaussian(rnd, out * in, 0.05);
                w[rnd.nextInt(w.length)] = 0.4f;                 // an outlier
                float[] bias = rnd.nextBoolean() ? gaussian(rnd, out, 0.1) : null;
                PackedWeights pw = PackedWeights.quantize(w, out, in, f, g);
                QuantizedLinear lin = new QuantizedLinear(pw, bias);
                for (int n : BATCHES) {
                    float[] x = gaussian(rnd, n * in, 1.0);
                    float[] y = new float[n * out];
                    java.util.Arrays.fill(y, Float.NaN);          // every row must be written
                    lin.forward(x, n, y);
                    check(f + " [" + out + ", " + in + "] g" + g + " n" + n, pw, bias, x, n, y);
                    cases++;
                }
            }
        }
        System.out.printf("packed kernels: %d cases; worst error / bound %.3f, worst |err| / max|y_ref| %.2e%n",
                cases, worstBoundFraction, worstRelative);
    }

    @Test
    void floatTensorPathMatchesArrayPath() {
        Random rnd = new Random(3);
        PackedWeights pw = PackedWeights.quantize(gaussian(rnd, 9 * 96, 1), 9, 96, PackedFormat.INT4_ASYM, 32);
        QuantizedLinear lin = new QuantizedLinear(pw, gaussian(rnd, 9, 1));
        for (int n : new int[] {1, 6}) {
            float[] x = gaussian(rnd, n * 96, 1);
            FloatTensor xt = FloatTensor.zeros(n, 96).copyFrom(x), yt = FloatTensor.zeros(n, 9);
            float[] y = new float[n * 9];
            lin.forward(x, n, y);
            lin.forward(xt, yt);
            assertEquals(java.util.Arrays.toString(y), java.util.Arrays.toString(yt.toFloatArray()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> lin.forward(FloatTensor.zeros(2, 95), FloatTensor.zeros(2, 9)));
        assertEquals("x: shape [2, 95] needs 96 columns to match W [9, 96]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> lin.forward(FloatTensor.zeros(2, 96), FloatTensor.zeros(3, 9)));
        assertEquals("y: expected shape [2, 9] but got [3, 9]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedLinear(pw, new float[8]));
        assertEquals("bias: length 8 but W has out = 9 rows", e.getMessage());
    }

    /**
     * From {@link QuantizedLinear#GEMM_FROM} rows the FloatTensor path is the engine's LinearKernel on W dequantized
     * into the shared workspace: bit for bit the float layer on the dequantized weight, for every format (INT4's
     * pair order undone), also when layers of different shapes share one workspace (its buffer grows and its views
     * are remade) and after the heap paths have used it.
     */
    @Test
    void gemmPathIsTheFloatLayerOnTheDequantizedWeightBitForBit() {
        Random rnd = new Random(13);
        QuantizedLinear.Workspace ws = new QuantizedLinear.Workspace();
        int n = QuantizedLinear.GEMM_FROM + 3;
        for (int round = 0; round < 2; round++) {
            for (PackedFormat f : PackedFormat.values()) {
                for (int[] s : new int[][] {{24, 96, 32}, {40, 192, 64}, {8, 64, 32}}) {
                    int out = s[0], in = s[1], g = f.isBlockFormat() ? 32 : s[2];
                    PackedWeights pw = PackedWeights.quantize(gaussian(rnd, out * in, 0.1), out, in, f, g);
                    float[] bias = gaussian(rnd, out, 0.1);
                    QuantizedLinear lin = new QuantizedLinear(pw, bias, ws);
                    FloatTensor x = FloatTensor.zeros(n, in).copyFrom(gaussian(rnd, n * in, 1));
                    FloatTensor y = FloatTensor.zeros(n, out), want = FloatTensor.zeros(n, out);
                    lin.forward(x, y);
                    org.distillery.engine.kernels.LinearKernel.forward(x, FloatTensor.zeros(out, in).copyFrom(pw.dequantize()),
                            FloatTensor.zeros(out).copyFrom(bias), want);
                    assertEquals(java.util.Arrays.toString(want.toFloatArray()), java.util.Arrays.toString(y.toFloatArray()),
                            f + " [" + out + ", " + in + "] round " + round);
                    float[] small = new float[2 * out];
                    lin.forward(gaussian(rnd, 2 * in, 1), 2, small);        // the heap path on the same workspace
                }
            }
        }
        assertTrue(ws.bytes() >= 4L * 40 * 192, "the workspace holds the largest dequantized W: " + ws.bytes());
    }

    @Test
    void fp32MatVecBaselineMatchesDouble() {
        Random rnd = new Random(5);
        // out below 4 and not a multiple of 4: the four row streams are clamped to the last row
        for (int[] s : new int[][] {{7, 100}, {16, 64}, {33, 129}, {1, 20}, {2, 48}, {3, 17}, {5, 64}}) {
            int out = s[0], in = s[1];
            float[] w = gaussian(rnd, out * in, 1), x = gaussian(rnd, in, 1), y = new float[out];
            java.util.Arrays.fill(y, Float.NaN);                  // every row must be written
            FloatMatVec.matvec(w, out, in, x, y);
            for (int o = 0; o < out; o++) {
                double ref = 0, abs = 0;
                for (int k = 0; k < in; k++) {
                    ref += (double) w[o * in + k] * x[k];
                    abs += Math.abs((double) w[o * in + k] * x[k]);
                }
                assertTrue(Math.abs(y[o] - ref) <= (in + 4) * U * abs, "row " + o + ": " + y[o] + " vs " + ref);
            }
        }
    }

    private static void check(String what, PackedWeights pw, float[] bias, float[] x, int n, float[] y) {
        int in = pw.in(), out = pw.out(), g = pw.group();
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        double[] ref = QuantizedLinear.forwardReference(pw, bias, xd, n);
        double maxRef = 0;
        for (double v : ref) maxRef = Math.max(maxRef, Math.abs(v));
        double gamma = (in + 2.0 * pw.groups() + 4) * U;
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                double terms = 0;
                for (int k = 0; k < in; k++) {
                    terms += Math.abs(x[r * in + k]) * Math.abs(pw.scale(o, k / g)) * kernelMagnitude(pw, o, k);
                }
                double b = bias == null ? 0 : Math.abs(bias[o]);
                double e = Math.abs(y[r * out + o] - ref[r * out + o]);
                double bound = gamma * (terms + b + Math.abs(ref[r * out + o]));
                assertTrue(e <= bound, what + " y[" + r + ", " + o + "] = " + y[r * out + o] + " vs reference "
                        + ref[r * out + o] + ": error " + e + " > bound " + bound);
                worstBoundFraction = Math.max(worstBoundFraction, e / bound);
                worstRelative = Math.max(worstRelative, e / Math.max(maxRef, 1e-30));
            }
        }
    }

    /** |c'| + |z'|: the magnitudes of the in-memory code and zero the kernel multiplies. */
    static double kernelMagnitude(PackedWeights pw, int o, int k) {
        int c = pw.code(o, k), z = pw.zero(o, k / pw.group());
        return switch (pw.format()) {
            case INT8, Q8_0 -> Math.abs(c);
            case INT8_ASYM -> Math.abs(c - 128) + Math.abs(z - 128);
            case INT4_ASYM -> c + z;
            case INT4, Q4_0 -> (c + 8) + 8;
        };
    }

    static float[] gaussian(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * scale);
        return a;
    }

    @AfterAll
    static void report() {
        System.out.printf("QuantizedLinearTest: vector lanes %d (%s)%n", PackedKernels.LANES,
                PackedKernels.VECTOR ? "vector paths" : "scalar fallback");
    }
}
