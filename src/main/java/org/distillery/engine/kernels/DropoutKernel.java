package org.distillery.engine.kernels;

import org.distillery.util.Seeds;

import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.put;

/**
 * Inverted dropout (Srivastava et al. 2014; PyTorch {@code nn.Dropout} in training mode):
 * <pre>
 *   keep_i = (u_i >= p),   y_i = keep_i x_i / (1 - p),   dx_i = keep_i dy_i / (1 - p)
 * </pre>
 * The uniform u_i in [0, 1) is a pure function of (seed, i): the SplitMix64 finaliser of
 * {@code seed + (i + 1) * golden-ratio constant}. So the mask needs no storage, is reproducible from the
 * seed, is identical in forward and backward (pass the same seed), and does not depend on the order
 * elements are visited in. The caller derives a fresh seed per step and per call site. With p = 0 the
 * kernel is the identity.
 */
public final class DropoutKernel {
    private DropoutKernel() {}


    /**
     * Forward.
     *
     * @param x    input, any shape
     * @param out  output, same element count (may alias x)
     * @param p    drop probability, in [0, 1)
     * @param seed mask seed
     */
    public static void forward(FloatTensor x, FloatTensor out, double p, long seed) {
        Check.sameSize("x", x, "out", out);
        apply(x, out, x.size(), p, seed);
    }

    /**
     * Backward (the same mask as the forward with the same seed).
     *
     * @param dout upstream gradient, any shape
     * @param dx   input gradient (overwritten), same element count (may alias dout)
     * @param p    drop probability used in forward
     * @param seed seed used in forward
     */
    public static void backward(FloatTensor dout, FloatTensor dx, double p, long seed) {
        Check.sameSize("dout", dout, "dx", dx);
        apply(dout, dx, dout.size(), p, seed);
    }

    private static void apply(FloatTensor in, FloatTensor out, int n, double p, long seed) {
        checkP(p);
        if (p == 0.0) {
            if (in != out) for (int i = 0; i < n; i++) put(out, i, get(in, i));
            return;
        }
        float scale = scale(p);
        for (int i = 0; i < n; i++) put(out, i, keep(seed, i, p) ? get(in, i) * scale : 0f);
    }

    /** Whether element {@code index} is kept under (seed, p): u(seed, index) >= p. */
    public static boolean keep(long seed, long index, double p) {
        return uniform(seed, index) >= p;
    }

    /** The uniform number in [0, 1) assigned to element {@code index} (53 random bits). */
    public static double uniform(long seed, long index) {
        long z = Seeds.finalise(seed + (index + 1) * Seeds.GOLDEN);
        return (z >>> 11) * 0x1.0p-53;
    }

    /** Double-precision twin of {@link #forward} (and of {@link #backward}, which applies the same map). */
    public static void forwardReference(double[] x, double p, long seed, double[] out) {
        checkP(p);
        for (int i = 0; i < x.length; i++) out[i] = keep(seed, i, p) ? x[i] / (1.0 - p) : 0.0;
    }

    /** The fp32 factor 1 / (1 - p) applied to kept elements. */
    static float scale(double p) {
        return (float) (1.0 / (1.0 - p));
    }

    /** Throws unless p is in [0, 1). */
    static void checkP(double p) {
        if (!(p >= 0.0 && p < 1.0)) {
            throw new IllegalArgumentException("p: dropout probability must be in [0, 1) but was " + p);
        }
    }
}
