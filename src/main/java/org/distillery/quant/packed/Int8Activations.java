package org.distillery.quant.packed;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ASHR;

/**
 * x quantized to int8 per group, the activations of the integer kernels ({@link Int4A8MatVec} for 4-bit codes,
 * {@link Int8A8MatVec} for 8-bit ones), as llama.cpp quantizes them to Q8 for its integer dot products:
 * <pre>
 *   sx[g] = max_k |x_g[k]| / 127 (0 for a group of zeros),   q_g[k] = round(x_g[k] / sx[g])   in [-127, 127]
 * </pre>
 * with {@link Math#round(float)}'s rounding (half up), or with one fixed scale for every group and call (static
 * per-tensor quantization, as SmoothQuant's calibrated scales: {@code q = round(clamp(x / s, -127, 127))}, and x
 * clipped to +-127 s in xsum), and {@code xsum[g] = sum_k x_g[k]} (float, lane sums in
 * {@link PackedKernels#sumLanes}' order) for the asymmetric formats' zero correction. Each kernel then stores q in
 * its own order and type.
 */
final class Int8Activations {
    private Int8Activations() {}

    static final VectorSpecies<Float> F = PackedKernels.F;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer (see {@link #quantize}). */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

    /**
     * sx[g], xsum[g] and qi[k] = q (natural column order) for x[xo, xo + in), groups of {@code group} columns (a
     * multiple of the float lanes; the callers' {@code supports} ensure it). One flat loop per pass: on JDK 25, vectors
     * carried through a loop nested in the group loop (as in {@link PackedKernels#groupSums}) were allocated here. The
     * rounding is computed exactly on whole vectors without conversion instructions (JDK 17 ran its float-to-int
     * vector conversion slower than a scalar loop): for |v| &lt; 2^22, {@code v + 1.5 * 2^23} rounds v to the
     * nearest integer, ties to even, and its bits minus those of 1.5 * 2^23 are that integer n; d = v - n is exact,
     * and Math.round differs from n only at d = 1/2 (add 1: read from the sign bit of d - 1/2, which is +0 there and
     * negative below). |x / sx| &lt;= 127 here (clamped).
     *
     * @param qi         [in] the rounded values
     * @param sx         [in / group] the groups' scales
     * @param xsum       [in / group] the groups' sums of x (with a fixed scale, of x clipped to +-127 scales)
     * @param fixedScale a static scale for every group (&gt; 0; values beyond 127 of it are clipped), or 0 for the
     *                   dynamic scales max|x_g| / 127
     */
    static void quantize(float[] x, int xo, int in, int group, int[] qi, float[] sx, float[] xsum, float fixedScale) {
        int lanes = F.length(), perGroup = group / lanes;
        float lim = fixedScale > 0 ? 127f * fixedScale : Float.MAX_VALUE;   // xsum: of x clipped to a fixed range
        FloatVector m = FloatVector.zero(F), a = m;
        for (int k = 0, g = 0, j = 0; k < in; k += lanes) {        // one flat loop: no vector carried through two
            FloatVector v = FloatVector.fromArray(F, x, xo + k).max(-lim).min(lim);
            m = m.max(v.abs());
            a = a.add(v);
            if (++j == perGroup) {                               // lane max and sum in sumLanes' order
                for (int t = 0; t < PackedKernels.TREE.length; t++) {
                    m = m.max(m.rearrange(PackedKernels.TREE[t]));
                    a = a.add(a.rearrange(PackedKernels.TREE[t]));
                }
                sx[g] = fixedScale > 0 ? fixedScale : m.lane(0) / 127f;
                xsum[g++] = a.lane(0);
                m = FloatVector.zero(F);
                a = m;
                j = 0;
            }
        }
        for (int k = 0, j = 0, g = 0; k < in; k += lanes) {
            float s = sx[g];
            FloatVector v = FloatVector.fromArray(F, x, xo + k).div(s == 0f ? 1f : s)   // a group of zeros: 0
                    .max(-127f).min(127f);                       // clips only beyond a fixed scale's range
            FloatVector r = v.add(ROUNDER);                     // rint(v) + 1.5 * 2^23, exactly
            FloatVector d = v.sub(r.sub(ROUNDER));               // v - rint(v), in [-1/2, 1/2], exact
            IntVector tie = (IntVector) d.sub(0.5f).reinterpretAsInts();
            ((IntVector) r.reinterpretAsInts()).sub(ROUNDER_BITS - 1).add(tie.lanewise(ASHR, 31)).intoArray(qi, k);
            if (++j == perGroup) {
                j = 0;
                g++;
            }
        }
    }
}
