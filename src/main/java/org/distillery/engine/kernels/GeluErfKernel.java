package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static org.distillery.engine.kernels.VectorOps.LANES;
import static org.distillery.engine.kernels.VectorOps.SPECIES;
import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.load;
import static org.distillery.engine.kernels.VectorOps.put;
import static org.distillery.engine.kernels.VectorOps.store;

/**
 * GELU in the exact erf form (Hendrycks and Gimpel 2016; BERT's {@code hidden_act = "gelu"}, PyTorch
 * {@code gelu(approximate='none')}), elementwise, with Phi the standard normal CDF and phi its density:
 * <pre>
 *   y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
 *   dy/dx = Phi(x) + x phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
 * </pre>
 * (GPT-2's tanh form is {@link GeluKernel}; the two differ by up to 4.7e-4.)
 *
 * <h2>Evaluation in fp32 (the same in every JIT tier)</h2>
 * Phi is computed from the tail q = Phi(-|x|) = erfc(|x| / sqrt 2) / 2, then Phi(x) = 1 - q for x &gt;= 0 and
 * q for x &lt; 0, so the negative tail keeps its relative accuracy (no 1 + erf cancellation). With z = |x| / sqrt 2,
 * <pre>
 *   erfc(z) = t exp(-z^2) P(t),   t = 1 / (1 + z / 2),   P a degree-10 polynomial
 * </pre>
 * P was fitted for this kernel (iteratively reweighted least squares for the relative error of erfc over
 * z in [0, 10]; the same form as Abramowitz-Stegun 7.1.26 / Numerical Recipes' erfcc, with more terms):
 * in exact arithmetic its relative error is 3.4e-9; evaluated in fp32 (Horner with fma) about 3e-7 relative
 * to erfc, i.e. at most 1.5e-7 absolute on Phi. exp(-z^2) = exp(-x^2/2) uses {@link VectorOps#exp(FloatVector)},
 * with x^2 = hi + lo split by an fma (hi = x*x rounded, lo = fma(x, x, -hi) exact) and exp(-(hi+lo)/2)
 * = exp(-hi/2) (1 - lo/2), so the argument carries no rounding error of its own (it would be amplified
 * by x^2/2 in the tail). For |x| &gt; 13, exp(-x^2/2) is taken as 0 (so Phi(x) is exactly 0 or 1 and phi 0;
 * Phi(-13) = 6e-39 is below fp32's normal range), and |x| is clamped to 13 inside the formulas. The same e = exp(-x^2/2) gives phi for the backward. The vector loops use only
 * elementwise IEEE operations, compare/blend and {@link VectorOps#exp(FloatVector)}; the scalar tails perform
 * the same operations as one lane.
 *
 * <p>The double twins use an erf of their own ({@link #erfReference}, {@link #erfcReference}: a positive
 * power series below 2.5 and the continued fraction of erfc above, accurate to about 1e-15; Java has no
 * {@code Math.erf}). Tensors are read flat, so any shape works as long as the element counts match.
 */
public final class GeluErfKernel {
    private GeluErfKernel() {}

    /** 1 / sqrt(2 pi). */
    public static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    // P(t) / 2, so that q = t e P'(t) = erfc(z) / 2 directly (halving the fitted coefficients is exact)
    private static final float C0 = 1.4104401010e-01f, C1 = 1.4113200600e-01f, C2 = 1.2253160505e-01f,
            C3 = 9.3126038358e-02f, C4 = 2.6265815441e-02f, C5 = 2.0467210640e-02f, C6 = -1.5344397672e-02f,
            C7 = -1.4022530763e-01f, C8 = 1.8766334863e-01f, C9 = -9.4346987775e-02f, C10 = 1.7686660531e-02f;
    private static final float K = (float) (0.5 / Math.sqrt(2.0));     // t = 1 / (1 + K |x|)
    private static final float CLAMP = 13f;
    private static final float PHI = (float) INV_SQRT_2PI;

    private static final FloatVector V_C0 = bc(C0), V_C1 = bc(C1), V_C2 = bc(C2), V_C3 = bc(C3), V_C4 = bc(C4),
            V_C5 = bc(C5), V_C6 = bc(C6), V_C7 = bc(C7), V_C8 = bc(C8), V_C9 = bc(C9), V_C10 = bc(C10);
    private static final FloatVector V_K = bc(K), V_CLAMP = bc(CLAMP), V_ONE = bc(1f), V_MHALF = bc(-0.5f),
            V_PHI = bc(PHI);

    private static FloatVector bc(float v) { return FloatVector.broadcast(SPECIES, v); }

    /**
     * out = gelu(x), erf form.
     *
     * @param x   input, [N, C] (any shape)
     * @param out output, same element count as x (may alias x)
     */
    public static void forward(FloatTensor x, FloatTensor out) {
        Check.sameSize("x", x, "out", out);
        forwardLoop(x, out, x.size());
    }

    /**
     * dx = dout * gelu'(x), erf form.
     *
     * @param dout upstream gradient, same element count as x
     * @param x    forward input, [N, C] (any shape)
     * @param dx   input gradient (overwritten), same element count (may alias dout)
     */
    public static void backward(FloatTensor dout, FloatTensor x, FloatTensor dx) {
        Check.sameSize("x", x, "dout", dout);
        Check.sameSize("x", x, "dx", dx);
        backwardLoop(dout, x, dx, x.size());
    }

    /** exp(-x^2 / 2) for |x| &lt;= 13, argument split hi + lo (see the class comment). */
    private static FloatVector gauss(FloatVector a) {
        FloatVector hi = a.mul(a), lo = a.fma(a, hi.neg());
        FloatVector e = VectorOps.exp(hi.mul(V_MHALF));
        return lo.mul(V_MHALF).fma(e, e);
    }

    private static float gauss(float a) {
        float hi = a * a, lo = Math.fma(a, a, -hi);
        float e = VectorOps.exp(hi * -0.5f);
        return Math.fma(lo * -0.5f, e, e);
    }

    /** Phi(-a) = t e P'(t) for a = min(|x|, 13), given e = exp(-a^2/2). */
    private static FloatVector tail(FloatVector a, FloatVector e) {
        FloatVector t = V_ONE.div(a.fma(V_K, V_ONE));
        FloatVector p = t.fma(V_C10, V_C9).fma(t, V_C8).fma(t, V_C7).fma(t, V_C6).fma(t, V_C5)
                .fma(t, V_C4).fma(t, V_C3).fma(t, V_C2).fma(t, V_C1).fma(t, V_C0);
        return p.mul(t).mul(e);
    }

    private static float tail(float a, float e) {
        float t = 1f / Math.fma(a, K, 1f);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(
                Math.fma(t, C10, C9), t, C8), t, C7), t, C6), t, C5), t, C4), t, C3), t, C2), t, C1), t, C0);
        return p * t * e;
    }

    /** Phi(x) = x &lt; 0 ? q : 1 - q with q = Phi(-|x|). */
    private static FloatVector cdf(FloatVector v, FloatVector q) {
        VectorMask<Float> neg = v.compare(VectorOperators.LT, 0f);
        return V_ONE.sub(q).blend(q, neg);
    }

    private static float cdf(float v, float q) {
        return v < 0f ? q : 1f - q;
    }

    private static void forwardLoop(FloatTensor X, FloatTensor O, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), a = v.abs();
            FloatVector e = gauss(a.min(V_CLAMP)).blend(0f, a.compare(VectorOperators.GT, CLAMP));
            store(v.mul(cdf(v, tail(a.min(V_CLAMP), e))), O, i);
        }
        for (; i < n; i++) {
            float v = get(X, i), a = Math.abs(v);
            float e = a > CLAMP ? 0f : gauss(Math.min(a, CLAMP));
            put(O, i, v * cdf(v, tail(Math.min(a, CLAMP), e)));
        }
    }

    /** dx = dy (Phi(x) + x e / sqrt(2 pi)), e = exp(-x^2/2). */
    private static void backwardLoop(FloatTensor D, FloatTensor X, FloatTensor DX, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), a = v.abs();
            FloatVector e = gauss(a.min(V_CLAMP)).blend(0f, a.compare(VectorOperators.GT, CLAMP));
            FloatVector grad = v.mul(V_PHI).fma(e, cdf(v, tail(a.min(V_CLAMP), e)));
            store(grad.mul(load(D, i)), DX, i);
        }
        for (; i < n; i++) {
            float v = get(X, i), a = Math.abs(v);
            float e = a > CLAMP ? 0f : gauss(Math.min(a, CLAMP));
            float grad = Math.fma(v * PHI, e, cdf(v, tail(Math.min(a, CLAMP), e)));
            put(DX, i, grad * get(D, i));
        }
    }

    // ------------------------------------------------------------------------------------------------
    // double twins

    /** erf(z) in double (about 1e-15 absolute): power series below |z| = 2.5, 1 - erfc above. */
    public static double erfReference(double z) {
        if (Double.isNaN(z)) return z;
        double a = Math.abs(z);
        double r;
        if (a < 2.5) {
            // erf(a) = 2/sqrt(pi) exp(-a^2) sum_n 2^n a^(2n+1) / (1*3*...*(2n+1)): positive terms, no cancellation
            double term = a, sum = a;
            for (int n = 1; term > 1e-17 * sum; n++) {
                term *= 2 * a * a / (2 * n + 1);
                sum += term;
            }
            r = 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum;
        } else {
            r = 1 - erfcReference(a);
        }
        return z < 0 ? -r : r;
    }

    /**
     * erfc(z) in double: for z &gt;= 2.5 the continued fraction
     * erfc(z) = exp(-z^2) / sqrt(pi) / (z + (1/2) / (z + 1 / (z + (3/2) / (z + ...)))) with 60 levels
     * (relative error about 1e-14), otherwise 1 - erf(z).
     */
    public static double erfcReference(double z) {
        if (Double.isNaN(z)) return z;
        if (z < 2.5) return 1 - erfReference(z);
        double f = z;
        for (int k = 60; k >= 1; k--) f = z + (k / 2.0) / f;
        return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
    }

    /** Phi(x) = erfc(-x / sqrt 2) / 2 in double (relative accuracy kept in the negative tail). */
    public static double normalCdfReference(double x) {
        return 0.5 * erfcReference(-x / Math.sqrt(2.0));
    }

    /** Double-precision twin of one element of {@link #forward}: x Phi(x). */
    public static double geluReference(double x) {
        return x * normalCdfReference(x);
    }

    /** Double-precision derivative: Phi(x) + x phi(x). */
    public static double geluGradReference(double x) {
        return normalCdfReference(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /** Double-precision twin of {@link #forward}: out[i] = gelu(x[i]). */
    public static void forwardReference(double[] x, double[] out) {
        for (int i = 0; i < x.length; i++) out[i] = geluReference(x[i]);
    }

    /** Double-precision twin of {@link #backward}: dx[i] = dout[i] gelu'(x[i]). */
    public static void backwardReference(double[] dout, double[] x, double[] dx) {
        for (int i = 0; i < x.length; i++) dx[i] = dout[i] * geluGradReference(x[i]);
    }
}
