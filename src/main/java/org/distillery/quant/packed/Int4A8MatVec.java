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
 * a row's codes, each holding four nibbles, from a row-major copy ({@link #layout}). Plane k (bits 4k to 4k + 3)
 * belongs to entries [k NS, (k + 1) NS) of the chunk's qx, stored in that order ({@link #order}). For groups of whole
 * chunks plane k is simply columns [k NS, (k + 1) NS) of the chunk, so x is quantized in place, without a
 * permutation (2.9 against 4.5 us for in = 3072). For groups below a chunk a lane must stay within one group, so
 * lane i holds code bytes 2i and 2i + 1 of the chunk, and plane k, lane i is the column of byte 2i + k / 2, nibble
 * k % 2 (for INT4 column 4i + k; for Q4_0, whose block of 32 columns has its first 16 in the low nibbles, the column
 * of that nibble in its block). Nothing is converted between lane sizes before the sums.
 *
 * <p>The planes are not masked out: with w a lane's 16 bits and s_k = w &gt;&gt;&gt; 4k (s_4 = 0), nibble k is
 * {@code s_k - 16 s_(k+1)}, so
 * <pre>
 *   sum_k nibble_k q_k  =  s_0 m_0 + s_1 m_1 + s_2 m_2 + s_3 m_3,   m_0 = q_0,  m_k = q_k - 16 q_(k-1)
 * </pre>
 * and {@link #quantize} stores the multipliers m_k instead of q_k (|m_k| &lt;= 17 * 127), with the symmetric formats'
 * zero term {@code 8 (q_0 + q_1 + q_2 + q_3)} as a fifth vector. The products and sums wrap modulo 2^16 (s_0 is the
 * whole lane), but the true sum is small ({@link #MAX_LANE_SUM}), and a sum known to lie in [-2^15, 2^15) is exact
 * modulo 2^16: three shifts, four multiplies and four adds per row and chunk, where masking cost three more
 * (measured: 89 against 68-75 us on [768, 3072] INT4 g128). Per chunk the sums are widened in pairs to 32 bits: for
 * a 32-bit lane i holding two of them, {@code (i + (i << 16)) >> 16} is their sum (no lane-crossing conversion),
 * converted to float and scaled. Two group cases run here (see {@link #supports}):
 * <ul>
 *   <li>groups of whole chunks ({@link #rows8}): one factor per chunk, eight rows per call;</li>
 *   <li>groups of a half or a quarter of a chunk (INT4 g64 and g32, Q4_0, with 512-bit vectors;
 *   {@link #rows4Parts}): lane i of every plane covers the chunk's columns [4i, 4i + 4) (Q4_0: block i / 8), so
 *   each group owns a contiguous run of lanes, and after pair widening a contiguous run of float lanes, which is
 *   scaled by its own group's factor (four rows' scales for a chunk are one vector in {@link #partScales}).</li>
 * </ul>
 * <p>Streams: a kernel step computes {@link #ROWS} = 8 rows, read from {@link #STREAMS} sequential streams through
 * the layout ({@link #layout}): the rows are cut into that many equal parts, and in each the codes of per = 8 /
 * streams neighbouring rows are interleaved chunk by chunk (chunk c of rows 0..per-1, then chunk c + 1, ...; the
 * "interleaved rows" of llama.cpp's repacked 4-bit formats), so a step reads per * 64 contiguous bytes from each
 * stream. Which count is fastest depends on the machine's memory, out of cache (in cache they run the same, within
 * 5 %); on INT4 g128 cycled through 1 GiB:
 * <ul>
 *   <li>AMD EPYC (Zen 4), session 13, {@code PackedBench --a8-streams 1,2,4,8} (JDK 25; JDK 17 measured 2 and 8):
 *   two streams (of four rows) fastest, 44-52 us on [768, 3072] and [3072, 768] against 69-81 us with eight of one
 *   row, the layout before; one and four streams in between. A read-only loop over the same layouts read eight
 *   streams at 12 GB/s and two at 32 GB/s (the machine's single-stream figure: 33-35). Hence {@link #STREAMS} = 2.</li>
 *   <li>Intel (sessions up to 10, an earlier version of this kernel, not re-measured since): eight streams of one row
 *   97-102 us on [768, 3072], four of two neighbouring rows (not interleaved) 104-113, two of two 118-128, and four
 *   neighbouring rows interleaved into one stream 155-175. {@code PackedBench --a8-streams 2,8} compares the layouts
 *   there.</li>
 * </ul>
 * As in {@link PackedKernels}, every method that
 * handles vectors takes and returns none (JDK 17 C2 would box them), the rows of a call share each qx load, and
 * lane sums use the fixed order of {@link PackedKernels#sumLanes} (its shuffle tree, written out in each method).
 * Speed, measured by {@link PackedBench} (rows "A8"), is in the README. {@code PackedAllocationTest} (run with
 * {@code -Xbatch}) checks that nothing is allocated, and {@code PackedBench} reports any variant that allocated
 * while it was timed.
 *
 * <p>What C2 makes of these methods depended on what ran before their first execution, measured on [768, 3072]
 * INT4 g128 (the product without x's quantization):
 * <ul>
 *   <li>JDK 17: 80-88 us when the kernel first ran before any other vector code; 300-1,700 us, and allocating, when
 *   our float32 matrix-vector product, the 8-bit kernels or the float-nibble kernels ran first (flags on type
 *   profiles, inlining and node limits did not change it). {@code PackedBench --a8-first} measures both. The cause,
 *   found in session 16: C2's per-method trap limit, which the other kernels' traps in the shared Vector API methods
 *   use up ({@link org.distillery.util.JitSettings}). With {@code -XX:PerMethodTrapLimit=100000}, which the launchers
 *   pass, nothing allocated in {@code PackedBench}'s default order either.</li>
 *   <li>JDK 25: 65-75 us in either order, and nothing allocated after every other kernel ran first
 *   ({@code PackedAllocationTest}, {@code PackedBench}). Earlier versions of {@link #rows4Parts} did allocate
 *   there: with scale vectors blended from broadcasts, or gathered, or with eight rows (each row's scales loaded
 *   and spread, 2-4 MB per call in {@code PackedBench}, where the other kernels ran first; not in
 *   {@code PackedAllocationTest}).</li>
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
     * The largest magnitude of a 16-bit lane's sum for one chunk, {@code sum_k (c'_k - z) qx_k}: 4 * 15 * 127 for
     * INT4_ASYM (z = 0), 4 * 8 * 127 for the symmetric formats (z = 8). The pair widening adds two: 15,240, below
     * 2^15, so the sums are exact although the products wrap (see the class comment).
     */
    static final int MAX_LANE_SUM = 4 * 15 * 127;
    /**
     * Rows per kernel step: one call of {@link #rows8}, or for groups below a chunk two calls of {@link #rows4Parts}
     * (four rows each; against one call of four rows per step, Q4_0 [768, 3072] cycled through 1 GiB on JDK 25 took
     * 158-166 against 165-183 us).
     */
    static final int ROWS = 8;
    /**
     * The default number of sequential streams the {@link #ROWS} rows of a step are read from ({@link #layout}): 1,
     * 2, 4 or 8. See the class comment for the measurements behind it.
     */
    static final int STREAMS = 2;
    /**
     * For groups of 1/parts of a chunk (parts 2 or 4; after pair widening, a group's float lanes are a contiguous
     * run): {@code PART[parts]} moves entry i / (LANES / parts) to lane i (sx[g ..] to the lanes of its group), and
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
     * quarters (NS is always twice the float lanes: same vector shape), rows of whole chunks, and groups of whole
     * chunks or of a half or a quarter of one.
     */
    static boolean supports(PackedWeights w) {
        if (w.format().bits() != 4) return false;
        if (F.length() % 4 != 0) return false;
        int g = w.group();
        if (w.format() == PackedFormat.Q4_0 && C % 32 != 0) return false;
        if (w.in() % C != 0) return false;
        if (g % C == 0) return true;
        return (2 * g == C || 4 * g == C) && 4 * (C / g) <= F.length();   // rows4Parts: 4 rows' scales in one vector
    }

    /** Shorts of quantized x for {@code in} columns: per chunk the four planes' multipliers and the zero term. */
    static int qxLength(int in) {
        return in / C * 5 * NS;
    }

    /** The zero-point the integer sums subtract: 8 for the symmetric formats (INT4, Q4_0), 0 for INT4_ASYM. */
    static int zero(PackedFormat format) {
        return format.symmetric() ? 8 : 0;
    }

    /**
     * Position {@code k NS + i} of a chunk of qx holds column {@code order[k NS + i]} of the chunk, the column of
     * nibble k of the codes' 16-bit lane i ({@link #layout}); null means the identity. For groups of whole chunks
     * (one scale for the chunk) the planes are contiguous: plane k is columns [k NS, (k + 1) NS), so x needs no
     * permutation ({@link #quantize} reads it in order). For groups below a chunk a lane must stay within one group,
     * so lane i holds code bytes 2i and 2i + 1 of the chunk: plane k is nibble k % 2 (0 low, 1 high) of byte
     * 2i + k / 2 (for INT4 column 4i + k; for Q4_0, whose block of 32 columns has its first 16 in the low nibbles,
     * the column of that nibble in its block).
     */
    static int[] order(PackedFormat format, int group) {
        if (group % C == 0) return null;
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
     * Quantizes x[xo, xo + in) per group ({@link Int8Activations#quantize}: sx, xsum for INT4_ASYM's zero correction,
     * and the rounded values q in qi [in], natural order), then stores q in chunk order (see {@link #order}) as the
     * kernel's five vectors per chunk ({@link #qxLength}): the plane multipliers m_0 = q_0, m_k = q_k - 16 q_(k-1)
     * (see the class comment), then {@code zero * (q_0 + q_1 + q_2 + q_3)}.
     */
    static void quantize(float[] x, int xo, int in, int group, int[] order, int zero, int[] qi, short[] qx,
                         float[] sx, float[] xsum) {
        Int8Activations.quantize(x, xo, in, group, qi, sx, xsum, 0f);
        for (int c0 = 0, q = 0; c0 < in; c0 += C, q += 5 * NS) {    // one loop per order: a branch inside cost 25 %
            if (order == null) {                                         // contiguous planes: x read in order
                for (int i = 0; i < NS; i++) {
                    multipliers(qi[c0 + i], qi[c0 + NS + i], qi[c0 + 2 * NS + i], qi[c0 + 3 * NS + i], zero, qx, q + i);
                }
            } else {
                for (int i = 0; i < NS; i++) {
                    multipliers(qi[c0 + order[i]], qi[c0 + order[NS + i]], qi[c0 + order[2 * NS + i]],
                            qi[c0 + order[3 * NS + i]], zero, qx, q + i);
                }
            }
        }
    }

    /** Lane i of a chunk's five qx vectors from the four planes' rounded values (see {@link #quantize}). */
    private static void multipliers(int a0, int a1, int a2, int a3, int zero, short[] qx, int at) {
        qx[at] = (short) a0;
        qx[at + NS] = (short) (a1 - 16 * a0);
        qx[at + 2 * NS] = (short) (a2 - 16 * a1);
        qx[at + 3 * NS] = (short) (a3 - 16 * a2);
        qx[at + 4 * NS] = (short) (zero * (a0 + a1 + a2 + a3));
    }

    /**
     * The codes of {@code w} as 16-bit lanes for the kernel's {@code streams} (1, 2, 4 or 8; see the class comment):
     * [8 ceil(out / 8), in / 4], rows past the last repeating it, with chunk c of row r at {@link #position}: blocks
     * of per = 8 / streams neighbouring rows, interleaved chunk by chunk (per = 1: row-major). Lane i of a row's
     * chunk holds, in bits 4k to 4k + 3, the nibble of column {@code order[k NS + i]} of the chunk ({@link #order};
     * for groups below a chunk that is code bytes 2i and 2i + 1, little-endian). The copy costs the codes' size again
     * (half a byte per weight) next to the {@link PackedWeights} the batched products read.
     */
    static short[] layout(PackedWeights w, int streams) {
        int out = w.out(), in = w.in(), rb = w.rowBytes(), per = perStream(streams);
        int[] order = order(w.format(), w.group());
        boolean blocked = w.format() == PackedFormat.Q4_0;
        int rows = ROWS * steps(out);
        short[] codes = new short[rows * (in / 4)];
        for (int r = 0; r < rows; r++) {
            int o = Math.min(r, out - 1);                                  // rows past the last repeat it
            for (int c0 = 0, c = 0; c0 < in; c0 += C, c++) {
                for (int i = 0, p = position(r, c, in, per); i < NS; i++, p++) {
                    int lane = 0;
                    for (int k = 0; k < 4; k++) {
                        int col = c0 + (order == null ? k * NS + i : order[k * NS + i]);
                        lane |= PackedKernels.nibble(w.q, o * rb, col, blocked) << 4 * k;
                    }
                    codes[p] = (short) lane;
                }
            }
        }
        return codes;
    }

    /** Kernel steps for {@code out} rows: ceil(out / {@link #ROWS}). */
    static int steps(int out) {
        return (out + ROWS - 1) / ROWS;
    }

    /** Neighbouring rows interleaved in one stream: ROWS / streams; refuses a count other than 1, 2, 4 or 8. */
    static int perStream(int streams) {
        if (streams != 1 && streams != 2 && streams != 4 && streams != 8) {
            throw new IllegalArgumentException("streams = " + streams + ": accepted 1, 2, 4 or 8");
        }
        return ROWS / streams;
    }

    /**
     * Row k (0 to ROWS - 1) of step b, before clamping to the last row: stream k / per (a block of stride * per rows,
     * stride = {@link #steps}), rows b * per to b * per + per - 1 of it. per is a power of two ({@link #perStream}),
     * so the divisions are shifts and masks: with integer divisions, a kernel call's set-up on [3072, 768] (six
     * chunks per row) made the product 47 against 41 us in cache on JDK 17.
     */
    static int row(int b, int k, int stride, int per) {
        int shift = Integer.numberOfTrailingZeros(per);
        return ((k >> shift) * stride + b << shift) + (k & per - 1);
    }

    /** Where the layout keeps chunk c of row r: a block of per neighbouring rows, chunk by chunk, row by row. */
    static int position(int r, int c, int in, int per) {
        return (r & -per) * (in >> 2) + (c * per + (r & per - 1)) * NS;
    }

    /**
     * For groups of 1/parts of a chunk ({@link #rows4Parts}): the scales in the kernel's order for its
     * {@code streams}, [stride, ROWS / 4, in / C, parts, 4] with stride = {@link #steps}: per step b, call h and
     * chunk c, entry p * 4 + k is the scale of row r = {@link #row}(b, 4h + k) (clamped to the last row) for the
     * chunk's p-th group, followed by LANES floats of padding so that the last chunk's entries load as one vector.
     * Null for groups of whole chunks, which read the scales as they are.
     */
    static float[] partScales(PackedWeights w, int streams) {
        if (w.group() % C == 0) return null;
        int out = w.out(), parts = C / w.group(), chunks = w.in() / C, groups = w.groups(), per = perStream(streams);
        int stride = steps(out);
        float[] s = new float[stride * chunks * ROWS * parts + F.length()];
        for (int b = 0, i = 0; b < stride; b++) {
            for (int h = 0; h < ROWS / 4; h++) {                         // the calls of step b, four rows each
                for (int c = 0; c < chunks; c++) {
                    for (int p = 0; p < parts; p++) {
                        for (int k = 0; k < 4; k++, i++) {
                            int r = Math.min(row(b, 4 * h + k, stride, per), out - 1);
                            s[i] = w.scales[r * groups + c * parts + p];
                        }
                    }
                }
            }
        }
        return s;
    }

    /**
     * y[yo + o] = row o of W times x for o in [0, out), x given by {@link #quantize}.
     *
     * @param codes      the codes as 16-bit lanes ({@link #layout})
     * @param streams    the streams that layout was made for (1, 2, 4 or 8; not checked here)
     * @param format     INT4, INT4_ASYM or Q4_0: INT4_ASYM subtracts its zero correction in float after the kernel
     *                   (summed inside {@link #rows8} instead, eight more scalars live across its loop, it made the
     *                   symmetric formats 8-12 % slower: 81-90 against 72-80 us on [768, 3072] and [3072, 768])
     * @param scales     [out, groups]
     * @param partScales for groups below a chunk, the scales in this kernel's order ({@link #partScales}); else unused
     * @param offsets    [out, groups], used by INT4_ASYM only
     * @param sx         [groups + LANES]: the activations' scales, then room for one vector load past the last group
     */
    static void matvec(short[] codes, int streams, PackedFormat format, float[] scales, float[] partScales,
                       float[] offsets, int out, int in, int group, short[] qx, float[] sx, float[] xsum, float[] y,
                       int yo) {
        int groups = in / group, parts = group % C == 0 ? 1 : C / group, perGroup = group % C == 0 ? group / C : 1;
        int stride = steps(out), per = ROWS / streams;
        if (parts == 1) {
            for (int b = 0; b < stride; b++) {
                rows8(codes, b, stride, per, out, qx, in, perGroup, scales, groups, sx, y, yo);
            }
        } else {
            int perCall = in / C * 4 * parts;
            for (int b = 0, ps = 0; b < stride; b++) {
                for (int h = 0; h < ROWS / 4; h++, ps += perCall) {
                    rows4Parts(codes, b, 4 * h, stride, per, out, qx, in, parts, partScales, ps, sx, y, yo);
                }
            }
        }
        if (!format.symmetric()) PackedKernels.subtractCorrections(offsets, out, groups, xsum, y, yo);   // INT4_ASYM
    }

    /**
     * y[yo + r] = sum_c (scales of row r, chunk c) * (sx of chunk c) * (codes of row r, chunk c minus the zero-point)
     * . qx_c for the eight rows of step b, {@link #row}(b, k) for k = 0..7 (a row past the last is replaced by the
     * last, which is then written more than once with the same value; its codes in the layout are the last row's),
     * read from 8 / per streams of per interleaved rows ({@link #layout}; the class comment has the measurements).
     * Row k's chunk c is at {@link #position}(row, 0) + c * per * NS. Per chunk, the 16-bit sums of the four planes
     * are widened in pairs and scaled into float lane accumulators kept in registers, then summed in
     * {@link PackedKernels#sumLanes}' order. The eight rows share each qx load; a row's factor for a chunk is one
     * broadcast of scale * sx, the group index moving every perGroup chunks. One loop, no vector stores or calls: on
     * JDK 17, vectors carried through nested loops were allocated, and so were those of a version that stored lane
     * accumulators to an array between leaf calls.
     */
    private static void rows8(short[] codes, int b, int stride, int per, int out, short[] qx, int in, int perGroup,
                              float[] scales, int groups, float[] sx, float[] y, int yo) {
        int last = out - 1, cs = per * NS;
        int u0 = row(b, 0, stride, per), u1 = row(b, 1, stride, per), u2 = row(b, 2, stride, per);
        int u3 = row(b, 3, stride, per), u4 = row(b, 4, stride, per), u5 = row(b, 5, stride, per);
        int u6 = row(b, 6, stride, per), u7 = row(b, 7, stride, per);
        int a0 = position(u0, 0, in, per), a1 = position(u1, 0, in, per), a2 = position(u2, 0, in, per);
        int a3 = position(u3, 0, in, per), a4 = position(u4, 0, in, per), a5 = position(u5, 0, in, per);
        int a6 = position(u6, 0, in, per), a7 = position(u7, 0, in, per);
        int r0 = Math.min(u0, last), r1 = Math.min(u1, last), r2 = Math.min(u2, last), r3 = Math.min(u3, last);
        int r4 = Math.min(u4, last), r5 = Math.min(u5, last), r6 = Math.min(u6, last), r7 = Math.min(u7, last);
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0, t4 = t0, t5 = t0, t6 = t0, t7 = t0;
        for (int c = 0, o = 0, q = 0, g = 0, j = 0; c < in; c += C, o += cs, q += 5 * NS) {
            ShortVector x0 = ShortVector.fromArray(S, qx, q), x1 = ShortVector.fromArray(S, qx, q + NS);
            ShortVector x2 = ShortVector.fromArray(S, qx, q + 2 * NS), x3 = ShortVector.fromArray(S, qx, q + 3 * NS);
            ShortVector z = ShortVector.fromArray(S, qx, q + 4 * NS);
            float f = sx[g];
            ShortVector w0 = ShortVector.fromArray(S, codes, a0 + o);
            IntVector i0 = (IntVector) w0.mul(x0).add(w0.lanewise(LSHR, 4).mul(x1))
                    .add(w0.lanewise(LSHR, 8).mul(x2)).add(w0.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t0 = ((FloatVector) i0.add(i0.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r0 * groups + g] * f), t0);
            ShortVector w1 = ShortVector.fromArray(S, codes, a1 + o);
            IntVector i1 = (IntVector) w1.mul(x0).add(w1.lanewise(LSHR, 4).mul(x1))
                    .add(w1.lanewise(LSHR, 8).mul(x2)).add(w1.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t1 = ((FloatVector) i1.add(i1.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r1 * groups + g] * f), t1);
            ShortVector w2 = ShortVector.fromArray(S, codes, a2 + o);
            IntVector i2 = (IntVector) w2.mul(x0).add(w2.lanewise(LSHR, 4).mul(x1))
                    .add(w2.lanewise(LSHR, 8).mul(x2)).add(w2.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t2 = ((FloatVector) i2.add(i2.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r2 * groups + g] * f), t2);
            ShortVector w3 = ShortVector.fromArray(S, codes, a3 + o);
            IntVector i3 = (IntVector) w3.mul(x0).add(w3.lanewise(LSHR, 4).mul(x1))
                    .add(w3.lanewise(LSHR, 8).mul(x2)).add(w3.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t3 = ((FloatVector) i3.add(i3.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r3 * groups + g] * f), t3);
            ShortVector w4 = ShortVector.fromArray(S, codes, a4 + o);
            IntVector i4 = (IntVector) w4.mul(x0).add(w4.lanewise(LSHR, 4).mul(x1))
                    .add(w4.lanewise(LSHR, 8).mul(x2)).add(w4.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t4 = ((FloatVector) i4.add(i4.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r4 * groups + g] * f), t4);
            ShortVector w5 = ShortVector.fromArray(S, codes, a5 + o);
            IntVector i5 = (IntVector) w5.mul(x0).add(w5.lanewise(LSHR, 4).mul(x1))
                    .add(w5.lanewise(LSHR, 8).mul(x2)).add(w5.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t5 = ((FloatVector) i5.add(i5.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r5 * groups + g] * f), t5);
            ShortVector w6 = ShortVector.fromArray(S, codes, a6 + o);
            IntVector i6 = (IntVector) w6.mul(x0).add(w6.lanewise(LSHR, 4).mul(x1))
                    .add(w6.lanewise(LSHR, 8).mul(x2)).add(w6.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t6 = ((FloatVector) i6.add(i6.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r6 * groups + g] * f), t6);
            ShortVector w7 = ShortVector.fromArray(S, codes, a7 + o);
            IntVector i7 = (IntVector) w7.mul(x0).add(w7.lanewise(LSHR, 4).mul(x1))
                    .add(w7.lanewise(LSHR, 8).mul(x2)).add(w7.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t7 = ((FloatVector) i7.add(i7.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[r7 * groups + g] * f), t7);
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
            t4 = t4.add(t4.rearrange(PackedKernels.TREE[k]));
            t5 = t5.add(t5.rearrange(PackedKernels.TREE[k]));
            t6 = t6.add(t6.rearrange(PackedKernels.TREE[k]));
            t7 = t7.add(t7.rearrange(PackedKernels.TREE[k]));
        }
        y[yo + r0] = t0.lane(0);
        y[yo + r1] = t1.lane(0);
        y[yo + r2] = t2.lane(0);
        y[yo + r3] = t3.lane(0);
        y[yo + r4] = t4.lane(0);
        y[yo + r5] = t5.lane(0);
        y[yo + r6] = t6.lane(0);
        y[yo + r7] = t7.lane(0);
    }

    /**
     * As {@link #rows8}, for groups of a half ({@code parts} = 2) or a quarter ({@code parts} = 4) of a chunk, on
     * rows k0 to k0 + 3 of step b ({@link #matvec} makes two calls per step, k0 = 0 and 4; clamped to the last row):
     * float lane i of a chunk (16-bit lanes 2i and 2i + 1) belongs to group
     * g + i / (LANES / parts) and is scaled by its factor. Per chunk, one load of the four rows' 4 x parts scales
     * ({@link #partScales}, from ps0) and one of sx, spread over the lanes by constant shuffles ({@link #ROW},
     * {@link #PART}). Four rows per call, not eight: with eight, C2 on JDK 25 boxed vectors here when the other
     * kernels had been compiled first (as in {@code PackedBench}; 300-580 against 80-90 us), as it did for scale
     * vectors blended from broadcasts, or gathered.
     */
    private static void rows4Parts(short[] codes, int b, int k0, int stride, int per, int out, short[] qx, int in,
                                   int parts, float[] partScales, int ps0, float[] sx, float[] y, int yo) {
        int last = out - 1, cs = per * NS;
        int u0 = row(b, k0, stride, per), u1 = row(b, k0 + 1, stride, per), u2 = row(b, k0 + 2, stride, per);
        int u3 = row(b, k0 + 3, stride, per);
        int a0 = position(u0, 0, in, per), a1 = position(u1, 0, in, per), a2 = position(u2, 0, in, per);
        int a3 = position(u3, 0, in, per);
        int r0 = Math.min(u0, last), r1 = Math.min(u1, last), r2 = Math.min(u2, last), r3 = Math.min(u3, last);
        VectorShuffle<Float> part = PART[parts], s0 = ROW[parts][0], s1 = ROW[parts][1], s2 = ROW[parts][2];
        VectorShuffle<Float> s3 = ROW[parts][3];
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int c = 0, o = 0, q = 0, g = 0, ps = ps0; c < in; c += C, o += cs, q += 5 * NS, g += parts,
                ps += 4 * parts) {
            ShortVector x0 = ShortVector.fromArray(S, qx, q), x1 = ShortVector.fromArray(S, qx, q + NS);
            ShortVector x2 = ShortVector.fromArray(S, qx, q + 2 * NS), x3 = ShortVector.fromArray(S, qx, q + 3 * NS);
            ShortVector z = ShortVector.fromArray(S, qx, q + 4 * NS);
            FloatVector f = FloatVector.fromArray(F, sx, g).rearrange(part);          // sx of each lane's group
            FloatVector sc = FloatVector.fromArray(F, partScales, ps);                // the four rows' 4 x parts scales
            ShortVector w0 = ShortVector.fromArray(S, codes, a0 + o);
            IntVector i0 = (IntVector) w0.mul(x0).add(w0.lanewise(LSHR, 4).mul(x1))
                    .add(w0.lanewise(LSHR, 8).mul(x2)).add(w0.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t0 = ((FloatVector) i0.add(i0.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(s0).mul(f), t0);
            ShortVector w1 = ShortVector.fromArray(S, codes, a1 + o);
            IntVector i1 = (IntVector) w1.mul(x0).add(w1.lanewise(LSHR, 4).mul(x1))
                    .add(w1.lanewise(LSHR, 8).mul(x2)).add(w1.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t1 = ((FloatVector) i1.add(i1.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(s1).mul(f), t1);
            ShortVector w2 = ShortVector.fromArray(S, codes, a2 + o);
            IntVector i2 = (IntVector) w2.mul(x0).add(w2.lanewise(LSHR, 4).mul(x1))
                    .add(w2.lanewise(LSHR, 8).mul(x2)).add(w2.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t2 = ((FloatVector) i2.add(i2.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(s2).mul(f), t2);
            ShortVector w3 = ShortVector.fromArray(S, codes, a3 + o);
            IntVector i3 = (IntVector) w3.mul(x0).add(w3.lanewise(LSHR, 4).mul(x1))
                    .add(w3.lanewise(LSHR, 8).mul(x2)).add(w3.lanewise(LSHR, 12).mul(x3)).sub(z).reinterpretAsInts();
            t3 = ((FloatVector) i3.add(i3.lanewise(LSHL, 16)).lanewise(ASHR, 16).convertShape(I2F, F, 0))
                    .fma(sc.rearrange(s3).mul(f), t3);
        }
        for (int k = 0; k < PackedKernels.TREE.length; k++) {
            t0 = t0.add(t0.rearrange(PackedKernels.TREE[k]));
            t1 = t1.add(t1.rearrange(PackedKernels.TREE[k]));
            t2 = t2.add(t2.rearrange(PackedKernels.TREE[k]));
            t3 = t3.add(t3.rearrange(PackedKernels.TREE[k]));
        }
        y[yo + r0] = t0.lane(0);
        y[yo + r1] = t1.lane(0);
        y[yo + r2] = t2.lane(0);
        y[yo + r3] = t3.lane(0);
    }
}
