package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Int8A8MatVec} (through {@link QuantizedLinear#withInt8Activations()} on 8-bit weights) against two
 * references in double:
 * <ol>
 *   <li>the same W8A8 formula computed naively (x quantized here independently, integer sums in {@code long} of the
 *   stored signed codes, INT8_ASYM's zero correction in float): the integer part is exact, so only fp32 rounding
 *   separates them, bounded by {@code (2 groups + 24) * 2^-24 * (sum_g |s_g sx_g| sum_k |c'_k qx_k| + sum_g |offset_g
 *   sum_k x_k|)} plus {@code sum_g |offset_g| (group + 8) 2^-24 sum_k |x_k|} for the float sums of x;</li>
 *   <li>the exact product on the dequantized weight: the activation rounding may add at most
 *   {@code sum_g |s_g| sx_g / 2 * sum_k |c'_k|} (each |x - sx qx| &lt;= sx / 2) on top of that.</li>
 * </ol>
 * Shapes cover groups of one and several kernel steps and whole rows (per-channel: per-token activations), row counts
 * that are not multiples of the kernel's four rows per call, one and three input rows, a group of zeros, and the
 * largest 16-bit lane sums the kernel allows over a long row.
 */
class Int8A8MatVecTest {
    private static final double U = Math.scalb(1.0, -24);
    private static final PackedFormat[] FORMATS = {PackedFormat.INT8, PackedFormat.INT8_ASYM, PackedFormat.Q8_0};

    @Test
    void matchesTheW8A8FormulaAndStaysWithinTheActivationRoundingBound() {
        int st = Int8A8MatVec.STEP;
        int[][] shapes = {{7, 4 * st, st}, {5, 2 * st, 2 * st}, {13, 8 * st, 8 * st}, {1, 3 * st, st}, {4, 6 * st, 3 * st},
                {21, 2 * st, st}, {2, 12 * st, 4 * st}, {9, 48 * st, 2 * st}};
        Random rnd = new Random(5);
        int cases = 0;
        double worstA = 0, worstB = 0;
        for (PackedFormat f : FORMATS) {
            for (int[] s : shapes) {
                int out = s[0], in = s[1], g = f == PackedFormat.Q8_0 ? 32 : s[2];
                PackedWeights pw = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, out * in, 0.05), out, in, f, g);
                if (!QuantizedLinear.supportsInt8Activations(pw)) {
                    assertEquals(PackedFormat.Q8_0, f, "only Q8_0's groups of 32 can be below the step");
                    assertTrue(32 % st != 0, "Q8_0 refused although the step is " + st);
                    continue;
                }
                float[] bias = rnd.nextBoolean() ? QuantizedLinearTest.gaussian(rnd, out, 0.1) : null;
                QuantizedLinear lin = new QuantizedLinear(pw, bias).withInt8Activations();
                assertTrue(lin.int8Activations());
                assertEquals(0, lin.int8ActivationCopyBytes(), "W8A8 reads the codes in place");
                for (int n : new int[] {1, 3}) {
                    float[] x = QuantizedLinearTest.gaussian(rnd, n * in, 1.0);
                    x[rnd.nextInt(x.length)] = 9f;                           // an outlier
                    if (in / g > 1) Arrays.fill(x, 0, g, 0f);                // row 0: a group of zeros (sx = 0)
                    float[] y = new float[n * out];
                    lin.forward(x, n, y);
                    for (int r = 0; r < n; r++) {
                        double[] e = check(f + " [" + out + ", " + in + "] g" + g + ", row " + r, pw, bias, x, r * in, y,
                                r * out);
                        worstA = Math.max(worstA, e[0]);
                        worstB = Math.max(worstB, e[1]);
                    }
                    cases++;
                }
                // per channel (one group per row): the activations are quantized per token
                PackedWeights pc = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, out * in, 0.05), out, in,
                        f == PackedFormat.Q8_0 ? PackedFormat.INT8 : f, in);
                QuantizedLinear lc = new QuantizedLinear(pc, bias).withInt8Activations();
                float[] x = QuantizedLinearTest.gaussian(rnd, in, 2.0), y = new float[out];
                lc.forward(x, 1, y);
                double[] e = check(pc.format() + " [" + out + ", " + in + "] per channel", pc, bias, x, 0, y, 0);
                worstA = Math.max(worstA, e[0]);
                worstB = Math.max(worstB, e[1]);
                cases++;
            }
        }
        System.out.printf("W8A8 kernel (%d-column steps): %d cases; worst error / fp32 bound %.3f, worst error / "
                + "activation-rounding bound %.3f%n", st, cases, worstA, worstB);
        assertTrue(cases >= 48, "W8A8 cases run: " + cases);   // 72 where Q8_0 fits (256-bit vectors)
    }

    @Test
    void theLargestLaneSumsStayExact() {
        // INT8_ASYM of a row of -1 with a single +1 (per row, at a different column): the -1s get code 0, stored as
        // c' = -128, and x of -2 everywhere gives qx = -127, so nearly every product is 128 * 127 and each 16-bit lane
        // sums two of them, 32,512, just below 2^15. One group of 132,096 columns: the row's integer sum is about
        // 2^31 - 2^17, which the kernel never holds in one int (it converts each step's sums to float).
        assertEquals(32_512, Int8A8MatVec.MAX_PAIR_SUM);
        assertTrue(Int8A8MatVec.MAX_PAIR_SUM < Short.MAX_VALUE);
        int st = Int8A8MatVec.STEP;
        int out = 3, in = 132_096 / st * st;
        float[] w = new float[out * in];
        Arrays.fill(w, -1f);
        for (int o = 0; o < out; o++) w[o * in + 5 * o] = 1f;
        PackedWeights pw = PackedWeights.quantize(w, out, in, PackedFormat.INT8_ASYM, in);
        assertEquals(-128, pw.q[1]);
        assertTrue(QuantizedLinear.supportsInt8Activations(pw));
        long isum = 0;
        for (int k = 0; k < in; k++) isum += (long) pw.q[k] * -127;
        assertTrue(isum > (1L << 31) - (1L << 18) && isum < Integer.MAX_VALUE, "row 0's integer sum " + isum);
        float[] x = new float[in], y = new float[out];
        Arrays.fill(x, -2f);
        new QuantizedLinear(pw, null).withInt8Activations().forward(x, 1, y);
        double[] wd = pw.dequantize();
        for (int o = 0; o < out; o++) {
            double expected = 0;
            for (int k = 0; k < in; k++) expected += wd[o * in + k] * -2.0;
            assertEquals(expected, y[o], 1e-5 * Math.abs(expected), "row " + o);
        }
    }

    @Test
    void quantizesEachGroupToInt8InNaturalOrder() {
        int st = Int8A8MatVec.STEP, in = 4 * st, g = 2 * st;
        Random rnd = new Random(2);
        float[] x = QuantizedLinearTest.gaussian(rnd, in, 3);
        float[] edges = {127f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 0.5f, -0.5f, -0.50000006f, 126.5f, -126.5f,
                1.4999999f, -1.5000001f, 0f, -0f};                      // group 0: max |x| 127, so sx = 1
        System.arraycopy(edges, 0, x, 0, edges.length);
        for (int k = edges.length; k < g; k++) x[k] = Math.max(-126f, Math.min(126f, x[k]));
        short[] qx = new short[in];
        float[] sx = new float[2], xsum = new float[2];
        Int8A8MatVec.quantize(x, 0, in, g, new int[in], qx, sx, xsum, 0f);
        assertEquals(1f, sx[0]);
        assertArrayEquals(new short[] {127, 3, -2, 0, 0, 1, 0, -1, 127, -126, 1, -2, 0, 0},
                Arrays.copyOf(qx, edges.length), "half up, as Math.round");
        for (int gi = 0; gi < 2; gi++) {
            double m = 0, sum = 0;
            for (int k = gi * g; k < (gi + 1) * g; k++) {
                m = Math.max(m, Math.abs(x[k]));
                sum += x[k];
            }
            assertEquals((float) m / 127f, sx[gi], "sx of group " + gi);
            assertEquals(sum, xsum[gi], 2 * g * U * m * g, "xsum of group " + gi);
            for (int k = gi * g; k < (gi + 1) * g; k++) assertEquals(Math.round(x[k] / sx[gi]), qx[k], "column " + k);
        }
    }

    /**
     * A static activation scale ({@link QuantizedLinear#withInt8Activations(float)}, SmoothQuant's per-tensor
     * quantization): every group rounds with the one scale, inputs beyond 127 scales are clipped, and the result
     * matches the reference on x clipped to that range (INT8_ASYM's zero correction on the clipped x too).
     */
    @Test
    void aStaticScaleRoundsEveryGroupWithItAndClips() {
        int st = Int8A8MatVec.STEP;
        Random rnd = new Random(8);
        int cases = 0, clipped = 0;
        for (PackedFormat f : FORMATS) {
            for (int[] s : new int[][] {{7, 4 * st, 4 * st}, {13, 6 * st, 2 * st}, {5, 2 * st, st}}) {
                int out = s[0], in = s[1], g = f == PackedFormat.Q8_0 ? 32 : s[2];
                PackedWeights pw = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, out * in, 0.05), out, in, f, g);
                if (!QuantizedLinear.supportsInt8Activations(pw)) continue;
                float[] bias = QuantizedLinearTest.gaussian(rnd, out, 0.1);
                float scale = 2.5f / 127;                                // clips |x| > 2.5: a few of N(0, 1)
                QuantizedLinear lin = new QuantizedLinear(pw, bias).withInt8Activations(scale);
                assertEquals(scale, lin.staticActivationScale());
                assertTrue(lin.int8Activations());
                for (int n : new int[] {1, 3}) {
                    float[] x = QuantizedLinearTest.gaussian(rnd, n * in, 1.0);
                    x[rnd.nextInt(x.length)] = 40f;                      // far beyond the range
                    for (float v : x) if (Math.abs(v) > 2.5f) clipped++;
                    float[] y = new float[n * out];
                    lin.forward(x, n, y);
                    for (int r = 0; r < n; r++) {
                        A8Reference.check(f + " [" + out + ", " + in + "] g" + g + " static, row " + r, pw, bias, x, r * in,
                                y, r * out, (o, k) -> pw.q[o * pw.in() + k], pw.offsets != null, scale);
                    }
                    cases++;
                }
            }
        }
        assertTrue(cases >= 12 && clipped >= cases, cases + " cases, " + clipped + " clipped inputs");
        // the quantized values themselves: clipped at +-127, half up inside
        int in = 2 * st;
        float[] x = new float[in];
        float[] edges = {1000f, -1000f, 127.4f, -127.6f, 2.5f, -2.5f, 0.5f, 0f};
        System.arraycopy(edges, 0, x, 0, edges.length);
        short[] qx = new short[in];
        float[] sx = new float[2], xsum = new float[2];
        Int8A8MatVec.quantize(x, 0, in, st, new int[in], qx, sx, xsum, 1f);
        assertArrayEquals(new float[] {1f, 1f}, sx);
        assertArrayEquals(new short[] {127, -127, 127, -127, 3, -2, 1, 0}, Arrays.copyOf(qx, edges.length));
        assertEquals(127f - 127f + 127f - 127f + 2.5f - 2.5f + 0.5f, xsum[0], "x clipped to +-127 in the sum");
        // refused: a scale that is not finite and positive, a 4-bit weight
        PackedWeights w8 = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 4 * st, 1), 4, st, PackedFormat.INT8, st);
        for (float bad : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new QuantizedLinear(w8, null).withInt8Activations(bad));
            assertEquals("scale = " + bad + ": a static activation scale must be finite and > 0", e.getMessage());
        }
        PackedWeights w4 = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 4 * 2 * Int4A8MatVec.C, 1), 4,
                2 * Int4A8MatVec.C, PackedFormat.INT4, Int4A8MatVec.C);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantizedLinear(w4, null).withInt8Activations(1f));
        assertEquals("int8 activations with a static scale: need " + Int8A8MatVec.REQUIREMENT + "; got " + w4, e.getMessage());
    }

    @Test
    void refusesWhatItCannotMultiply() {
        Random rnd = new Random(1);
        int st = Int8A8MatVec.STEP;
        PackedWeights oddGroup = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 4 * 3 * st / 2, 1), 4,
                3 * st / 2, PackedFormat.INT8, st / 2 * 3);
        assertFalse(oddGroup.group() % st == 0);
        assertFalse(QuantizedLinear.supportsInt8Activations(oddGroup));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantizedLinear(oddGroup, null).withInt8Activations());
        assertEquals("int8 activations: need " + Int4A8MatVec.REQUIREMENT + ", or an 8-bit format (INT8, INT8_ASYM, Q8_0)"
                + " with the group a multiple of " + st + " columns; got "
                + oddGroup, e.getMessage());
        // one layout only: the codes in place, read as four streams
        PackedWeights pw = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 8 * st, 1), 8, st, PackedFormat.INT8, st);
        IllegalArgumentException streams = assertThrows(IllegalArgumentException.class,
                () -> new QuantizedLinear(pw, null).withInt8Activations(2));
        assertEquals("streams = 2: the W8A8 kernel reads the codes in place as 4 streams; accepted 4", streams.getMessage());
    }

    /** {@link A8Reference#check} for W8A8: the stored signed code; INT8_ASYM's zero correction in float. */
    private static double[] check(String what, PackedWeights pw, float[] bias, float[] x, int xo, float[] y, int yo) {
        return A8Reference.check(what, pw, bias, x, xo, y, yo, (o, k) -> pw.q[o * pw.in() + k], pw.offsets != null);
    }
}
