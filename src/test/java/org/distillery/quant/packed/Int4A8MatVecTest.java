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
 * {@link Int4A8MatVec} (through {@link QuantizedLinear#withInt8Activations()}) against two references in double:
 * <ol>
 *   <li>the same W4A8 formula computed naively (natural column order, integer sums in {@code long}, x quantized
 *   here independently; for the symmetric formats the codes minus 8 in the integer sums, for INT4_ASYM the zero
 *   correction in float): the integer part is exact, so only fp32 rounding separates them, bounded by
 *   {@code (2 groups + 24) * 2^-24 * (sum_g |s_g sx_g| sum_k c'_k |qx_k| + sum_g |offset_g sum_k x_k|)} plus
 *   {@code sum_g |offset_g| (group + 8) 2^-24 sum_k |x_k|} for the float sums of x;</li>
 *   <li>the exact product on the dequantized weight: the activation rounding may add at most
 *   {@code sum_g |s_g| sx_g / 2 * sum_k |c'_k - z|} (z = 8 symmetric, 0 asymmetric; each |x - sx qx| &lt;= sx / 2)
 *   on top of that.</li>
 * </ol>
 * Shapes cover both group cases of the kernel (whole chunks, a half or a quarter of a chunk), groups of many
 * chunks, row counts that are not multiples of the kernel's eight rows per step (the layout's rows past the last
 * repeat it), every layout of the codes (one, two, four or eight streams), a group of zeros, and the largest 16-bit
 * lane sum the kernel allows.
 */
class Int4A8MatVecTest {
    private static final PackedFormat[] FORMATS = {PackedFormat.INT4, PackedFormat.INT4_ASYM, PackedFormat.Q4_0};
    /** The layouts' stream counts ({@link Int4A8MatVec#layout}). */
    private static final int[] STREAMS = {1, 2, 4, 8};

    @Test
    void matchesTheW4A8FormulaAndStaysWithinTheActivationRoundingBound() {
        int c = Int4A8MatVec.C;
        int[][] shapes = {{7, 4 * c, c / 2}, {5, 2 * c, c}, {13, 4 * c, 2 * c}, {9, 32 * c, 16 * c}, {4, 24 * c, 12 * c},
                {1, 3 * c, c}, {6, 2 * c, 2 * c}, {3, 2 * c, c / 4}, {21, 2 * c, c}, {19, 2 * c, c / 2}};
        Random rnd = new Random(5);
        int cases = 0;
        double worstA = 0, worstB = 0;
        for (PackedFormat f : FORMATS) {
            for (int[] s : shapes) {
                int out = s[0], in = s[1], g = f == PackedFormat.Q4_0 ? 32 : s[2];
                PackedWeights pw = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, out * in, 0.05), out, in, f, g);
                if (!QuantizedLinear.supportsInt8Activations(pw)) continue;
                float[] bias = rnd.nextBoolean() ? QuantizedLinearTest.gaussian(rnd, out, 0.1) : null;
                for (int streams : STREAMS) {                                // every layout of the codes
                    QuantizedLinear lin = new QuantizedLinear(pw, bias).withInt8Activations(streams);
                    assertTrue(lin.int8Activations());
                    for (int n : new int[] {1, 3}) {
                        float[] x = QuantizedLinearTest.gaussian(rnd, n * in, 1.0);
                        x[rnd.nextInt(x.length)] = 9f;                       // an outlier
                        if (in / g > 1) java.util.Arrays.fill(x, 0, g, 0f);  // row 0: a group of zeros (sx = 0)
                        float[] y = new float[n * out];
                        lin.forward(x, n, y);
                        for (int r = 0; r < n; r++) {
                            double[] e = check(f + " [" + out + ", " + in + "] g" + g + ", " + streams
                                    + " streams, row " + r, pw, bias, x, r * in, y, r * out);
                            worstA = Math.max(worstA, e[0]);
                            worstB = Math.max(worstB, e[1]);
                        }
                        cases++;
                    }
                }
            }
        }
        System.out.printf("W4A8 kernel (%d-column steps): %d cases; worst error / fp32 bound %.3f, worst error / "
                + "activation-rounding bound %.3f%n", c, cases, worstA, worstB);
        assertTrue(cases >= 160, "W4A8 cases run: " + cases);
    }

    @Test
    void theLargestLaneSumStaysExact() {
        // INT4_ASYM with every nibble 15 but one per group, and every qx 127, over a group of 16 chunks: most 16-bit
        // lanes sum 4 planes * 15 * 127 = 7,620 per chunk, the pair widening adds two of them, and every product on
        // the way wraps modulo 2^16 (the plane multipliers reach 127 - 16 * 127); INT4 of a constant weight (nibble
        // 15, code 7 + 8) gives the symmetric formats' largest sum, 4 * 7 * 127
        assertEquals(7_620, Int4A8MatVec.MAX_LANE_SUM);
        assertTrue(2 * Int4A8MatVec.MAX_LANE_SUM < Short.MAX_VALUE);
        int out = 5, in = 16 * Int4A8MatVec.C, g = in;
        for (PackedFormat f : new PackedFormat[] {PackedFormat.INT4_ASYM, PackedFormat.INT4}) {
            float[] w = new float[out * in];
            java.util.Arrays.fill(w, 0.25f);
            if (f == PackedFormat.INT4_ASYM) for (int o = 0; o < out; o++) w[o * in + 3 * o] = -0.5f;  // nibble 0
            PackedWeights pw = PackedWeights.quantize(w, out, in, f, g);
            assertEquals(15, PackedKernels.nibble(pw.q, 0, 5, false), f.id());
            float[] x = new float[in], y = new float[out];
            java.util.Arrays.fill(x, 2f);
            new QuantizedLinear(pw, null).withInt8Activations().forward(x, 1, y);
            double[] wd = pw.dequantize();
            for (int o = 0; o < out; o++) {
                double expected = 0;
                for (int k = 0; k < in; k++) expected += wd[o * in + k] * 2.0;
                assertEquals(expected, y[o], 1e-6 * Math.abs(expected) + 1e-5, f.id() + " row " + o);
            }
        }
    }

    @Test
    void quantizesEachGroupToInt8InChunkOrder() {
        int in = 4 * Int4A8MatVec.C, g = Int4A8MatVec.C;
        Random rnd = new Random(2);
        float[] x = QuantizedLinearTest.gaussian(rnd, in, 3);
        // group 0 has max |x| 127 (sx = 1, x / sx = x): ties and near-ties of the rounding, both signs
        float[] edges = {127f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 0.5f, -0.5f, -0.50000006f, 126.5f, -126.5f,
                1.4999999f, -1.5000001f, 0f, -0f};
        System.arraycopy(edges, 0, x, 0, edges.length);
        for (int k = edges.length; k < g; k++) x[k] = Math.max(-126f, Math.min(126f, x[k]));
        Arrays.fill(x, 2 * g, 3 * g, 0f);                                   // group 2: all zeros (sx = 0)
        for (PackedFormat f : FORMATS) {
            for (int[] order : new int[][] {Int4A8MatVec.order(f, g), Int4A8MatVec.order(f, 32)}) {  // planes, bytes
                short[] qx = new short[Int4A8MatVec.qxLength(in)];
                float[] sx = new float[in / g], xsum = new float[in / g];
                int zero = Int4A8MatVec.zero(f);
                Int4A8MatVec.quantize(x, 0, in, g, order, zero, new int[in], qx, sx, xsum);
                assertEquals(1f, sx[0]);
                assertEquals(0f, sx[2]);
                short[] natural = naturalOrder(planes(qx, zero), order);
                short[] expected = new short[in];
                for (int k = 0; k < in; k++) {
                    double m = 0;
                    for (int j = k / g * g; j < (k / g + 1) * g; j++) m = Math.max(m, Math.abs(x[j]));
                    expected[k] = (short) Math.round(x[k] / (float) (m / 127));
                    assertTrue(Math.abs(expected[k]) <= 127);
                }
                assertArrayEquals(expected, natural, f.id());
                assertArrayEquals(new short[] {127, 3, -2, 0, 0, 1, 0, -1, 127, -126, 1, -2, 0, 0},
                        Arrays.copyOf(natural, edges.length), f.id() + ": half up, as Math.round");
            }
        }
        // the order matches the code layout: bits 4k..4k+3 of 16-bit lane i of a row's chunk are the nibble of column
        // order[k NS + i] (the identity for groups of whole chunks), a permutation of the chunk that keeps each lane
        // within one group; a row's chunk c lies at position(row, c), in blocks of 8 / streams rows interleaved chunk
        // by chunk, rows padded to a whole step of eight with copies of the last
        int ns = Int4A8MatVec.NS, c = Int4A8MatVec.C;
        for (PackedFormat f : FORMATS) {
            for (int group : f == PackedFormat.Q4_0 ? new int[] {32} : new int[] {c, 2 * c, c / 2, c / 4}) {
                int[] order = Int4A8MatVec.order(f, group);
                assertEquals(group % c == 0, order == null, f + " g" + group);
                int rows = 11, cols = 2 * c;
                float[] w = QuantizedLinearTest.gaussian(rnd, rows * cols, 1);
                PackedWeights pw = PackedWeights.quantize(w, rows, cols, f, group);
                boolean blocked = f == PackedFormat.Q4_0;
                for (int streams : STREAMS) {
                    short[] codes = Int4A8MatVec.layout(pw, streams);
                    assertEquals(16 * cols / 4, codes.length, "two steps of eight rows");
                    boolean[] filled = new boolean[codes.length];
                    for (int r = 0; r < 16; r++) {
                        for (int c0 = 0; c0 < cols; c0 += c) {
                            boolean[] seen = new boolean[c];
                            int at = Int4A8MatVec.position(r, c0 / c, cols, 8 / streams);
                            for (int i = 0; i < ns; i++) {
                                assertFalse(filled[at + i], "position taken twice: row " + r + " chunk " + c0 / c);
                                filled[at + i] = true;
                                int lane = codes[at + i] & 0xFFFF;
                                for (int k = 0; k < 4; k++) {
                                    int col = order == null ? k * ns + i : order[k * ns + i];
                                    assertFalse(seen[col], f + " g" + group + " column " + col);
                                    seen[col] = true;
                                    if (order != null) assertEquals(order[i] / group, col / group, "lane " + i);
                                    int src = Math.min(r, rows - 1) * pw.rowBytes();      // padding repeats row 10
                                    assertEquals(PackedKernels.nibble(pw.q, src, c0 + col, blocked), lane >>> 4 * k & 15,
                                            f + " g" + group + ", " + streams + " streams, row " + r + " plane " + k);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void readsEachStepsEightRowsFromTheChosenNumberOfStreams() {
        int ns = Int4A8MatVec.NS, in = 3 * Int4A8MatVec.C, row = in / 4;
        // positions, by hand: eight streams is the row-major [rows, in / 4]; one stream interleaves blocks of eight
        // rows chunk by chunk (row 3's chunk 1 after the block's chunk 0 and row 0-2's chunk 1)
        assertEquals(5 * row + 2 * ns, Int4A8MatVec.position(5, 2, in, 1));
        assertEquals((8 + 3) * ns, Int4A8MatVec.position(3, 1, in, 8));
        assertEquals(8 * row + (2 * 8 + 1) * ns, Int4A8MatVec.position(9, 2, in, 8));
        assertEquals(6 * row + (1 * 2 + 1) * ns, Int4A8MatVec.position(7, 1, in, 2));
        // rows: step b of eight streams reads b, b + stride, ..., b + 7 stride; of one stream 8b to 8b + 7; of two,
        // 4b to 4b + 3 and the same in the second half; over all steps every row of the padded matrix once
        int stride = Int4A8MatVec.steps(21);
        assertEquals(3, stride);
        assertEquals(1 + 5 * stride, Int4A8MatVec.row(1, 5, stride, 1));
        assertEquals(8 + 5, Int4A8MatVec.row(1, 5, stride, 8));
        assertEquals(4 * stride + 4 + 1, Int4A8MatVec.row(1, 5, stride, 4));
        for (int streams : STREAMS) {
            int per = 8 / streams;
            boolean[] seen = new boolean[8 * stride];
            for (int b = 0; b < stride; b++) {
                java.util.Set<Integer> blocks = new java.util.HashSet<>();
                for (int k = 0; k < 8; k++) {
                    int r = Int4A8MatVec.row(b, k, stride, per);
                    assertFalse(seen[r], streams + " streams: row " + r + " twice");
                    seen[r] = true;
                    blocks.add(Int4A8MatVec.position(r, 0, in, per) / (per * row));  // the block of per rows it is in
                    if (k % per > 0) {                                          // next to row k - 1 in its chunk
                        assertEquals(Int4A8MatVec.position(Int4A8MatVec.row(b, k - 1, stride, per), 0, in, per) + ns,
                                Int4A8MatVec.position(r, 0, in, per));
                    }
                }
                assertEquals(streams, blocks.size(), streams + " streams, step " + b + ": blocks read");
            }
            for (int r = 0; r < seen.length; r++) assertTrue(seen[r], streams + " streams: row " + r + " never read");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Int4A8MatVec.perStream(3));
        assertEquals("streams = 3: accepted 1, 2, 4 or 8", e.getMessage());
        // 0 is QuantizedLinear's "float activations": a layer asked for 0 streams is refused, not made float
        PackedWeights pw = PackedWeights.quantize(QuantizedLinearTest.gaussian(new Random(4), 8 * in, 1), 8, in,
                PackedFormat.INT4, Int4A8MatVec.C);
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> new QuantizedLinear(pw, null).withInt8Activations(0));
        assertEquals("streams = 0: accepted 1, 2, 4 or 8", zero.getMessage());
    }

    @Test
    void refusesWeightsItCannotMultiply() {
        Random rnd = new Random(1);
        int c = Int4A8MatVec.C;
        PackedWeights oddGroup = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 4 * 3 * c, 1), 4, 3 * c,
                PackedFormat.INT4, 3 * c / 4);
        PackedWeights oddRow = PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 4 * (c + 32), 1), 4, c + 32,
                PackedFormat.INT4, 32);
        for (PackedWeights pw : new PackedWeights[] {oddGroup, oddRow}) {
            assertFalse(QuantizedLinear.supportsInt8Activations(pw), pw.toString());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new QuantizedLinear(pw, null).withInt8Activations());
            assertEquals("int8 activations: need a 4-bit format (INT4, INT4_ASYM, Q4_0) with the group a multiple of "
                    + c + " columns or " + c / 2 + " or " + c / 4 + ", and in a multiple of " + c + ", or "
                    + Int8A8MatVec.REQUIREMENT + "; got " + pw, e.getMessage());
        }
    }

    /**
     * The planes' qx in chunk order ([in]) from the kernel's multipliers: per chunk m_0 = q_0 and m_k = q_k - 16
     * q_(k-1) (so q_k = m_k + 16 q_(k-1)), then the zero term, checked here to be {@code zero * (q_0 + .. + q_3)}.
     */
    private static short[] planes(short[] qx, int zero) {
        int ns = Int4A8MatVec.NS, c = Int4A8MatVec.C;
        short[] q = new short[qx.length / 5 * 4];
        for (int ch = 0; ch < q.length / c; ch++) {
            for (int i = 0; i < ns; i++) {
                int prev = 0, sum = 0;
                for (int k = 0; k < 4; k++) {
                    prev = qx[ch * 5 * ns + k * ns + i] + 16 * prev;
                    assertTrue(Math.abs(prev) <= 127, "chunk " + ch + " plane " + k + " lane " + i + ": " + prev);
                    q[ch * c + k * ns + i] = (short) prev;
                    sum += prev;
                }
                assertEquals(zero * sum, qx[ch * 5 * ns + 4 * ns + i], "zero term, chunk " + ch + " lane " + i);
            }
        }
        return q;
    }

    /** qx in natural column order, from the kernel's chunk order (null: the identity). */
    private static short[] naturalOrder(short[] qx, int[] order) {
        if (order == null) return qx.clone();
        short[] nat = new short[qx.length];
        for (int c0 = 0; c0 < qx.length; c0 += order.length) {
            for (int i = 0; i < order.length; i++) nat[c0 + order[i]] = qx[c0 + i];
        }
        return nat;
    }

    /**
     * {@link A8Reference#check} for W4A8: the code is the nibble minus 8 for the symmetric formats (their zero term is
     * in the integer sums), the nibble for INT4_ASYM (its zero correction in float).
     */
    private static double[] check(String what, PackedWeights pw, float[] bias, float[] x, int xo, float[] y, int yo) {
        boolean blocked = pw.format() == PackedFormat.Q4_0, symmetric = pw.format().symmetric();
        int z = symmetric ? 8 : 0, rb = pw.rowBytes();
        return A8Reference.check(what, pw, bias, x, xo, y, yo,
                (o, k) -> PackedKernels.nibble(pw.q, o * rb, k, blocked) - z, !symmetric);
    }
}
