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
 * ReLU (Nair and Hinton 2010; PyTorch {@code nn.ReLU}), elementwise:
 * <pre>
 *   y = max(x, 0),   dx = dy [x &gt; 0]
 * </pre>
 * The derivative at x = 0 is taken as 0, as PyTorch does. Since y &gt; 0 exactly where x &gt; 0, the
 * backward may be given the forward output y in place of x (so the forward may run in place). A NaN
 * input gives a NaN output (as {@code torch.relu}) and a 0 gradient.
 * Tensors are read flat, so any shape works as long as the element counts match.
 */
public final class ReluKernel {
    private ReluKernel() {}

    private static final FloatVector V_ZERO = FloatVector.zero(SPECIES);

    /**
     * out = max(x, 0).
     *
     * @param x   input, [N, C] (any shape)
     * @param out output, same element count as x (may alias x)
     */
    public static void forward(FloatTensor x, FloatTensor out) {
        Check.sameSize("x", x, "out", out);
        forwardLoop(x, out, x.size());
    }

    /**
     * dx = dout * [x &gt; 0].
     *
     * @param dout upstream gradient, same element count as x
     * @param x    forward input (or forward output), [N, C] (any shape)
     * @param dx   input gradient (overwritten), same element count (may alias dout)
     */
    public static void backward(FloatTensor dout, FloatTensor x, FloatTensor dx) {
        Check.sameSize("x", x, "dout", dout);
        Check.sameSize("x", x, "dx", dx);
        backwardLoop(dout, x, dx, x.size());
    }

    /** Vector max with 0, then the same operation scalar for the tail (NaN stays NaN in both). */
    private static void forwardLoop(FloatTensor X, FloatTensor O, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector v = load(X, i);
            // a blend, as the scalar tail: -0.0 and NaN pass through unchanged in both (max(-0.0, 0) would be +0.0)
            VectorMask<Float> neg = v.compare(VectorOperators.LT, V_ZERO);
            store(v.blend(V_ZERO, neg), O, i);
        }
        for (; i < n; i++) {
            float v = get(X, i);
            put(O, i, v < 0f ? 0f : v);
        }
    }

    private static void backwardLoop(FloatTensor D, FloatTensor X, FloatTensor DX, int n) {
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += LANES) {
            VectorMask<Float> pos = load(X, i).compare(VectorOperators.GT, V_ZERO);
            store(V_ZERO.blend(load(D, i), pos), DX, i);
        }
        for (; i < n; i++) put(DX, i, get(X, i) > 0f ? get(D, i) : 0f);
    }

    /** Double-precision ReLU: x &lt; 0 ? 0 : x. */
    public static double reluReference(double x) {
        return x < 0 ? 0.0 : x;
    }

    /** Double-precision derivative (0 at x = 0). */
    public static double reluGradReference(double x) {
        return x > 0 ? 1.0 : 0.0;
    }

    /** Double-precision twin of {@link #forward}: out[i] = relu(x[i]). */
    public static void forwardReference(double[] x, double[] out) {
        for (int i = 0; i < x.length; i++) out[i] = reluReference(x[i]);
    }

    /** Double-precision twin of {@link #backward}: dx[i] = dout[i] relu'(x[i]). */
    public static void backwardReference(double[] dout, double[] x, double[] dx) {
        for (int i = 0; i < x.length; i++) dx[i] = dout[i] * reluGradReference(x[i]);
    }
}
