package org.distillery.engine.kernels;

/**
 * tanh, elementwise (BERT's pooler activation):
 * <pre>
 *   y = tanh(x),   dx = dy (1 - y^2)
 * </pre>
 * The backward takes the forward output y. Scalar {@link Math#tanh} per element: the pooler applies it
 * to one [B, H] row block per batch, too little to matter next to the encoder, and the vector API's
 * TANH operator is not guaranteed to be intrinsified on every JDK (it may allocate). Any shape works as
 * long as the element counts match.
 */
public final class TanhKernel {
    private TanhKernel() {}

    /** out = tanh(x) (out may alias x). */
    public static void forward(FloatTensor x, FloatTensor out) {
        Check.sameSize("x", x, "out", out);
        for (int i = 0, n = x.size(); i < n; i++) out.set(i, (float) Math.tanh(x.get(i)));
    }

    /** dx = dout (1 - y^2), y the forward output (dx may alias dout). */
    public static void backward(FloatTensor dout, FloatTensor y, FloatTensor dx) {
        Check.sameSize("y", y, "dout", dout);
        Check.sameSize("y", y, "dx", dx);
        for (int i = 0, n = y.size(); i < n; i++) {
            float v = y.get(i);
            dx.set(i, dout.get(i) * (1f - v * v));
        }
    }

    /** Double twin of the derivative, from x: 1 - tanh(x)^2. */
    public static double derivativeReference(double x) {
        double y = Math.tanh(x);
        return 1 - y * y;
    }
}
