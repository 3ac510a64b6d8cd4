package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.IntBinaryOperator;

/**
 * The reference both integer-kernel tests ({@link Int4A8MatVecTest}, {@link Int8A8MatVecTest}) check a product
 * against, in double: x quantized to int8 per group here, independently of {@link Int8Activations}; the integer sums
 * of codes times qx in {@code long}; the zero correction, where the kernel keeps it in float, on the float x.
 */
final class A8Reference {
    private A8Reference() {}

    private static final double U = Math.scalb(1.0, -24);

    /**
     * Checks output row y[yo ..] of input x[xo ..] against (1) the integer formula, within the fp32 rounding bound
     * {@code (2 groups + 24) * 2^-24 * (sum_g |s_g sx_g| sum_k |c_k qx_k| + sum_g |offset_g sum_k x_k|)} plus
     * {@code sum_g |offset_g| (group + 8) 2^-24 sum_k |x_k|} for the float sums of x, and (2) the exact product on the
     * dequantized weight, within that plus the activation rounding {@code sum_g |s_g| sx_g / 2 * sum_k |c_k|} and fp32
     * rounding of the exact product's own size.
     *
     * @param code      c(o, k): the integer the kernel multiplies with qx for row o, column k
     * @param floatZero whether the kernel subtracts {@code offset * sum(x_g)} in float ({@link PackedWeights#offsets})
     * @return {worst error / fp32 bound, worst error / activation-rounding bound} over the rows
     */
    static double[] check(String what, PackedWeights pw, float[] bias, float[] x, int xo, float[] y, int yo,
                          IntBinaryOperator code, boolean floatZero) {
        return check(what, pw, bias, x, xo, y, yo, code, floatZero, 0f);
    }

    /**
     * As above, with x quantized with one fixed scale (&gt; 0; 0: per group as above): qx = round(clamp(x / s, -127,
     * 127)); the exact product and the float sums of x are then those of x clipped to +-127 s, the input the
     * static quantizer's grid represents.
     */
    static double[] check(String what, PackedWeights pw, float[] bias, float[] xIn, int xo, float[] y, int yo,
                          IntBinaryOperator code, boolean floatZero, float fixedScale) {
        int in = pw.in(), out = pw.out(), g = pw.group(), groups = pw.groups();
        double[] sx = new double[groups];
        int[] qx = new int[in];
        float[] x = xIn.clone();
        if (fixedScale > 0) {
            float lim = 127f * fixedScale;
            for (int k = 0; k < in; k++) x[xo + k] = Math.max(-lim, Math.min(lim, x[xo + k]));
        }
        for (int gi = 0; gi < groups; gi++) {
            float m = 0;
            for (int k = gi * g; k < (gi + 1) * g; k++) m = Math.max(m, Math.abs(x[xo + k]));
            float s = fixedScale > 0 ? fixedScale : m / 127f;
            sx[gi] = s;
            for (int k = gi * g; k < (gi + 1) * g; k++) {
                qx[k] = s == 0 ? 0 : Math.round(Math.max(-127f, Math.min(127f, xIn[xo + k] / s)));
            }
        }
        double[] wd = pw.dequantize();
        double worstA = 0, worstB = 0;
        for (int o = 0; o < out; o++) {
            double formula = bias == null ? 0 : bias[o], exact = formula, magA = Math.abs(formula), round = 0, magX = 0;
            double sums = 0;                                     // rounding of the float group sums of x
            for (int gi = 0; gi < groups; gi++) {
                long dot = 0, absDot = 0, codes = 0;
                double xs = 0, xabs = 0;
                for (int k = gi * g; k < (gi + 1) * g; k++) {
                    int c = code.applyAsInt(o, k);
                    dot += (long) c * qx[k];
                    absDot += (long) Math.abs(c) * Math.abs(qx[k]);
                    codes += Math.abs(c);
                    xs += x[xo + k];
                    xabs += Math.abs(x[xo + k]);
                }
                double s = pw.scales[o * groups + gi], off = floatZero ? pw.offsets[o * groups + gi] : 0;
                formula += s * sx[gi] * dot - off * xs;
                magA += Math.abs(s * sx[gi]) * absDot + Math.abs(off * xs);
                sums += Math.abs(off) * (g + 8) * U * xabs;
                round += Math.abs(s) * sx[gi] / 2 * codes;
                magX += Math.abs(s) * codes * xabs;
            }
            for (int k = 0; k < in; k++) exact += wd[o * in + k] * x[xo + k];
            double boundA = (2 * groups + 24) * U * magA + sums;
            double errA = Math.abs(y[yo + o] - formula), errB = Math.abs(y[yo + o] - exact);
            assertTrue(errA <= boundA, what + " o" + o + ": |y - formula| = " + errA + " > " + boundA);
            double boundB = round + boundA + (in + 8) * U * magX;
            assertTrue(errB <= boundB, what + " o" + o + ": |y - exact| = " + errB + " > " + boundB);
            worstA = Math.max(worstA, errA / boundA);
            worstB = Math.max(worstB, errB / boundB);
        }
        return new double[] {worstA, worstB};
    }
}
