package org.distillery.quant.packed;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;

/**
 * The W4A8 matrix-vector product on 4-bit codes (INT4, INT4_ASYM, Q4_0): x is quantized to int8 per weight group
 * (llama.cpp multiplies its 4-bit formats by Q8 activations the same way), and the code-activation products are
 * summed in 16-bit integer lanes, which are exact, before one conversion to float per group:
 * <pre>
 *   sx[g]    = max_k |x_g[k]| / 127,  qx_g[k] = round(x_g[k] / sx[g])   in [-127, 127]
 *   y[o]     = sum_g scale[o, g] * sx[g] * sum_k c'[o, k] * qx_g[k]  -  sum_g offset[o, g] * sum_k x_g[k]
 * </pre>
 * where c' is the stored nibble (0-15) and {@code offset = scale * z'} ({@link PackedWeights#offsets}); the zero
 * correction uses the float x, so only the c' . x part sees the activation rounding. Against the exact product
 * the error is at most {@code sum_g |scale[o, g]| * sx[g] / 2 * sum_k c'[o, k]} (each |x - sx qx| is at most
 * sx / 2), plus fp32 rounding; {@code Int4A8MatVecTest} checks both that bound and the integer sums exactly.
 *
 * <p>Why: the float kernel ({@link PackedKernels#matvec4}) widens every nibble to a float and is bound by that
 * conversion (about 3 GB/s of codes on one core, slower than float32 in cache). Here one 16-bit lane holds a
 * nibble and one multiply-add serves it; a 512-bit vector holds 32 of them.
 *
 * <p>Layout: one step reads {@link #NS} code bytes (a "chunk" of {@code C = 2 NS} columns) of a row and widens
 * them to 16-bit lanes; the low nibbles multiply the first NS entries of the chunk's qx, the high nibbles the
 * next NS. qx is stored in that order ({@link #order}): for INT4 (low nibble = even column) the chunk's even
 * columns then its odd columns; for Q4_0 (block of 32: low nibbles = its first 16 columns) the first halves of
 * the chunk's blocks, then their second halves. Two group sizes run here (see {@link #supports}):
 * <ul>
 *   <li>groups of whole chunks ({@link #rows4}): per slice of a group, 16-bit sums over at most
 *   {@link #MAX_CHUNKS} chunks (|c' qx| &lt;= 1905, two per lane per chunk: 8 chunks stay below 2^15), then widened
 *   in pairs to 32 bits (a 32-bit lane of the 16-bit sums holds two of them: shift left then right by 16 gives the
 *   low one, right by 16 the high one; no lane-crossing conversion) and to float, and scaled;</li>
 *   <li>groups of half a chunk (Q4_0 with 512-bit vectors, INT4 g32): lanes [0, NS/2) of a chunk belong to its
 *   first group and [NS/2, NS) to its second in both the low and the high nibbles; pair widening keeps the two
 *   halves apart, and they are scaled by their own factors ({@link #rows2Half}).</li>
 * </ul>
 * As in {@link PackedKernels}, every method that handles vectors takes and returns none (JDK 17 C2 would box
 * them), four rows (two for half-chunk groups) share each qx load, and lane sums use the fixed
 * order of {@link PackedKernels#sumLanes} (its shuffle tree, written out in each method). Speed, measured by
 * {@link PackedBench} (rows "A8"), is in the README.
 *
 * <p>JDK 17: C2 compiles these methods well unless the 8-bit kernels ({@link PackedKernels#matvec8}: INT8, Q8_0)
 * ran first in the JVM; after them the compiled W4A8 code allocates its vectors and runs 6-7x slower (measured:
 * [768, 3072] 120 us alone or after the 4-bit kernels, 740-810 us after INT8 or Q8_0), as in {@code PackedBench},
 * which times every format in one JVM. JDK 25 shows nothing of the kind.
 * {@code PackedAllocationTest} (run with {@code -Xbatch}) checks that nothing is allocated.
 */
final class Int4A8MatVec {
    private Int4A8MatVec() {}

    static final VectorSpecies<Float> F = PackedKernels.F;
    /** 16-bit lanes of the float vector's width. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** Code bytes per step: one per 16-bit lane. */
    static final int NS = S.length();
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, NS * 8)));
    /** Columns per step. */
    static final int C = 2 * NS;
    /** Chunks summed in 16-bit lanes before they are widened: 8 * 2 * 15 * 127 = 30,480 &lt; 2^15. */
    static final int MAX_CHUNKS = 8;
    private static final short LOW = 0x0F;
    /** Float lanes [LANES / 2, LANES): after pair widening, the 16-bit lanes [NS / 2, NS) of a chunk. */
    private static final VectorMask<Float> SECOND_HALF = VectorMask.fromLong(F, -1L << (F.length() / 2));

    /** What {@link #supports} asks of a weight, for error messages. */
    static final String REQUIREMENT = "a 4-bit format (INT4, INT4_ASYM, Q4_0) with the group a multiple or half of " + C
            + " columns and in a multiple of " + C;

    /**
     * Whether this kernel computes the product of {@code w}: a 4-bit format, vectors of at least 128 bits whose
     * 16-bit lanes are exactly two float vectors, rows of whole chunks, and groups of whole chunks or of half a
     * chunk.
     */
    static boolean supports(PackedWeights w) {
        if (w.format().bits() != 4) return false;
        if (BS.length() != NS || 2 * F.length() != NS || NS < 8) return false;
        int g = w.group();
        if (w.format() == PackedFormat.Q4_0 && C % 32 != 0) return false;
        return w.in() % C == 0 && (g % C == 0 || 2 * g == C);
    }

    /**
     * Position i of a chunk of qx holds column {@code order[i]} of the chunk (i &lt; NS: the low nibbles of the
     * chunk's bytes, i &gt;= NS: the high nibbles).
     */
    static int[] order(PackedFormat format) {
        int[] o = new int[C];
        for (int i = 0; i < C; i++) {
            int j = i % NS;                                      // byte of the chunk
            boolean high = i >= NS;
            o[i] = format == PackedFormat.Q4_0 ? 32 * (j / 16) + (high ? 16 : 0) + j % 16 : 2 * j + (high ? 1 : 0);
        }
        return o;
    }

    /**
     * Quantizes x[xo, xo + in) per group: sx[g] (0 for a group of zeros) and qx[0, in) in chunk order (see
     * {@link #order}); also xsum[g] = sum of the group's x (float, natural order), for the zero correction.
     */
    static void quantize(float[] x, int xo, int in, int group, int[] order, short[] qx, float[] sx, float[] xsum) {
        int groups = in / group;
        for (int g = 0; g < groups; g++) {
            float m = 0;
            for (int k = g * group; k < (g + 1) * group; k++) m = Math.max(m, Math.abs(x[xo + k]));
            sx[g] = m / 127f;
        }
        PackedKernels.groupSums(x, xo, in, group, xsum, 0);
        for (int c0 = 0; c0 < in; c0 += C) {
            for (int i = 0; i < C; i++) {
                int col = c0 + order[i];
                float s = sx[col / group];
                qx[c0 + i] = s == 0f ? 0 : (short) Math.round(x[xo + col] / s);
            }
        }
    }

    /**
     * y[yo + o] = row o of W times x for o in [0, out), x given by {@link #quantize}.
     *
     * @param q       nibbles [out, in / 2]
     * @param scales  [out, groups]
     * @param offsets [out, groups]
     */
    static void matvec(byte[] q, float[] scales, float[] offsets, int out, int in, int group, short[] qx, float[] sx,
                       float[] xsum, float[] y, int yo) {
        int groups = in / group, rb = in / 2;
        boolean half = 2 * group == C;
        int o = 0;
        if (!half) {
            for (; o < out; o += 4) rows4(q, o * rb, rb, Math.min(4, out - o), qx, in, group, scales, o * groups, groups, sx, y, yo + o);
        } else {
            for (; o + 2 <= out; o += 2) rows2Half(q, o * rb, rb, qx, in, scales, o * groups, groups, sx, y, yo + o);
            if (o < out) rows2Half(q, o * rb, -o * rb, qx, in, scales, o * groups, -o * groups, sx, y, yo + o);  // twin: row 0
        }
        for (o = 0; o < out; o++) {
            float c = 0;
            for (int g = 0; g < groups; g++) c += offsets[o * groups + g] * xsum[g];
            y[yo + o] -= c;
        }
    }

    /**
     * y[yo + r] = sum_g scales[s0 + r * groups + g] * sx[g] * (codes of row r, group g) . qx_g for the {@code rows}
     * (1 to 4) rows whose bytes start at q[qo + r * rb], groups of whole chunks. Per slice of a group
     * ({@link #sliceColumns}) 16-bit sums, widened in pairs and scaled into float lane accumulators kept in registers
     * across slices, then summed in {@link PackedKernels#sumLanes}' order. Four rows share each qx load and keep four
     * weight streams in flight (what keeps the memory busy when the weights come from DRAM); with fewer than four
     * rows the missing ones repeat the last real row and are not written. One loop over slices, no vector stores or
     * calls: on JDK 17, vectors carried through nested group and slice loops were allocated, and so were those of a
     * version that stored lane accumulators to an array between leaf calls.
     */
    private static void rows4(byte[] q, int qo, int rb, int rows, short[] qx, int in, int group, float[] scales,
                              int s0, int groups, float[] sx, float[] y, int yo) {
        int last = rows - 1, slice = sliceColumns(group), perGroup = group / slice;
        int q1 = qo + Math.min(1, last) * rb, q2 = qo + Math.min(2, last) * rb, q3 = qo + Math.min(3, last) * rb;
        int s1 = s0 + Math.min(1, last) * groups, s2 = s0 + Math.min(2, last) * groups, s3 = s0 + Math.min(3, last) * groups;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int c0 = 0, g = 0, j = 0; c0 < in; c0 += slice) {
            ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int c = c0; c < c0 + slice; c += C) {
                int b = c / 2;
                ShortVector xl = ShortVector.fromArray(S, qx, c);
                ShortVector xh = ShortVector.fromArray(S, qx, c + NS);
                ShortVector w0 = (ShortVector) ByteVector.fromArray(BS, q, qo + b).convertShape(B2S, S, 0);
                ShortVector w1 = (ShortVector) ByteVector.fromArray(BS, q, q1 + b).convertShape(B2S, S, 0);
                ShortVector w2 = (ShortVector) ByteVector.fromArray(BS, q, q2 + b).convertShape(B2S, S, 0);
                ShortVector w3 = (ShortVector) ByteVector.fromArray(BS, q, q3 + b).convertShape(B2S, S, 0);
                a0 = a0.add(w0.and(LOW).mul(xl)).add(w0.lanewise(ASHR, 4).and(LOW).mul(xh));
                a1 = a1.add(w1.and(LOW).mul(xl)).add(w1.lanewise(ASHR, 4).and(LOW).mul(xh));
                a2 = a2.add(w2.and(LOW).mul(xl)).add(w2.lanewise(ASHR, 4).and(LOW).mul(xh));
                a3 = a3.add(w3.and(LOW).mul(xl)).add(w3.lanewise(ASHR, 4).and(LOW).mul(xh));
            }
            float f = sx[g];
            IntVector i0 = (IntVector) a0.reinterpretAsInts(), i1 = (IntVector) a1.reinterpretAsInts();
            IntVector i2 = (IntVector) a2.reinterpretAsInts(), i3 = (IntVector) a3.reinterpretAsInts();
            t0 = ((FloatVector) i0.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i0.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s0 + g] * f), t0);
            t1 = ((FloatVector) i1.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i1.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s1 + g] * f), t1);
            t2 = ((FloatVector) i2.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i2.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s2 + g] * f), t2);
            t3 = ((FloatVector) i3.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i3.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s3 + g] * f), t3);
            if (++j == perGroup) {
                j = 0;
                g++;
            }
        }
        for (int k = 0; k < PackedKernels.TREE.length; k++) {
            t0 = t0.add(t0.rearrange(PackedKernels.TREE[k]));
            t1 = t1.add(t1.rearrange(PackedKernels.TREE[k]));
            t2 = t2.add(t2.rearrange(PackedKernels.TREE[k]));
            t3 = t3.add(t3.rearrange(PackedKernels.TREE[k]));
        }
        y[yo] = t0.lane(0);
        if (rows > 1) y[yo + 1] = t1.lane(0);
        if (rows > 2) y[yo + 2] = t2.lane(0);
        if (rows > 3) y[yo + 3] = t3.lane(0);
    }

    /**
     * Columns summed in 16-bit lanes at a time for groups of whole chunks: the group itself, or for groups longer
     * than {@link #MAX_CHUNKS} chunks the largest whole number of chunks, at most MAX_CHUNKS, that divides it.
     */
    static int sliceColumns(int group) {
        int chunks = group / C;
        for (int d = Math.min(MAX_CHUNKS, chunks); d > 1; d--) if (chunks % d == 0) return d * C;
        return C;
    }

    /**
     * y[yo] and y[yo + 1] for groups of half a chunk, two rows (bytes at q[qo] and q[qo + dq], scales from s0 and
     * s0 + ds; for a single last row the caller points the second at row 0 with a negative dq, and y[yo + 1] is
     * not written). Each chunk holds groups g (lanes [0, NS/2)) and g + 1 (lanes [NS/2, NS)), in its low and its
     * high nibbles alike; pair widening keeps the halves apart (float lanes [0, LANES/2) and [LANES/2, LANES)),
     * which are scaled by their own group's factor, and the rest is as in {@link #rows4}.
     */
    private static void rows2Half(byte[] q, int qo, int dq, short[] qx, int in, float[] scales, int s0, int ds,
                                  float[] sx, float[] y, int yo) {
        int q1 = qo + dq;
        FloatVector t0 = FloatVector.zero(F), t1 = t0;
        for (int c = 0, g = 0; c < in; c += C, g += 2) {
            int b = c / 2;
            float fa = sx[g], fb = sx[g + 1];
            ShortVector xl = ShortVector.fromArray(S, qx, c);
            ShortVector xh = ShortVector.fromArray(S, qx, c + NS);
            ShortVector w0 = (ShortVector) ByteVector.fromArray(BS, q, qo + b).convertShape(B2S, S, 0);
            ShortVector w1 = (ShortVector) ByteVector.fromArray(BS, q, q1 + b).convertShape(B2S, S, 0);
            IntVector i0 = (IntVector) w0.and(LOW).mul(xl).add(w0.lanewise(ASHR, 4).and(LOW).mul(xh)).reinterpretAsInts();
            IntVector i1 = (IntVector) w1.and(LOW).mul(xl).add(w1.lanewise(ASHR, 4).and(LOW).mul(xh)).reinterpretAsInts();
            t0 = ((FloatVector) i0.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i0.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s0 + g] * fa).blend(scales[s0 + g + 1] * fb, SECOND_HALF), t0);
            t1 = ((FloatVector) i1.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i1.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s0 + ds + g] * fa).blend(scales[s0 + ds + g + 1] * fb, SECOND_HALF), t1);
        }
        for (int k = 0; k < PackedKernels.TREE.length; k++) {
            t0 = t0.add(t0.rearrange(PackedKernels.TREE[k]));
            t1 = t1.add(t1.rearrange(PackedKernels.TREE[k]));
        }
        y[yo] = t0.lane(0);
        if (dq > 0) y[yo + 1] = t1.lane(0);
    }
}
