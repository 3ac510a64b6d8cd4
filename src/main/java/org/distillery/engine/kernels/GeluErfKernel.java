package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

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
 *   erfc(z) = t exp(-z^2) P(t),   t = 1 / (1 + z / 2),   P a degree-8 polynomial
 * </pre>
 * P was fitted for this kernel (iteratively reweighted least squares for the relative error of erfc over
 * z in [0, 10]; the same form as Abramowitz-Stegun 7.1.26 / Numerical Recipes' erfcc, with more terms):
 * in exact arithmetic its relative error is 4.3e-8; evaluated in fp32 (Horner with fma) about 3.3e-7 relative
 * to erfc, i.e. at most 1.5e-7 absolute on Phi. phi = exp(-x^2/2 - ln sqrt(2 pi)) uses
 * {@link VectorOps#exp(FloatVector)} (the coefficients above absorb the sqrt(2 pi)); the rounding of the
 * argument (relative 6e-8) is amplified by x^2/2 in exp, so in the far negative tail Phi is relatively less
 * accurate (about 1e-6 at |x| = 5, 5e-6 at 13) while its absolute error there is below 1e-12. (An fma split
 * x^2 = hi + lo would remove this, but the forward loop body would then exceed C2's inlining node budget and
 * allocate; see {@link #forwardLoop}.) No clamp is needed: exp clamps its argument at -87, so for |x| &gt; 13
 * q is below 1e-38 and y = max(x, 0) - |x| q is 0 or x to within 1e-37 |x| t, finite for every finite x.
 * The vector loops use only elementwise IEEE operations and {@link VectorOps#exp(FloatVector)} (no
 * compare/blend, no reductions); the scalar tails perform the same operations as one lane.
 *
 * <p>The double twins use an erf of their own ({@link #erfReference}, {@link #erfcReference}: a positive
 * power series below 2.5 and the continued fraction of erfc above, accurate to about 1e-15; Java has no
 * {@code Math.erf}). Tensors are read flat, so any shape works as long as the element counts match.
 */
public final class GeluErfKernel {
    private GeluErfKernel() {}

    /** 1 / sqrt(2 pi). */
    public static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    // P(t) sqrt(2 pi) / 2, so that q = t phi(x) P'(t) = erfc(z) / 2 directly with phi = exp(-z^2) / sqrt(2 pi)
    private static final float C0 = 3.5354290139e-01f, C1 = 3.5390487723e-01f, C2 = 3.0468592874e-01f,
            C3 = 2.5402849283e-01f, C4 = -3.3366598628e-02f, C5 = 3.4850062626e-01f, C6 = -6.1061042694e-01f,
            C7 = 3.5665978899e-01f, C8 = -7.4031506070e-02f;
    private static final float K = (float) (0.5 / Math.sqrt(2.0));     // t = 1 / (1 + K |x|)
    private static final float NLOG_SQRT_2PI = (float) -Math.log(Math.sqrt(2 * Math.PI));
    private static final float BIG = 0x1p126f;                        // x * 2^126 >= 1 for every normal x > 0

    private static final FloatVector V_C0 = bc(C0), V_C1 = bc(C1), V_C2 = bc(C2), V_C3 = bc(C3), V_C4 = bc(C4),
            V_C5 = bc(C5), V_C6 = bc(C6), V_C7 = bc(C7), V_C8 = bc(C8);
    private static final FloatVector V_K = bc(K), V_BIG = bc(BIG), V_MTWO = bc(-2f),
            V_ONE = bc(1f), V_MHALF = bc(-0.5f), V_NLOG_SQRT_2PI = bc(NLOG_SQRT_2PI);

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
     * @param dx   input gradient (overwritten), same element count; must not be dout or x (unlike
     *             {@link GeluKernel}: it holds an intermediate between two passes)
     */
    public static void backward(FloatTensor dout, FloatTensor x, FloatTensor dx) {
        Check.sameSize("x", x, "dout", dout);
        Check.sameSize("x", x, "dx", dx);
        if (dx == dout || dx == x) {
            throw new IllegalArgumentException("dx: must be a tensor of its own, not " + (dx == dout ? "dout" : "x")
                    + " (the backward runs in two passes)");
        }
        try {                                        // two loop methods, each compiled on its own (see densityPass)
            densityPass.invokeExact(dout, x, dx, x.size());
            combinePass.invokeExact(dout, x, dx, x.size());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);     // the passes throw nothing checked
        }
    }

    /*
     * The two backward passes are called through method handles in fields that are deliberately NOT final.
     * C2 inlines a method handle call only when the handle is a compile-time constant (a static final field);
     * through a mutable field it emits a plain call, so backwardDensity and backwardCombine each stay a
     * compilation unit of their own, as C2 compiles them from their loops' back-edge counts.
     *
     * Why: with direct calls, once backward itself became hot (about 5000 calls: Tier4InvocationThreshold),
     * C2 compiled it with both passes inlined ("inline (hot)", each is under FreqInlineSize = 325 bytes), the
     * two vector loop bodies together exceeded the inlining node budget, and the last VectorOps.load and
     * VectorOps.store of backwardCombine were left out of line ("NodeCountInliningCutoff" in -XX:+PrintInlining),
     * so every vector they passed was allocated on the heap: about 70 KB per BertAllocationTest step on JDK 17
     * (JFR jdk.ObjectAllocationSample: float[] and Float512Vector under GeluErfKernel.backwardCombine /
     * VectorMemory load), from the moment that compile was installed. Which compile comes first is a race, so
     * a test passed or failed by timing.
     */
    private static MethodHandle densityPass = pass("backwardDensity");
    private static MethodHandle combinePass = pass("backwardCombine");

    private static MethodHandle pass(String name) {
        try {
            return MethodHandles.lookup().findStatic(GeluErfKernel.class, name, MethodType.methodType(void.class,
                    FloatTensor.class, FloatTensor.class, FloatTensor.class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** phi(x) = exp(-x^2 / 2 - ln sqrt(2 pi)), the standard normal density. */
    private static FloatVector gauss(FloatVector a) {
        return VectorOps.exp(a.mul(a).fma(V_MHALF, V_NLOG_SQRT_2PI));
    }

    private static float gauss(float a) {
        return VectorOps.exp(Math.fma(a * a, -0.5f, NLOG_SQRT_2PI));
    }

    /** q = Phi(-a) = t e P'(t) for a = |x| &gt;= 0, given e = phi(a). */
    private static FloatVector tail(FloatVector a, FloatVector e) {
        FloatVector t = V_ONE.div(a.fma(V_K, V_ONE));
        FloatVector p = t.fma(V_C8, V_C7).fma(t, V_C6).fma(t, V_C5).fma(t, V_C4).fma(t, V_C3).fma(t, V_C2).fma(t, V_C1).fma(t, V_C0);
        return p.mul(t).mul(e);
    }

    private static float tail(float a, float e) {
        float t = 1f / Math.fma(a, K, 1f);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(
                Math.fma(t, C8, C7), t, C6), t, C5), t, C4), t, C3), t, C2), t, C1), t, C0);
        return p * t * e;
    }

    /**
     * y = max(x, 0) - |x| q with q = Phi(-|x|) (= x (1 - q) for x &gt;= 0 and x q for x &lt; 0). One loop body with few vector operations (no compare/blend): C2 inlines a loop
     * method only up to a node budget (NodeCountInliningCutoff), and a helper it leaves out of line gets its
     * vectors allocated on the heap.
     */
    private static void forwardLoop(FloatTensor X, FloatTensor O, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), a = v.abs();
            store(a.fma(tail(a, gauss(a)).neg(), v.max(0f)), O, i);
        }
        for (; i < n; i++) {
            float v = get(X, i), a = Math.abs(v);
            put(O, i, Math.fma(a, -tail(a, gauss(a)), Math.max(v, 0f)));
        }
    }

    /**
     * dx = dy (Phi(x) + x phi(x)) in two passes (one loop body with the exp and the polynomial would exceed
     * C2's inlining node budget, see {@link #forwardLoop}): first DX = phi(x), then
     * DX = dy (Phi(x) + x DX) with Phi(x) = q + H(x) (1 - 2q) (= 1 - q for x &gt; 0, q for x &lt;= 0), the step
     * H(x) = min(max(x 2^126, 0), 1) made of arithmetic rather than a compare and blend (fewer nodes; for
     * subnormal x &gt; 0, where H is fractional, 1 - 2q is below 1e-38).
     */
    private static void backwardDensity(FloatTensor D, FloatTensor X, FloatTensor DX, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) store(gauss(load(X, i).abs()), DX, i);
        for (; i < n; i++) put(DX, i, gauss(Math.abs(get(X, i))));
    }

    private static void backwardCombine(FloatTensor D, FloatTensor X, FloatTensor DX, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), a = v.abs(), e = load(DX, i), q = tail(a, e);
            FloatVector step = v.mul(V_BIG).max(0f).min(V_ONE);                  // H(x): 0 for x <= 0, 1 for x >= 2^-126
            FloatVector cdf = step.fma(q.fma(V_MTWO, V_ONE), q);                  // q + H (1 - 2q)
            store(v.fma(e, cdf).mul(load(D, i)), DX, i);
        }
        for (; i < n; i++) {
            float v = get(X, i), a = Math.abs(v), e = get(DX, i), q = tail(a, e);
            float step = Math.min(Math.max(v * BIG, 0f), 1f);
            float cdf = Math.fma(step, Math.fma(q, -2f, 1f), q);
            put(DX, i, Math.fma(v, e, cdf) * get(D, i));
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
