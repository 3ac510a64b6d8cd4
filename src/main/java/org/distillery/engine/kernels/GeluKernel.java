package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

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
        FloatTensor X = x, O = out;
        int n = x.size(), i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i);
            FloatVector u = v.mul(v).mul(v).mul(C1).add(v).mul(C0);   // C0 (x + C1 x^3)
            FloatVector t = u.lanewise(VectorOperators.TANH);
            store(t.add(1f).mul(v).mul(0.5f), O, i);
        }
        for (; i < n; i++) {
            float v = get(X, i);
            float t = (float) Math.tanh(C0 * (v + C1 * v * v * v));
            put(O, i, 0.5f * v * (1f + t));
        }
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
        FloatTensor D = dout, X = x, DX = dx;
        int n = x.size(), i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i), v2 = v.mul(v);
            FloatVector t = v2.mul(v).mul(C1).add(v).mul(C0).lanewise(VectorOperators.TANH);
            FloatVector onePlusT = t.add(1f);
            FloatVector du = v2.fma(C3, 1f).mul(C0);                  // C0 (1 + 3 C1 x^2)
            FloatVector oneMinusT2 = t.mul(t).neg().add(1f);
            FloatVector grad = onePlusT.add(v.mul(oneMinusT2).mul(du)).mul(0.5f);
            store(grad.mul(load(D, i)), DX, i);
        }
        for (; i < n; i++) {
            float v = get(X, i);
            float t = (float) Math.tanh(C0 * (v + C1 * v * v * v));
            float grad = 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * C0 * (1f + C3 * v * v);
            put(DX, i, get(D, i) * grad);
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
