package org.distillery.quant.packed;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * The W4A8 matrix-vector product on 4-bit codes (INT4, INT4_ASYM, Q4_0): x is quantized to int8 per weight group
 * (llama.cpp multiplies its 4-bit formats by Q8 activations the same way), and the code-activation products are
 * summed in 16-bit integer lanes, which are exact, before one conversion to float per group:
 * <pre>
 *   sx[g]    = max_k |x_g[k]| / 127,  qx_g[k] = round(x_g[k] / sx[g])   in [-127, 127]
 *   y[o]     = sum_g scale[o, g] * sx[g] * sum_k c'[o, k] * qx_g[k]  -  sum_g offset[o, g] * sum_k x_g[k]   (INT4_ASYM)
 * </pre>
 * where c' is the stored nibble (0-15) and {@code offset = scale * z'} ({@link PackedWeights#offsets}). For the
 * symmetric formats (INT4, Q4_0: z' = 8 for every group) the zero term joins the integer sums, as llama.cpp's
 * q4_0 x q8_0 product does: {@code y[o] = sum_g scale[o, g] * sx[g] * sum_k (c'[o, k] - 8) * qx_g[k]}. For
 * INT4_ASYM (a zero-point per row and group) it stays in float on the float x. Against the exact product the error
 * is at most {@code sum_g |scale[o, g]| * sx[g] / 2 * sum_k |c'[o, k] - z|} (z = 8 symmetric, 0 asymmetric; each
 * |x - sx qx| is at most sx / 2), plus fp32 rounding; {@code Int4A8MatVecTest} checks both that bound and the
 * integer sums exactly.
 *
 * <p>Why: the float kernel ({@link PackedKernels#matvec4}) widens every nibble to a float and is bound by that
 * conversion (about 3 GB/s of codes on one core, slower than float32 in cache). Here one 16-bit lane holds a
 * nibble and one multiply-add serves it; a 512-bit vector holds 32 of them.
 *
 * <p>Layout, "nibble planes": one step (a "chunk" of {@link #C} = 4 {@link #NS} columns) loads NS 16-bit lanes of
 * a row's codes, each holding four nibbles (code bytes 2i and 2i + 1 of the chunk, little-endian). Plane k (bits 4k
 * to 4k + 3, taken with a shift and a mask) multiplies entries [k NS, (k + 1) NS) of the chunk's qx; qx is stored
 * in that order ({@link #order}): plane k, lane i holds the column of byte 2i + k / 2, nibble k % 2 (for INT4
 * column 4i + k; for Q4_0, whose block of 32 columns has its first 16 in the low nibbles, the column of that nibble
 * in its block). The codes are read from a copy in the kernel's own layout ({@link #layout}): 16-bit lanes, and the
 * four rows of a block interleaved chunk by chunk, so that a block is one sequential stream. Nothing is converted
 * between lane sizes before the sums, and a chunk's 16-bit sums stay far from overflow ({@link #MAX_LANE_SUM}).
 * Per chunk they are widened in pairs to 32 bits (a 32-bit lane of the 16-bit sums holds two of them: shift left
 * then right by 16 gives the low one, right by 16 the high one; no lane-crossing conversion), converted to float
 * and scaled. Two group cases run here (see {@link #supports}):
 * <ul>
 *   <li>groups of whole chunks ({@link #rows4}): one factor per chunk;</li>
 *   <li>groups of a half or a quarter of a chunk (INT4 g64 and g32, Q4_0, with 512-bit vectors;
 *   {@link #rows4Parts}): lane i of every plane covers the chunk's columns [4i, 4i + 4) (Q4_0: block i / 8), so
 *   each group owns a contiguous run of lanes, and after pair widening a contiguous run of float lanes, which is
 *   scaled by its own group's factor (the block's scales for a chunk are one vector in {@link #partScales}).</li>
 * </ul>
 * As in {@link PackedKernels}, every method that handles vectors takes and returns none (JDK 17 C2 would box
 * them), four rows share each qx load, and lane sums use the fixed order of {@link PackedKernels#sumLanes} (its
 * shuffle tree, written out in each method). Speed, measured by {@link PackedBench} (rows "A8"), is in the README.
 * {@code PackedAllocationTest} (run with {@code -Xbatch}) checks that nothing is allocated.
 *
 * <p>What C2 makes of these methods depends on what ran before their first execution, measured on [768, 3072]
 * INT4 g128 (the product without x's quantization):
 * <ul>
 *   <li>JDK 17: 80-88 us when the kernel first ran before any other vector code; 300-1,700 us, and allocating, when
 *   our float32 matrix-vector product, the 8-bit kernels or the float-nibble kernels ran first (the order of the
 *   first executions matters, not how many calls follow: flags on type profiles, inlining and node limits did not
 *   change it). {@code PackedBench --a8-first} measures both.</li>
 *   <li>JDK 25: 77-84 us in either order, and nothing allocated after every other kernel ran first
 *   ({@code PackedAllocationTest}); earlier versions of {@link #rows4Parts}, with scale vectors blended from
 *   broadcasts or gathered, did allocate there.</li>
 * </ul>
 */
final class Int4A8MatVec {
    private Int4A8MatVec() {}

    static final VectorSpecies<Float> F = PackedKernels.F;
    /** 16-bit lanes of the float vector's width. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** 16-bit lanes per step: each holds four nibbles. */
    static final int NS = S.length();
    /** Columns per step: four nibble planes of NS lanes. */
    static final int C = 4 * NS;
    /**
     * The largest magnitude a 16-bit lane reaches within a chunk: four planes of |c' qx| &lt;= 15 * 127, and the
     * symmetric formats' zero term |8 * 4 qx| &lt;= 4,064 (widened in pairs: twice this, below 2^15).
     */
    static final int MAX_LANE_SUM = 4 * 15 * 127 + 8 * 4 * 127;
    private static final short LOW = 0x0F;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer (see {@link #quantize}). */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /**
     * For groups of 1/parts of a chunk (parts 2 or 4; after pair widening, a group's lanes are a contiguous run):
     * {@code PART[parts]} moves entry i / (LANES / parts) to lane i (sx[g ..] to the lanes of its group), and
     * {@code ROW[parts][r]} moves entry (i / (LANES / parts)) * 4 + r to lane i (row r's scales from a chunk's
     * entries of {@link #partScales}). Indexed by parts; null where unused.
     */
    private static final VectorShuffle<Float>[] PART = partShuffles();
    private static final VectorShuffle<Float>[][] ROW = rowShuffles();

    /** What {@link #supports} asks of a weight, for error messages. */
    static final String REQUIREMENT = "a 4-bit format (INT4, INT4_ASYM, Q4_0) with the group a multiple of " + C
            + " columns or " + C / 2 + " or " + C / 4 + ", and in a multiple of " + C;

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] partShuffles() {
        VectorShuffle<Float>[] p = new VectorShuffle[5];
        for (int parts : new int[] {2, 4}) {
            int[] idx = new int[F.length()];
            for (int i = 0; i < idx.length; i++) idx[i] = i / Math.max(1, idx.length / parts);
            p[parts] = VectorShuffle.fromArray(F, idx, 0);
        }
        return p;
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[][] rowShuffles() {
        VectorShuffle<Float>[][] rs = new VectorShuffle[5][];
        for (int parts : new int[] {2, 4}) {
            rs[parts] = new VectorShuffle[4];
            for (int r = 0; r < 4; r++) {
                int[] idx = new int[F.length()];
                for (int i = 0; i < idx.length; i++) {       // clamped: where it would not fit, supports() refuses
                    idx[i] = Math.min(idx.length - 1, i / Math.max(1, idx.length / parts) * 4 + r);
                }
                rs[parts][r] = VectorShuffle.fromArray(F, idx, 0);
            }
        }
        return rs;
    }

    /**
     * Whether this kernel computes the product of {@code w}: a 4-bit format, vectors whose float lanes split in
     * quarters (NS is always twice the float lanes: same vector shape), rows of whole chunks, and groups of whole chunks or of a half or a quarter of one.
     */
    static boolean supports(PackedWeights w) {
        if (w.format().bits() != 4) return false;
        if (F.length() % 4 != 0) return false;
        int g = w.group();
        if (w.format() == PackedFormat.Q4_0 && C % 32 != 0) return false;
        if (w.in() % C != 0) return false;
        if (g % C == 0) return true;
        return (2 * g == C || 4 * g == C) && 4 * (C / g) <= F.length();   // rows4Parts: a chunk's scales in one vector
    }

    /**
     * Position {@code k NS + i} of a chunk of qx holds column {@code order[k NS + i]} of the chunk: the column of
     * nibble k % 2 (0 low, 1 high) of byte 2i + k / 2.
     */
    static int[] order(PackedFormat format) {
        int[] o = new int[C];
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < NS; i++) {
                int j = 2 * i + k / 2, high = k % 2;              // byte of the chunk, nibble
                o[k * NS + i] = format == PackedFormat.Q4_0 ? 32 * (j / 16) + 16 * high + j % 16 : 2 * j + high;
            }
        }
        return o;
    }

    /**
     * Quantizes x[xo, xo + in) per group: sx[g] (0 for a group of zeros) and qx[0, in) in chunk order (see
     * {@link #order}); also xsum[g] = sum of the group's x (float, lane sums in {@link PackedKernels#sumLanes}'
     * order), for the zero correction. One flat loop per pass: on JDK 25, vectors carried through a loop nested in
     * the group loop (as in {@link PackedKernels#groupSums}) were allocated here. The rounding is
     * {@link Math#round(float)}'s (half up), computed exactly on whole vectors without conversion instructions (JDK
     * 17 ran its float-to-int vector conversion slower than a scalar loop): for |v| &lt; 2^22, {@code v + 1.5 * 2^23}
     * rounds v to the nearest integer, ties to even, and its bits minus those of 1.5 * 2^23 are that integer n;
     * d = v - n is exact, and Math.round differs from n only at d = 1/2 (add 1: read from the sign bit of d - 1/2,
     * which is +0 there and negative below). |x / sx| &lt;= 127 here. Groups are whole vectors ({@link #supports});
     * qi [in] is scratch (the rounded values in natural order).
     */
    static void quantize(float[] x, int xo, int in, int group, int[] order, int[] qi, short[] qx, float[] sx,
                         float[] xsum) {
        int lanes = F.length(), perGroup = group / lanes;
        FloatVector m = FloatVector.zero(F), a = m;
        for (int k = 0, g = 0, j = 0; k < in; k += lanes) {        // one flat loop: no vector carried through two
            FloatVector v = FloatVector.fromArray(F, x, xo + k);
            m = m.max(v.abs());
            a = a.add(v);
            if (++j == perGroup) {                               // lane max and sum in sumLanes' order
                for (int t = 0; t < PackedKernels.TREE.length; t++) {
                    m = m.max(m.rearrange(PackedKernels.TREE[t]));
                    a = a.add(a.rearrange(PackedKernels.TREE[t]));
                }
                sx[g] = m.lane(0) / 127f;
                xsum[g++] = a.lane(0);
                m = FloatVector.zero(F);
                a = m;
                j = 0;
            }
        }
        for (int k = 0, j = 0, g = 0; k < in; k += lanes) {
            float s = sx[g];
            FloatVector v = FloatVector.fromArray(F, x, xo + k).div(s == 0f ? 1f : s);   // a group of zeros: 0
            FloatVector r = v.add(ROUNDER);                     // rint(v) + 1.5 * 2^23, exactly
            FloatVector d = v.sub(r.sub(ROUNDER));               // v - rint(v), in [-1/2, 1/2], exact
            IntVector tie = (IntVector) d.sub(0.5f).reinterpretAsInts();
            ((IntVector) r.reinterpretAsInts()).sub(ROUNDER_BITS - 1).add(tie.lanewise(ASHR, 31)).intoArray(qi, k);
            if (++j == perGroup) {
                j = 0;
                g++;
            }
        }
        for (int c0 = 0; c0 < in; c0 += C) {
            for (int i = 0; i < C; i++) qx[c0 + i] = (short) qi[c0 + order[i]];
        }
    }

    /**
     * The codes of {@code w} in this kernel's layout, [ceil(out / 4), in / C, 4, NS] shorts: per block of four rows
     * and per chunk, the chunk's 2 NS code bytes of each of the four rows in turn, two bytes per 16-bit lane
     * (little-endian: byte 2i in bits 0-7). A block's weights are one sequential stream, which the memory keeps up
     * with better than four row streams (measured out of cache: 155 against 240 us for [768, 3072] int4 g128). Rows
     * past {@code out} in the last block repeat its last row. The copy costs the codes' size again (half a byte per
     * weight) next to the {@link PackedWeights} the batched products read.
     */
    static short[] layout(PackedWeights w) {
        int out = w.out(), in = w.in(), rb = in / 2, chunks = in / C, blocks = (out + 3) / 4;
        short[] codes = new short[blocks * chunks * 4 * NS];
        for (int blk = 0, p = 0; blk < blocks; blk++) {
            for (int c = 0; c < chunks; c++) {
                for (int r = 0; r < 4; r++) {
                    int row = Math.min(4 * blk + r, out - 1), from = row * rb + c * 2 * NS;
                    for (int i = 0; i < NS; i++, p++) {
                        codes[p] = (short) ((w.q[from + 2 * i] & 0xFF) | (w.q[from + 2 * i + 1] << 8));
                    }
                }
            }
        }
        return codes;
    }

    /**
     * For groups of 1/parts of a chunk ({@link #rows4Parts}): the scales in the kernel's order, per block of four
     * rows and per chunk the 4 parts entries {@code scale[row 4 blk + r, group parts c + p]} at p * 4 + r (rows past
     * {@code out} repeat the last row), followed by LANES floats of padding so that the last chunk's entries load as
     * one vector. Null for groups of whole chunks.
     */
    static float[] partScales(PackedWeights w) {
        if (w.group() % C == 0) return null;
        int out = w.out(), parts = C / w.group(), chunks = w.in() / C, blocks = (out + 3) / 4, groups = w.groups();
        float[] s = new float[blocks * chunks * 4 * parts + F.length()];
        for (int blk = 0, i = 0; blk < blocks; blk++) {
            for (int c = 0; c < chunks; c++) {
                for (int p = 0; p < parts; p++) {
                    for (int r = 0; r < 4; r++, i++) {
                        s[i] = w.scales[Math.min(4 * blk + r, out - 1) * groups + c * parts + p];
                    }
                }
            }
        }
        return s;
    }

    /**
     * y[yo + o] = row o of W times x for o in [0, out), x given by {@link #quantize}.
     *
     * @param codes      the codes in this kernel's layout ({@link #layout})
     * @param format     INT4, INT4_ASYM or Q4_0: the symmetric ones subtract their zero-point 8 in the integer sums
     * @param scales     [out, groups]
     * @param partScales for groups below a chunk, the scales in this kernel's layout ({@link #partScales}); else unused
     * @param offsets    [out, groups], used by INT4_ASYM only
     * @param sx         [groups + LANES]: the activations' scales, then room for one vector load past the last group
     */
    static void matvec(short[] codes, PackedFormat format, float[] scales, float[] partScales, float[] offsets, int out,
                       int in, int group, short[] qx, float[] sx, float[] xsum, float[] y, int yo) {
        int groups = in / group, block = in / C * 4 * NS;
        short zero = (short) (format.symmetric() ? 8 : 0);
        for (int o = 0; o < out; o += 4) {
            int rows = Math.min(4, out - o);
            if (group % C == 0) {
                rows4(codes, o / 4 * block, rows, qx, in, group, zero, scales, o * groups, groups, sx, y, yo + o);
            } else {
                int parts = C / group;
                int ps0 = o / 4 * (in / C) * 4 * parts;              // this block's first entry of partScales
                rows4Parts(codes, o / 4 * block, rows, qx, in, parts, zero, partScales, ps0, sx, y, yo + o);
            }
        }
        if (zero != 0) return;
        for (int o = 0; o < out; o++) {                                   // INT4_ASYM: the zero correction in float
            float c = 0;
            for (int g = 0; g < groups; g++) c += offsets[o * groups + g] * xsum[g];
            y[yo + o] -= c;
        }
    }

    /**
     * y[yo + r] = sum_g scales[s0 + r * groups + g] * sx[g] * (codes of row r, group g minus {@code zero}) . qx_g for
     * the {@code rows} (1 to 4) rows of the block whose codes start at codes[p0] ({@link #layout}), groups of whole
     * chunks. The zero term is one 16-bit vector per chunk, {@code zero * (sum of the four planes' qx)}, shared by the
     * rows. Per
     * chunk, the 16-bit sums of the four planes are widened in pairs and scaled into float lane accumulators kept in
     * registers, then summed in {@link PackedKernels#sumLanes}' order. Four rows share each qx load; past the last
     * real row the block's rows repeat it and are not written. One loop, no vector stores or calls: on JDK 17,
     * vectors carried through nested loops were allocated, and so were those of a version that stored lane
     * accumulators to an array between leaf calls.
     */
    private static void rows4(short[] codes, int p0, int rows, short[] qx, int in, int group, short zero,
                              float[] scales, int s0, int groups, float[] sx, float[] y, int yo) {
        int last = rows - 1, perGroup = group / C;
        int s1 = s0 + Math.min(1, last) * groups, s2 = s0 + Math.min(2, last) * groups, s3 = s0 + Math.min(3, last) * groups;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int c = 0, g = 0, j = 0, p = p0; c < in; c += C, p += 4 * NS) {
            ShortVector x0 = ShortVector.fromArray(S, qx, c), x1 = ShortVector.fromArray(S, qx, c + NS);
            ShortVector x2 = ShortVector.fromArray(S, qx, c + 2 * NS), x3 = ShortVector.fromArray(S, qx, c + 3 * NS);
            ShortVector z = x0.add(x1).add(x2).add(x3).mul(zero);           // zero * (qx . planes of ones)
            ShortVector w0 = ShortVector.fromArray(S, codes, p);
            ShortVector w1 = ShortVector.fromArray(S, codes, p + 1 * NS);
            ShortVector w2 = ShortVector.fromArray(S, codes, p + 2 * NS);
            ShortVector w3 = ShortVector.fromArray(S, codes, p + 3 * NS);
            IntVector i0 = (IntVector) w0.and(LOW).mul(x0).add(w0.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w0.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w0.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i1 = (IntVector) w1.and(LOW).mul(x0).add(w1.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w1.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w1.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i2 = (IntVector) w2.and(LOW).mul(x0).add(w2.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w2.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w2.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i3 = (IntVector) w3.and(LOW).mul(x0).add(w3.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w3.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w3.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            float f = sx[g];
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
     * As {@link #rows4}, for groups of a half ({@code parts} = 2) or a quarter ({@code parts} = 4) of a chunk: float
     * lane i of a chunk (16-bit lanes 2i and 2i + 1) belongs to group g + i / (LANES / parts) and is scaled by its
     * factor. Per chunk, one load of the block's 4 x parts scales ({@link #partScales}, from ps0) and one of sx,
     * spread over the lanes by constant shuffles ({@link #ROW}, {@link #PART}): on JDK 25, scale vectors blended from
     * broadcasts, and gathered ones, were allocated.
     */
    private static void rows4Parts(short[] codes, int p0, int rows, short[] qx, int in, int parts, short zero,
                                   float[] partScales, int ps0, float[] sx, float[] y, int yo) {
        VectorShuffle<Float> part = PART[parts], r0 = ROW[parts][0], r1 = ROW[parts][1], r2 = ROW[parts][2], r3 = ROW[parts][3];
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int c = 0, g = 0, p = p0, ps = ps0; c < in; c += C, g += parts, p += 4 * NS, ps += 4 * parts) {
            ShortVector x0 = ShortVector.fromArray(S, qx, c), x1 = ShortVector.fromArray(S, qx, c + NS);
            ShortVector x2 = ShortVector.fromArray(S, qx, c + 2 * NS), x3 = ShortVector.fromArray(S, qx, c + 3 * NS);
            ShortVector z = x0.add(x1).add(x2).add(x3).mul(zero);           // zero * (qx . planes of ones)
            ShortVector w0 = ShortVector.fromArray(S, codes, p);
            ShortVector w1 = ShortVector.fromArray(S, codes, p + 1 * NS);
            ShortVector w2 = ShortVector.fromArray(S, codes, p + 2 * NS);
            ShortVector w3 = ShortVector.fromArray(S, codes, p + 3 * NS);
            IntVector i0 = (IntVector) w0.and(LOW).mul(x0).add(w0.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w0.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w0.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i1 = (IntVector) w1.and(LOW).mul(x0).add(w1.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w1.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w1.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i2 = (IntVector) w2.and(LOW).mul(x0).add(w2.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w2.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w2.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            IntVector i3 = (IntVector) w3.and(LOW).mul(x0).add(w3.lanewise(LSHR, 4).and(LOW).mul(x1))
                    .add(w3.lanewise(LSHR, 8).and(LOW).mul(x2)).add(w3.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            FloatVector f = FloatVector.fromArray(F, sx, g).rearrange(part);          // sx of each lane's group
            FloatVector sc = FloatVector.fromArray(F, partScales, ps);                // this chunk's 4 x parts scales
            t0 = ((FloatVector) i0.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i0.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(r0).mul(f), t0);
            t1 = ((FloatVector) i1.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i1.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(r1).mul(f), t1);
            t2 = ((FloatVector) i2.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i2.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(r2).mul(f), t2);
            t3 = ((FloatVector) i3.lanewise(LSHL, 16).lanewise(ASHR, 16).add(i3.lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(r3).mul(f), t3);
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
}
