package org.distillery.quant.packed;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;

/**
 * The W8A8 matrix-vector product on 8-bit codes (INT8, INT8_ASYM, Q8_0): x is quantized to int8 per weight group
 * ({@link Int8Activations}; with one group per row, as {@code PackedGpt}'s per-channel INT8 models have, that is
 * SmoothQuant's per-token dynamic activation quantization), and the code-activation products are summed in integer
 * lanes, exactly, before one conversion to float per step:
 * <pre>
 *   y[o] = sum_g scale[o, g] * sx[g] * sum_k c'[o, k] * qx_g[k]  -  sum_g offset[o, g] * sum_k x_g[k]
 * </pre>
 * where c' is the stored signed code ({@link PackedWeights}: the code for INT8 and Q8_0, code - 128 for INT8_ASYM)
 * and {@code offset = scale * z'} ({@link PackedWeights#offsets}, INT8_ASYM only; its term stays in float on the
 * float x, as in {@link Int4A8MatVec}). Against the exact product the error is at most
 * {@code sum_g |scale[o, g]| * sx[g] / 2 * sum_k |c'[o, k]|} (each |x - sx qx| is at most sx / 2), plus fp32
 * rounding; {@code Int8A8MatVecTest} checks both that bound and the integer sums exactly.
 *
 * <p>Why: the float kernel ({@link PackedKernels#matvec8}) widens each code to a float, one conversion and one FMA per
 * 16 weights (512-bit vectors), and on JDK 17 that work, not memory, can set its speed out of cache: [768, 3072] INT8
 * g128 took 101 us in cache and 102 us cycled through 1 GiB on the AMD EPYC (Zen 4) in session 14 (JDK 25: 63 us in
 * cache). Here a 16-bit lane holds one product: per step of {@link #STEP} columns, two code vectors are
 * widened byte to short ({@code B2S}), multiplied by qx and added, which is exact: |c' qx| &lt;= 128 * 127, so two
 * products sum to at most {@link #MAX_PAIR_SUM} &lt; 2^15. Each 32-bit lane i then holds two such sums, whose total
 * {@code (i >> 16) + ((i << 16) >> 16)} (high half, sign-extended low half; at most 65,024, exact in int and in float)
 * is converted to float and added, times {@code scale * sx}, into the row's float lane accumulator.
 *
 * <p>One flat loop over the steps, with only the float accumulators carried: a first version summed a group's steps
 * in int lane accumulators and converted once per group (nested loops, or a flat loop flushing them at each group's
 * end). On JDK 17, C2 compiled that into code that allocated its vectors in some JVMs: in notebook 20, where the other
 * kernels ran first, the W8A8 teacher decoded at 0.42x the float model (int8 with float activations: 2.26x), and a
 * harness in the same order allocated 387 KB per [768, 256] product (session 15). This form allocates nothing in that
 * harness and costs one conversion and one FMA per step and row more. In notebook 20's own JVM it still compiled
 * badly on JDK 17 (the W8A8 teacher at 0.65x the float model). The cause, found in session 16, was not the kernel's
 * form but C2's per-method trap limit ({@link org.distillery.util.JitSettings}): the compilations of {@link #rows4}
 * that allocated counted 102-136 class-check traps in their inlined Vector API methods, over the limit of 100, and
 * kept virtual calls whose results forced every vector into the heap (170 KB per call of a [192, 64] layer). The
 * launchers now raise the limit.
 *
 * <p>Rows: four per call ({@link #rows4}), a quarter of the matrix apart, so that over the steps each quarter is read as
 * one sequential stream, as {@link PackedKernels#STREAMS} does for the float kernel; the codes are read in place,
 * without a copy in another layout. A throwaway spike of the first form with four rows that way, [768, 3072] INT8
 * g128 on the Zen 4 machine (session 15, JDK 17, medians of 15 rounds): 84 us cycled through 1 GiB against 105 for the
 * float kernel's loop, 51 against 52-83 in cache; the float kernel's loop on its four rows interleaved 16 columns at a
 * time (one stream, the W4A8 layout's idea) ran slower out of cache, 129 us. {@code PackedBench --a8-first} (session 15, JDK 17, this form), against float32:
 * 3.55x and 3.39x out of cache on [768, 3072] and [3072, 768] (the float kernel 2.46x and 2.53x in the same run), 3.01x
 * and 1.62x in cache (1.71x and 0.96x); on JDK 25 out of cache about the float kernel's speed, which is memory-bound
 * there (README, "Session 15").
 *
 * <p>As in {@link PackedKernels}, the method that handles vectors takes and returns none (JDK 17's C2 would box
 * them), the rows of a call share each qx load, and lane sums use the fixed order of {@link PackedKernels#sumLanes}
 * (its shuffle tree, written out). {@code PackedAllocationTest} checks that nothing is allocated.
 */
final class Int8A8MatVec {
    private Int8A8MatVec() {}

    static final VectorSpecies<Float> F = PackedKernels.F;
    /** 16-bit lanes of the float vector's width: one product each. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** Codes that widen to one short vector. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(S.length() * 8));
    /** 16-bit lanes per vector. */
    static final int NS = S.length();
    /** Columns per step: two short vectors of products, added. */
    static final int STEP = 2 * NS;
    /** The largest magnitude of one 16-bit lane's sum of two products, |c'| &lt;= 128 and |qx| &lt;= 127. */
    static final int MAX_PAIR_SUM = 2 * 128 * 127;
    /** Rows per call, each read as a stream a quarter of the matrix from the next. */
    static final int STREAMS = PackedKernels.STREAMS;

    /** What {@link #supports} asks of a weight, for error messages. */
    static final String REQUIREMENT = "an 8-bit format (INT8, INT8_ASYM, Q8_0) with the group a multiple of " + STEP
            + " columns";

    /** Whether this kernel computes the product of {@code w}: an 8-bit format whose groups are whole steps. */
    static boolean supports(PackedWeights w) {
        return w.format().bits() == 8 && F.length() >= 4 && w.group() % STEP == 0;
    }

    /**
     * Quantizes x[xo, xo + in) per group ({@link Int8Activations#quantize}, dynamic scales, or {@code fixedScale} &gt;
     * 0 for every group) into qx [in] (natural order, as shorts), sx and xsum; qi [in] is scratch.
     */
    static void quantize(float[] x, int xo, int in, int group, int[] qi, short[] qx, float[] sx, float[] xsum,
                         float fixedScale) {
        Int8Activations.quantize(x, xo, in, group, qi, sx, xsum, fixedScale);
        for (int k = 0; k < in; k++) qx[k] = (short) qi[k];
    }

    /**
     * y[yo + o] = row o of W times x for o in [0, out), x given by {@link #quantize}.
     *
     * @param q       codes [out, in] (signed int8, {@link PackedWeights}' in-memory layout)
     * @param scales  [out, groups]
     * @param offsets [out, groups] (INT8_ASYM), or null
     */
    static void matvec(byte[] q, float[] scales, float[] offsets, int out, int in, int group, short[] qx, float[] sx,
                       float[] xsum, float[] y, int yo) {
        int groups = in / group, stride = (out + STREAMS - 1) / STREAMS;
        for (int b = 0; b < stride; b++) rows4(q, in, group, groups, qx, sx, scales, y, yo, b, stride, out - 1);
        if (offsets != null) PackedKernels.subtractCorrections(offsets, out, groups, xsum, y, yo);
    }

    /**
     * y[yo + r] for the rows r_k = min(b + k stride, last), k = 0..3 (not necessarily distinct; a repeated row is
     * written more than once with the same value): per step, the two code vectors of each row times the two qx
     * vectors, added in 16-bit lanes, their pairs added in int lanes, converted to float and scaled by
     * {@code scale * sx} of the step's group into float lane accumulators; then the lane sums.
     */
    private static void rows4(byte[] q, int in, int group, int groups, short[] qx, float[] sx, float[] scales,
                              float[] y, int yo, int b, int stride, int last) {
        int r0 = Math.min(b, last), r1 = Math.min(b + stride, last), r2 = Math.min(b + 2 * stride, last);
        int r3 = Math.min(b + 3 * stride, last);
        int q0 = r0 * in, q1 = r1 * in, q2 = r2 * in, q3 = r3 * in;
        int s0 = r0 * groups, s1 = r1 * groups, s2 = r2 * groups, s3 = r3 * groups, perGroup = group / STEP;
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0;
        for (int k = 0, g = 0, j = 0; k < in; k += STEP) {          // one flat loop (see the class comment)
            ShortVector xa = ShortVector.fromArray(S, qx, k), xb = ShortVector.fromArray(S, qx, k + NS);
            float f = sx[g];
            IntVector i0 = ((ShortVector) ByteVector.fromArray(B, q, q0 + k).convertShape(B2S, S, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromArray(B, q, q0 + k + NS).convertShape(B2S, S, 0)).mul(xb))
                    .reinterpretAsInts();
            t0 = ((FloatVector) i0.lanewise(ASHR, 16).add(i0.lanewise(LSHL, 16).lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s0 + g] * f), t0);
            IntVector i1 = ((ShortVector) ByteVector.fromArray(B, q, q1 + k).convertShape(B2S, S, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromArray(B, q, q1 + k + NS).convertShape(B2S, S, 0)).mul(xb))
                    .reinterpretAsInts();
            t1 = ((FloatVector) i1.lanewise(ASHR, 16).add(i1.lanewise(LSHL, 16).lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s1 + g] * f), t1);
            IntVector i2 = ((ShortVector) ByteVector.fromArray(B, q, q2 + k).convertShape(B2S, S, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromArray(B, q, q2 + k + NS).convertShape(B2S, S, 0)).mul(xb))
                    .reinterpretAsInts();
            t2 = ((FloatVector) i2.lanewise(ASHR, 16).add(i2.lanewise(LSHL, 16).lanewise(ASHR, 16)).convertShape(I2F, F, 0))
                    .fma(FloatVector.broadcast(F, scales[s2 + g] * f), t2);
            IntVector i3 = ((ShortVector) ByteVector.fromArray(B, q, q3 + k).convertShape(B2S, S, 0)).mul(xa)
                    .add(((ShortVector) ByteVector.fromArray(B, q, q3 + k + NS).convertShape(B2S, S, 0)).mul(xb))
                    .reinterpretAsInts();
            t3 = ((FloatVector) i3.lanewise(ASHR, 16).add(i3.lanewise(LSHL, 16).lanewise(ASHR, 16)).convertShape(I2F, F, 0))
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
        y[yo + r0] = t0.lane(0);
        y[yo + r1] = t1.lane(0);
        y[yo + r2] = t2.lane(0);
        y[yo + r3] = t3.lane(0);
    }
}
