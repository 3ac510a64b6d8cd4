package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;

import static org.distillery.engine.kernels.VectorOps.LANES;
import static org.distillery.engine.kernels.VectorOps.SPECIES;
import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.load;
import static org.distillery.engine.kernels.VectorOps.put;
import static org.distillery.engine.kernels.VectorOps.store;

/**
 * GELU, tanh approximation exactly as GPT-2 (Hendrycks and Gimpel 2016, eq. in section 2;
 * PyTorch {@code gelu(approximate='tanh')}), elementwise:
 * <pre>
 *   u = sqrt(2/pi) (x + 0.044715 x^3),  t = tanh(u),  y = 0.5 x (1 + t)
 *   dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
 * </pre>
 * Evaluated without tanh, through e = exp(2u) ({@link VectorOps#exp(FloatVector)}, the same in every JIT
 * tier): with q = e / (e + 1) = (1 + t) / 2 and s = 1 / (e + 1) = (1 - t) / 2,
 * <pre>
 *   y = x q,   dy/dx = q + x q s (2 C0 (1 + 3 * 0.044715 x^2))
 * </pre>
 * which also avoids the cancellation of 1 + t and 1 - t^2 for |u| large.
 * Tensors are read flat, so any shape works as long as the element counts match.
 */
public final class GeluKernel {
    private GeluKernel() {}

    /** sqrt(2/pi). */
    public static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    /** The cubic coefficient of the GPT-2 approximation. */
    public static final double CUBIC = 0.044715;

    private static final float C0 = (float) SQRT_2_OVER_PI;
    private static final float C1 = (float) CUBIC;
    private static final float C3 = (float) (3.0 * CUBIC);

    /**
     * out = gelu(x).
     *
     * @param x   input, [N, C] (any shape)
     * @param out output, same element count as x (may alias x)
     */
    public static void forward(FloatTensor x, FloatTensor out) {
        Check.sameSize("x", x, "out", out);
        forwardLoop(x, out, x.size());
    }

    /**
     * dx = dout * gelu'(x).
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

    private static final float TWO_C0 = 2f * C0;                       // 2u = 2 C0 (x + C1 x^3)
    private static final float DU_A = 2f * C0 * C3, DU_B = 2f * C0;     // 2 du/dx = DU_A x^2 + DU_B
    private static final FloatVector V_C1 = FloatVector.broadcast(SPECIES, C1), V_TWO_C0 = FloatVector.broadcast(SPECIES, TWO_C0);
    private static final FloatVector V_DU_A = FloatVector.broadcast(SPECIES, DU_A), V_DU_B = FloatVector.broadcast(SPECIES, DU_B);
    private static final FloatVector V_ONE = FloatVector.broadcast(SPECIES, 1f);

    /**
     * y = x q with q = e / (e + 1), e = exp(2u). The loops are methods of their own, with few vector
     * operations, so that C2 compiles each within its inlining budget (no vector boxed on the heap); the
     * scalar tails perform the same operations as one vector lane.
     */
    private static void forwardLoop(FloatTensor X, FloatTensor O, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i);
            FloatVector e = VectorOps.exp(v.mul(v).mul(v).fma(V_C1, v).mul(V_TWO_C0));
            store(v.mul(e.div(e.add(V_ONE))), O, i);
        }
        for (; i < n; i++) {
            float v = get(X, i);
            float e = VectorOps.exp(Math.fma(v * v * v, C1, v) * TWO_C0);
            put(O, i, v * (e / (e + 1f)));
        }
    }

    /** dx = dy (q + x q s (2 du)), q = e / (e + 1), s = 1 / (e + 1), 2 du = 2 C0 (1 + 3 C1 x^2). */
    private static void backwardLoop(FloatTensor D, FloatTensor X, FloatTensor DX, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), v2 = v.mul(v);
            FloatVector e = VectorOps.exp(v2.mul(v).fma(V_C1, v).mul(V_TWO_C0)), d = e.add(V_ONE);
            FloatVector q = e.div(d);
            FloatVector grad = v.mul(q).mul(V_ONE.div(d)).fma(v2.fma(V_DU_A, V_DU_B), q);
            store(grad.mul(load(D, i)), DX, i);
        }
        for (; i < n; i++) {
            float v = get(X, i), v2 = v * v;
            float e = VectorOps.exp(Math.fma(v2 * v, C1, v) * TWO_C0), d = e + 1f;
            float q = e / d;
            float grad = Math.fma(v * q * (1f / d), Math.fma(v2, DU_A, DU_B), q);
            put(DX, i, grad * get(D, i));
        }
    }

    /** Double-precision twin of {@link #forward}. */
    public static double geluReference(double x) {
        return 0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x)));
    }

    /** Double-precision derivative d gelu(x) / dx. */
    public static double geluGradReference(double x) {
        double t = Math.tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * CUBIC * x * x);
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
