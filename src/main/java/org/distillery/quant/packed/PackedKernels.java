package org.distillery.quant.packed;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.I2F;

/**
 * Matrix-vector kernels on packed codes ({@link PackedWeights}' in-memory layout), on heap arrays, with
 * {@code jdk.incubator.vector}. For output row {@code o}:
 * <pre>
 *   y[o] = sum_g scale[o, g] * dot(x_g, c'[o, g]) - sum_g offset[o, g] * xsum[g]
 * </pre>
 * where c' is the in-memory code (signed int8, or nibble 0-15), {@code x_g} the group's slice of x,
 * {@code xsum[g] = sum(x_g)} (computed once per input row and shared by all output rows) and
 * {@code offset = scale * z'} ({@link PackedWeights#offsets}). Codes are widened byte -> float lane by lane
 * (a {@link ByteVector} of {@link #LANES} bytes cast to a {@link FloatVector}); four output rows are computed
 * together, so each x vector is loaded once for four rows and four (8-bit) or eight (4-bit: low and high nibbles
 * apart) independent FMA chains run in parallel. 8-bit rows whose groups are whole vectors run in one method
 * ({@code rows8x4}) with the lane accumulators in registers across groups, rows a quarter of the matrix apart
 * ({@link #STREAMS}); otherwise each group of four rows is a leaf method ({@code group8x4}, {@code group4x4},
 * one-row twins) that adds into lane accumulators in a caller-owned float array, with scalar code for the columns
 * past the last whole vector (or 32-column chunk). Every method that handles vectors takes and returns none, so
 * C2 never has to box one: on JDK 17 a vector that crosses a call which C2 did not inline, or a method too large
 * for C2 (four 4-bit rows in one method were), is allocated on the heap, and the product runs 2-10x slower.
 *
 * <p>The 4-bit kernel reads 16 bytes (32 columns) per step: low nibbles are the first 16 entries of the
 * matching x chunk and high nibbles the next 16. That is Q4_0's block order as stored; for INT4/INT4_ASYM
 * (low nibble = even column) the caller passes x with each 32-column chunk of every group permuted to
 * (even columns, odd columns) by {@link #permutePairs}. Columns past the last whole 32-chunk of a group
 * (groups that are not a multiple of 32) are done in scalar code on the unpermuted x.
 *
 * <p>Determinism: lanes are summed by a fixed shuffle tree ({@link #sumLanes}), never by
 * {@code reduceLanes(ADD)}, whose order may differ between JIT tiers. Results differ from the dequantize-then-
 * multiply reference only by the rounding of fp32 accumulation (see {@link QuantizedLinear}).
 */
final class PackedKernels {
    private PackedKernels() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    /** Bytes that widen to one float vector: LANES bytes. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * 8)));
    /** Whether the vector paths apply: B has exactly LANES lanes, and 16 nibble bytes split into whole vectors. */
    /** Int lanes of the float vector's width (nibbles are unpacked on widened bytes). */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final boolean VECTOR = B.length() == LANES && 16 % LANES == 0;
    /**
     * Row streams of the 8-bit kernel whose groups are whole vectors ({@link #matvec8}), one per row of a
     * {@link #rows8x4} call: with stride = ceil(rows / STREAMS), step b computes rows b + k stride (k = 0..3, clamped
     * to the last row, which is then written more than once with the same value) in one call, so that over the steps
     * each quarter of the matrix is read as one sequential stream. Out of cache the memory keeps more in flight that way than for four
     * neighbouring rows (four streams that restart every row). Measured, INT8 g128 cycled through 1 GiB:
     * <ul>
     *   <li>Intel, JDK 25 (session 10, {@code Int8StreamSpike}): 174-184 us with four streams, 174-177 with eight (two
     *   calls per step), 244 with four neighbouring rows on [768, 3072]; 180-185, 181-183 and 277 us on [3072, 768].
     *   In cache 105 / 101 / 110 and 114 / 110 / 125 us.</li>
     *   <li>AMD EPYC (Zen 4), JDK 25 (session 11, {@code Int8PlaneSpike}, both in one JVM, three rounds): 146-164 us
     *   with four streams against 161-186 with eight on [768, 3072], 134-145 against 225-235 on [3072, 768]; in
     *   cache 94-107 against 103-112 and 107-110 against 121-128 us.</li>
     * </ul>
     * So four: out of cache no slower on the first machine (in cache 4 % slower), faster on the second. Eight rows
     * in one method ran slower, and C2 compiled it unevenly.
     */
    static final int STREAMS = 4;
    /** Floats of the lane-accumulator scratch the matrix-vector kernels need: four rows of LANES. */
    static final int ACC = 4 * LANES;

    /** The shuffles of {@link #sumLanes}' pairwise tree. */
    static final VectorShuffle<Float>[] TREE = tree();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] tree() {
        int n = Integer.numberOfTrailingZeros(LANES);
        VectorShuffle<Float>[] t = new VectorShuffle[n];
        for (int k = 0, w = LANES / 2; w >= 1; w >>= 1, k++) {
            int shift = w;
            t[k] = VectorShuffle.fromOp(F, i -> (i + shift) % LANES);
        }
        return t;
    }

    /** Sum of the lanes in a fixed pairwise order (the same in every JIT tier). */
    static float sumLanes(FloatVector v) {
        for (int k = 0; k < TREE.length; k++) v = v.add(v.rearrange(TREE[k]));
        return v.lane(0);
    }

    // ---------------------------------------------------------------- helpers on x

    /** xsum[xso + g] = sum of x[xo + g*group ..][0, group) for g < in/group. */
    static void groupSums(float[] x, int xo, int in, int group, float[] xsum, int xso) {
        int groups = in / group, bound = VECTOR ? group - group % LANES : 0;
        for (int g = 0; g < groups; g++) {
            int base = xo + g * group;
            FloatVector acc = FloatVector.zero(F);
            int k = 0;
            for (; k < bound; k += LANES) acc = acc.add(FloatVector.fromArray(F, x, base + k));
            float s = sumLanes(acc);
            for (; k < group; k++) s += x[base + k];
            xsum[xso + g] = s;
        }
    }

    /**
     * xp = x with every whole 32-column chunk of every group reordered as (columns 0, 2, ..., 30, then
     * 1, 3, ..., 31 of the chunk): the order of the low and high nibbles of INT4 bytes. Other columns copied.
     */
    static void permutePairs(float[] x, int xo, int in, int group, float[] xp, int xpo) {
        int whole = group - group % 32;
        for (int g0 = 0; g0 < in; g0 += group) {
            int c = 0;
            for (; c < whole; c += 32) {
                int s = xo + g0 + c, d = xpo + g0 + c;
                for (int i = 0; i < 16; i++) {
                    xp[d + i] = x[s + 2 * i];
                    xp[d + 16 + i] = x[s + 2 * i + 1];
                }
            }
            for (; c < group; c++) xp[xpo + g0 + c] = x[xo + g0 + c];
        }
    }

    /** The inverse of {@link #permutePairs}: x[xo ..] = xp[xpo ..] put back in natural column order. */
    static void unpermutePairs(float[] xp, int xpo, int in, int group, float[] x, int xo) {
        int whole = group - group % 32;
        for (int g0 = 0; g0 < in; g0 += group) {
            int c = 0;
            for (; c < whole; c += 32) {
                int s = xpo + g0 + c, d = xo + g0 + c;
                for (int i = 0; i < 16; i++) {
                    x[d + 2 * i] = xp[s + i];
                    x[d + 2 * i + 1] = xp[s + 16 + i];
                }
            }
            for (; c < group; c++) x[xo + g0 + c] = xp[xpo + g0 + c];
        }
    }

    // ---------------------------------------------------------------- 8-bit

    /**
     * y[yo + o] = row o of W (8-bit codes) times x[xo ..][0, in), for o in [from, to).
     *
     * @param q       codes [out, in] (int8, in-memory layout)
     * @param scales  [out, groups]
     * @param offsets [out, groups] or null (no zero correction)
     * @param xsum    [groups] group sums of x at xso (unused when offsets is null)
     * @param acc     scratch of at least {@link #ACC} floats (the lane accumulators of four rows)
     */
    static void matvec8(byte[] q, float[] scales, float[] offsets, int in, int group,
                        float[] x, int xo, float[] xsum, int xso, float[] y, int yo, int from, int to, float[] acc) {
        int groups = in / group;
        if (VECTOR && group % LANES == 0) {                     // every group whole vectors: STREAMS streams
            int stride = (to - from + STREAMS - 1) / STREAMS;
            for (int b = from; b < from + stride; b++) {
                rows8x4(q, in, group, groups, x, xo, scales, offsets, xsum, xso, y, yo, b, stride, to - 1);
            }
            return;
        }
        int o = from;
        for (; o + 4 <= to; o += 4) rows8(q, scales, offsets, in, group, groups, x, xo, xsum, xso, y, yo, o, 4, acc);
        if (o < to) rows8(q, scales, offsets, in, group, groups, x, xo, xsum, xso, y, yo, o, to - o, acc);
    }

    /**
     * Rows o to o + rows - 1 (1 to 4). Per group: the vector part in a leaf method ({@link #group8x4},
     * {@link #group8x1}) that adds {@code scale * dot} into the rows' lane accumulators in {@code acc}, the
     * columns past the last whole vector in scalar code here.
     */
    private static void rows8(byte[] q, float[] scales, float[] offsets, int in, int group, int groups,
                              float[] x, int xo, float[] xsum, int xso, float[] y, int yo, int o, int rows, float[] acc) {
        int bound = VECTOR ? group - group % LANES : 0;
        int s0 = o * groups;
        java.util.Arrays.fill(acc, 0, rows * LANES, 0f);
        float u0 = 0, u1 = 0, u2 = 0, u3 = 0;                  // scalar tails
        for (int g = 0, k0 = 0; g < groups; g++, k0 += group) {
            int qg = o * in + k0;
            if (bound > 0) {
                if (rows == 4) {
                    group8x4(q, qg, in, x, xo + k0, bound, scales[s0 + g], scales[s0 + groups + g],
                            scales[s0 + 2 * groups + g], scales[s0 + 3 * groups + g], acc);
                } else {
                    for (int r = 0; r < rows; r++) group8x1(q, qg + r * in, x, xo + k0, bound, scales[s0 + r * groups + g], acc, r * LANES);
                }
            }
            for (int k = bound; k < group; k++) {
                float xk = x[xo + k0 + k];
                u0 += scales[s0 + g] * (q[qg + k] * xk);
                if (rows > 1) u1 += scales[s0 + groups + g] * (q[qg + in + k] * xk);
                if (rows > 2) u2 += scales[s0 + 2 * groups + g] * (q[qg + 2 * in + k] * xk);
                if (rows > 3) u3 += scales[s0 + 3 * groups + g] * (q[qg + 3 * in + k] * xk);
            }
        }
        store(acc, u0, u1, u2, u3, offsets, s0, groups, xsum, xso, y, yo + o, rows);
    }

    /**
     * acc[r * LANES ..] += scale_r * (codes of row r at q[qo + r * in ..][0, n)) . x[xo ..][0, n), for the four rows
     * r (n a multiple of LANES): four rows share each x load, four independent FMA chains. A leaf method whose
     * vectors never cross a call, so C2 keeps them in registers whatever it inlines around it.
     */
    private static void group8x4(byte[] q, int qo, int in, float[] x, int xo, int n, float sc0, float sc1, float sc2,
                                 float sc3, float[] acc) {
        int q1 = qo + in, q2 = q1 + in, q3 = q2 + in;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < n; k += LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + k);
            a0 = ((FloatVector) ByteVector.fromArray(B, q, qo + k).convertShape(B2F, F, 0)).fma(xv, a0);
            a1 = ((FloatVector) ByteVector.fromArray(B, q, q1 + k).convertShape(B2F, F, 0)).fma(xv, a1);
            a2 = ((FloatVector) ByteVector.fromArray(B, q, q2 + k).convertShape(B2F, F, 0)).fma(xv, a2);
            a3 = ((FloatVector) ByteVector.fromArray(B, q, q3 + k).convertShape(B2F, F, 0)).fma(xv, a3);
        }
        a0.fma(FloatVector.broadcast(F, sc0), FloatVector.fromArray(F, acc, 0)).intoArray(acc, 0);
        a1.fma(FloatVector.broadcast(F, sc1), FloatVector.fromArray(F, acc, LANES)).intoArray(acc, LANES);
        a2.fma(FloatVector.broadcast(F, sc2), FloatVector.fromArray(F, acc, 2 * LANES)).intoArray(acc, 2 * LANES);
        a3.fma(FloatVector.broadcast(F, sc3), FloatVector.fromArray(F, acc, 3 * LANES)).intoArray(acc, 3 * LANES);
    }

    /**
     * Rows r_k = min(b + k * stride, last), k = 0..3 (not necessarily distinct), whose groups are all whole vectors,
     * every group in this one method: per group four FMA chains as in {@link #group8x4}, scaled into lane accumulators kept in registers
     * across groups, and the zero corrections summed alongside (scalar chains that the vector work hides; summed
     * after the loop, INT8_ASYM g128 [768, 3072] took 132 against 125-129 us); then y[yo + r] = the lane sums minus
     * the corrections. No vector goes through memory: {@link #group8x4}'s accumulator load/store per group is saved
     * (it costs most with small groups, Q8_0's 32), and on JDK 17 C2 now and then compiles a vector store as its
     * slow Java fallback, depending on the run.
     * {@link #matvec8} passes rows a quarter of the matrix apart (see {@link #STREAMS}).
     */
    private static void rows8x4(byte[] q, int in, int group, int groups, float[] x, int xo, float[] scales,
                                float[] offsets, float[] xsum, int xso, float[] y, int yo, int b, int stride,
                                int last) {
        int r0 = Math.min(b, last), r1 = Math.min(b + stride, last), r2 = Math.min(b + 2 * stride, last);
        int r3 = Math.min(b + 3 * stride, last);
        int q0 = r0 * in, q1 = r1 * in, q2 = r2 * in, q3 = r3 * in;
        int s0 = r0 * groups, s1 = r1 * groups, s2 = r2 * groups, s3 = r3 * groups;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (int g = 0, k0 = 0; g < groups; g++, k0 += group) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int k = k0; k < k0 + group; k += LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, xo + k);
                a0 = ((FloatVector) ByteVector.fromArray(B, q, q0 + k).convertShape(B2F, F, 0)).fma(xv, a0);
                a1 = ((FloatVector) ByteVector.fromArray(B, q, q1 + k).convertShape(B2F, F, 0)).fma(xv, a1);
                a2 = ((FloatVector) ByteVector.fromArray(B, q, q2 + k).convertShape(B2F, F, 0)).fma(xv, a2);
                a3 = ((FloatVector) ByteVector.fromArray(B, q, q3 + k).convertShape(B2F, F, 0)).fma(xv, a3);
            }
            t0 = a0.fma(FloatVector.broadcast(F, scales[s0 + g]), t0);
            t1 = a1.fma(FloatVector.broadcast(F, scales[s1 + g]), t1);
            t2 = a2.fma(FloatVector.broadcast(F, scales[s2 + g]), t2);
            t3 = a3.fma(FloatVector.broadcast(F, scales[s3 + g]), t3);
            if (offsets != null) {                              // the zero corrections, in correction()'s order
                float xs = xsum[xso + g];
                c0 += offsets[s0 + g] * xs;
                c1 += offsets[s1 + g] * xs;
                c2 += offsets[s2 + g] * xs;
                c3 += offsets[s3 + g] * xs;
            }
        }
        y[yo + r0] = sumLanes(t0) - c0;
        y[yo + r1] = sumLanes(t1) - c1;
        y[yo + r2] = sumLanes(t2) - c2;
        y[yo + r3] = sumLanes(t3) - c3;
    }

    /** {@link #group8x4} for one row, accumulating at acc[ao ..]. */
    private static void group8x1(byte[] q, int qo, float[] x, int xo, int n, float sc, float[] acc, int ao) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < n; k += LANES) a = ((FloatVector) ByteVector.fromArray(B, q, qo + k).convertShape(B2F, F, 0)).fma(FloatVector.fromArray(F, x, xo + k), a);
        a.fma(FloatVector.broadcast(F, sc), FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
    }

    /** y[yo + r] = lane sum of row r's accumulator + its scalar tail u_r - its zero correction, for r < rows. */
    private static void store(float[] acc, float u0, float u1, float u2, float u3, float[] offsets, int s0, int groups,
                              float[] xsum, int xso, float[] y, int yo, int rows) {
        y[yo] = laneSum(acc, 0) + u0 - correction(offsets, s0, groups, xsum, xso);
        if (rows > 1) y[yo + 1] = laneSum(acc, LANES) + u1 - correction(offsets, s0 + groups, groups, xsum, xso);
        if (rows > 2) y[yo + 2] = laneSum(acc, 2 * LANES) + u2 - correction(offsets, s0 + 2 * groups, groups, xsum, xso);
        if (rows > 3) y[yo + 3] = laneSum(acc, 3 * LANES) + u3 - correction(offsets, s0 + 3 * groups, groups, xsum, xso);
    }

    /** The lane sum of acc[off, off + LANES) in {@link #sumLanes}' fixed order. */
    private static float laneSum(float[] acc, int off) {
        return sumLanes(FloatVector.fromArray(F, acc, off));
    }

    /** sum_g offsets[so + g] * xsum[xso + g], or 0 without offsets. */
    private static float correction(float[] offsets, int so, int groups, float[] xsum, int xso) {
        if (offsets == null) return 0f;
        float c = 0;
        for (int g = 0; g < groups; g++) c += offsets[so + g] * xsum[xso + g];
        return c;
    }

    /**
     * y[yo + o] -= sum_g offsets[o * groups + g] * xsum[g] for o in [0, out), each row's sum in g order as in
     * {@link #correction} (the same floats), four rows at a time: four independent add chains instead of one
     * (INT4_ASYM W4A8 on [3072, 768]: 88-90 against 96 us).
     */
    static void subtractCorrections(float[] offsets, int out, int groups, float[] xsum, float[] y, int yo) {
        int o = 0;
        for (; o + 4 <= out; o += 4) {
            int s0 = o * groups, s1 = s0 + groups, s2 = s1 + groups, s3 = s2 + groups;
            float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
            for (int g = 0; g < groups; g++) {
                float xs = xsum[g];
                c0 += offsets[s0 + g] * xs;
                c1 += offsets[s1 + g] * xs;
                c2 += offsets[s2 + g] * xs;
                c3 += offsets[s3 + g] * xs;
            }
            y[yo + o] -= c0;
            y[yo + o + 1] -= c1;
            y[yo + o + 2] -= c2;
            y[yo + o + 3] -= c3;
        }
        for (; o < out; o++) y[yo + o] -= correction(offsets, o * groups, groups, xsum, 0);
    }

    // ---------------------------------------------------------------- 4-bit

    /**
     * y[yo + o] = row o of W (4-bit nibbles, in-memory layout) times x, for o in [from, to).
     *
     * @param q       nibbles [out, in/2]
     * @param offsets [out, groups] (never null for 4-bit formats)
     * @param x       x in natural column order (scalar tails)
     * @param xp      x in nibble order (Q4_0: x itself; INT4: {@link #permutePairs}), same offset xo
     * @param blocked Q4_0's block order (true) or INT4's pair order (false), for the scalar tails
     * @param acc     scratch of at least {@link #ACC} floats
     */
    static void matvec4(byte[] q, float[] scales, float[] offsets, int in, int group, boolean blocked,
                        float[] x, float[] xp, int xo, float[] xsum, int xso, float[] y, int yo, int from, int to,
                        float[] acc) {
        int groups = in / group;
        int o = from;
        for (; o + 4 <= to; o += 4) rows4(q, scales, offsets, in, group, groups, blocked, x, xp, xo, xsum, xso, y, yo, o, 4, acc);
        if (o < to) rows4(q, scales, offsets, in, group, groups, blocked, x, xp, xo, xsum, xso, y, yo, o, to - o, acc);
    }

    /**
     * Rows o to o + rows - 1 (1 to 4): per group the whole 32-column chunks in a leaf method ({@link #group4x4},
     * {@link #group4x1}) and the rest (INT4 groups that are not a multiple of 32) in scalar code here. Four 4-bit
     * rows with their accumulators kept in registers across groups, as {@link #rows8x4} does for 8-bit codes, made
     * a method too large for C2 on JDK 17 (its compiled code allocated every vector: PackedAllocationTest); two
     * rows per method that way ran no faster than this. (The kernel
     * before called nibble helpers from a method with scalar tails; on JDK 17 C2 sometimes left them out of line
     * and boxed their vectors, 16 MB allocated per 4096 x 4096 product, depending on the run.)
     */
    private static void rows4(byte[] q, float[] scales, float[] offsets, int in, int group, int groups,
                              boolean blocked, float[] x, float[] xp, int xo, float[] xsum, int xso,
                              float[] y, int yo, int o, int rows, float[] acc) {
        int whole = VECTOR ? group - group % 32 : 0, rb = in / 2;
        int s0 = o * groups, q0 = o * rb;
        java.util.Arrays.fill(acc, 0, rows * LANES, 0f);
        float u0 = 0, u1 = 0, u2 = 0, u3 = 0;
        for (int g = 0, k0 = 0; g < groups; g++, k0 += group) {
            if (whole > 0) {
                if (rows == 4) {
                    group4x4(q, q0 + k0 / 2, rb, xp, xo + k0, whole, scales[s0 + g], scales[s0 + groups + g],
                            scales[s0 + 2 * groups + g], scales[s0 + 3 * groups + g], acc);
                } else {
                    for (int r = 0; r < rows; r++) {
                        group4x1(q, q0 + r * rb + k0 / 2, xp, xo + k0, whole, scales[s0 + r * groups + g], acc, r * LANES);
                    }
                }
            }
            for (int k = whole; k < group; k++) {            // only INT4 with group % 32 != 0 (never Q4_0)
                float xk = x[xo + k0 + k];
                u0 += scales[s0 + g] * (nibble(q, q0, k0 + k, blocked) * xk);
                if (rows > 1) u1 += scales[s0 + groups + g] * (nibble(q, q0 + rb, k0 + k, blocked) * xk);
                if (rows > 2) u2 += scales[s0 + 2 * groups + g] * (nibble(q, q0 + 2 * rb, k0 + k, blocked) * xk);
                if (rows > 3) u3 += scales[s0 + 3 * groups + g] * (nibble(q, q0 + 3 * rb, k0 + k, blocked) * xk);
            }
        }
        store(acc, u0, u1, u2, u3, offsets, s0, groups, xsum, xso, y, yo + o, rows);
    }

    /**
     * acc[r * LANES ..] += scale_r * dot(nibbles of row r, xp) over n columns (a multiple of 32) of four rows whose
     * bytes start at q[qo + r * rb]: per 32 columns 16 bytes, low nibbles against xp[c, c + 16), high nibbles
     * against xp[c + 16, c + 32); separate low and high accumulators (eight independent FMA chains). A leaf
     * method, as {@link #group8x4}.
     */
    private static void group4x4(byte[] q, int qo, int rb, float[] xp, int xo, int n, float sc0, float sc1, float sc2,
                                 float sc3, float[] acc) {
        int q1 = qo + rb, q2 = q1 + rb, q3 = q2 + rb;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, h0 = a0, h1 = a0, h2 = a0, h3 = a0;
        for (int c = 0; c < n; c += 32) {
            int b = c / 2;
            for (int j = 0; j < 16; j += LANES) {
                FloatVector xl = FloatVector.fromArray(F, xp, xo + c + j);
                FloatVector xh = FloatVector.fromArray(F, xp, xo + c + 16 + j);
                IntVector b0 = (IntVector) ByteVector.fromArray(B, q, qo + b + j).convertShape(B2I, I, 0);
                IntVector b1 = (IntVector) ByteVector.fromArray(B, q, q1 + b + j).convertShape(B2I, I, 0);
                IntVector b2 = (IntVector) ByteVector.fromArray(B, q, q2 + b + j).convertShape(B2I, I, 0);
                IntVector b3 = (IntVector) ByteVector.fromArray(B, q, q3 + b + j).convertShape(B2I, I, 0);
                a0 = ((FloatVector) b0.and(0x0F).convertShape(I2F, F, 0)).fma(xl, a0);
                h0 = ((FloatVector) b0.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).fma(xh, h0);
                a1 = ((FloatVector) b1.and(0x0F).convertShape(I2F, F, 0)).fma(xl, a1);
                h1 = ((FloatVector) b1.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).fma(xh, h1);
                a2 = ((FloatVector) b2.and(0x0F).convertShape(I2F, F, 0)).fma(xl, a2);
                h2 = ((FloatVector) b2.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).fma(xh, h2);
                a3 = ((FloatVector) b3.and(0x0F).convertShape(I2F, F, 0)).fma(xl, a3);
                h3 = ((FloatVector) b3.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).fma(xh, h3);
            }
        }
        a0.add(h0).fma(FloatVector.broadcast(F, sc0), FloatVector.fromArray(F, acc, 0)).intoArray(acc, 0);
        a1.add(h1).fma(FloatVector.broadcast(F, sc1), FloatVector.fromArray(F, acc, LANES)).intoArray(acc, LANES);
        a2.add(h2).fma(FloatVector.broadcast(F, sc2), FloatVector.fromArray(F, acc, 2 * LANES)).intoArray(acc, 2 * LANES);
        a3.add(h3).fma(FloatVector.broadcast(F, sc3), FloatVector.fromArray(F, acc, 3 * LANES)).intoArray(acc, 3 * LANES);
    }

    /** {@link #group4x4} for one row, accumulating at acc[ao ..]. */
    private static void group4x1(byte[] q, int qo, float[] xp, int xo, int n, float sc, float[] acc, int ao) {
        FloatVector a = FloatVector.zero(F), h = a;
        for (int c = 0; c < n; c += 32) {
            for (int j = 0; j < 16; j += LANES) {
                IntVector b = (IntVector) ByteVector.fromArray(B, q, qo + c / 2 + j).convertShape(B2I, I, 0);
                a = ((FloatVector) b.and(0x0F).convertShape(I2F, F, 0)).fma(FloatVector.fromArray(F, xp, xo + c + j), a);
                h = ((FloatVector) b.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).fma(FloatVector.fromArray(F, xp, xo + c + 16 + j), h);
            }
        }
        a.add(h).fma(FloatVector.broadcast(F, sc), FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
    }

    /** The nibble of column k of the row whose bytes start at {@code base}. */
    static int nibble(byte[] q, int base, int k, boolean blocked) {
        if (blocked) {
            int v = q[base + 16 * (k / 32) + (k & 15)] & 0xFF;
            return (k & 31) < 16 ? v & 15 : v >>> 4;
        }
        int v = q[base + k / 2] & 0xFF;
        return (k & 1) == 0 ? v & 15 : v >>> 4;
    }

    // ---------------------------------------------------------------- dequantized tiles (batched products)

    /**
     * tile[0, in) = row o of W dequantized ({@code scale * (code - zero)}, exact in float), in the column order
     * of the kernel's x: natural for 8-bit formats and Q4_0, {@link #permutePairs} order for INT4.
     */
    static void dequantizeRow(PackedWeights w, int o, float[] tile, int to) {
        int in = w.in(), group = w.group(), groups = w.groups();
        byte[] q = w.q;
        boolean four = w.format().bits() == 4, blocked = w.format() == PackedFormat.Q4_0;
        int rb = w.rowBytes();
        for (int g = 0, k0 = 0; g < groups; g++, k0 += group) {
            float s = w.scales[o * groups + g];
            float z = w.offsets == null ? 0f : zeroOf(w, o * groups + g);
            if (!four) dequantizeGroup8(q, o * rb + k0, group, s, z, tile, to + k0);
            else dequantizeGroup4(q, o * rb, k0, group, blocked, s, z, tile, to + k0);
        }
    }

    // The group loops (and tileDot's single-row loop, tileRowDot) are methods of their own, so each is compiled
    // with its vectors scalarised: on JDK 25 the batched path allocated 2.9 KB a call (boxed vectors) until
    // tileRowDot was split out (PackedAllocationTest, batch 6).

    /** tile[to, to + group) = s * (code - z) for the 8-bit codes at q[qo ..]. */
    private static void dequantizeGroup8(byte[] q, int qo, int group, float s, float z, float[] tile, int to) {
        FloatVector sv = FloatVector.broadcast(F, s), zv = FloatVector.broadcast(F, z);
        int bound = VECTOR ? group - group % LANES : 0, k = 0;
        for (; k < bound; k += LANES) {
            ((FloatVector) ByteVector.fromArray(B, q, qo + k).convertShape(B2F, F, 0)).sub(zv).mul(sv).intoArray(tile, to + k);
        }
        for (; k < group; k++) tile[to + k] = s * (q[qo + k] - z);
    }

    /** tile[to, to + group) = s * (nibble - z) for the group of 4-bit codes starting at column k0 of the row at q[rowOff ..]. */
    private static void dequantizeGroup4(byte[] q, int rowOff, int k0, int group, boolean blocked, float s, float z,
                                         float[] tile, int to) {
        FloatVector sv = FloatVector.broadcast(F, s), zv = FloatVector.broadcast(F, z);
        int whole = VECTOR ? group - group % 32 : 0;
        for (int c = 0; c < whole; c += 32) {
            int b = rowOff + (k0 + c) / 2;
            for (int j = 0; j < 16; j += LANES) {
                IntVector bv = (IntVector) ByteVector.fromArray(B, q, b + j).convertShape(B2I, I, 0);   // both nibbles
                ((FloatVector) bv.and(0x0F).convertShape(I2F, F, 0)).sub(zv).mul(sv).intoArray(tile, to + c + j);
                ((FloatVector) bv.lanewise(ASHR, 4).and(0x0F).convertShape(I2F, F, 0)).sub(zv).mul(sv)
                        .intoArray(tile, to + c + 16 + j);
            }
        }
        for (int k = whole; k < group; k++) tile[to + k] = s * (nibble(q, rowOff, k0 + k, blocked) - z);
    }

    /** The zero of the in-memory code of group index i (see {@link PackedWeights#offsets}). */
    private static float zeroOf(PackedWeights w, int i) {
        return switch (w.format()) {
            case INT8_ASYM -> w.zero(i / w.groups(), i % w.groups()) - 128;
            case INT4_ASYM -> w.zero(i / w.groups(), i % w.groups());
            case INT4, Q4_0 -> 8;
            default -> 0;
        };
    }

    /**
     * y[yo + r*ys] = dot(tile row r, x[xo ..]) for r < rows (1 to 4), the tile [rows, in] at 0; four rows share
     * each x load.
     */
    static void tileDot(float[] tile, int rows, int in, float[] x, int xo, float[] y, int yo) {
        int bound = VECTOR ? in - in % LANES : 0;
        if (rows == 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int k = 0;
            for (; k < bound; k += LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, xo + k);
                a0 = FloatVector.fromArray(F, tile, k).fma(xv, a0);
                a1 = FloatVector.fromArray(F, tile, in + k).fma(xv, a1);
                a2 = FloatVector.fromArray(F, tile, 2 * in + k).fma(xv, a2);
                a3 = FloatVector.fromArray(F, tile, 3 * in + k).fma(xv, a3);
            }
            float c0 = sumLanes(a0), c1 = sumLanes(a1), c2 = sumLanes(a2), c3 = sumLanes(a3);
            for (; k < in; k++) {
                float xk = x[xo + k];
                c0 += tile[k] * xk;
                c1 += tile[in + k] * xk;
                c2 += tile[2 * in + k] * xk;
                c3 += tile[3 * in + k] * xk;
            }
            y[yo] = c0;
            y[yo + 1] = c1;
            y[yo + 2] = c2;
            y[yo + 3] = c3;
            return;
        }
        for (int r = 0; r < rows; r++) y[yo + r] = tileRowDot(tile, r * in, in, bound, x, xo);
    }

    /** dot(tile[to, to + in), x[xo ..]): the single-row case of {@link #tileDot}, a method of its own so the
     * four-row loop and this one are compiled (and their vectors scalarised) separately. */
    private static float tileRowDot(float[] tile, int to, int in, int bound, float[] x, int xo) {
        FloatVector a = FloatVector.zero(F);
        int k = 0;
        for (; k < bound; k += LANES) a = FloatVector.fromArray(F, tile, to + k).fma(FloatVector.fromArray(F, x, xo + k), a);
        float c = sumLanes(a);
        for (; k < in; k++) c += tile[to + k] * x[xo + k];
        return c;
    }
}
