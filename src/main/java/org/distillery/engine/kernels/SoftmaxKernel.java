package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;

import static org.distillery.engine.kernels.VectorOps.LANES;
import static org.distillery.engine.kernels.VectorOps.SPECIES;
import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.load;
import static org.distillery.engine.kernels.VectorOps.put;
import static org.distillery.engine.kernels.VectorOps.store;

/**
 * Row-wise softmax over the last dimension, numerically stable (the row maximum is subtracted before
 * exponentiation), with an optional causal mask:
 * <pre>
 *   y_j = exp(x_j - m) / sum_{k valid} exp(x_k - m),  m = max_{k valid} x_k,   y_j = 0 for masked j
 *   dx_j = y_j (dy_j - sum_k y_k dy_k)
 * </pre>
 * With {@code causal}, the input is a stack of square {@code [L, L]} score blocks and row r may only
 * see columns {@code j <= r mod L} (query position r mod L attends to keys up to itself).
 */
public final class SoftmaxKernel {
    private SoftmaxKernel() {}

    /**
     * Forward.
     *
     * @param x      scores, [R, L]; with {@code causal}, R must be a multiple of L (e.g. [B*nh*T, T])
     * @param out    probabilities, [R, L] (may alias x); masked entries are written as 0
     * @param causal whether to mask columns j > (r mod L)
     */
    public static void forward(FloatTensor x, FloatTensor out, boolean causal) {
        int r = x.rows(), len = x.cols();
        Check.rowsCols("out", out, r, len);
        checkCausal(causal, r, len);
        FloatTensor X = x, O = out;
        for (int i = 0; i < r; i++) {
            int valid = causal ? (i % len) + 1 : len;
            softmaxRow(X, i * len, O, i * len, valid, len, 1f);
        }
    }

    /**
     * Backward. Masked positions have y = 0 and so get dx = 0.
     *
     * @param dout upstream gradient, [R, L]
     * @param y    forward output, [R, L]
     * @param dx   input gradient (overwritten), [R, L] (may alias dout)
     */
    public static void backward(FloatTensor dout, FloatTensor y, FloatTensor dx) {
        int r = y.rows(), len = y.cols();
        Check.rowsCols("dout", dout, r, len);
        Check.rowsCols("dx", dx, r, len);
        FloatTensor D = dout, Y = y, DX = dx;
        for (int i = 0; i < r; i++) softmaxBackwardRow(Y, i * len, D, i * len, DX, i * len, len, 1f);
    }

    /**
     * out[oo + j] = softmax(scale * in[io .. io+valid))_j for j < valid, and 0 for valid <= j < len.
     * Requires valid >= 1 and scale > 0. {@code out} may alias {@code in} at the same offset.
     */
    static void softmaxRow(FloatTensor in, int io, FloatTensor out, int oo, int valid, int len, float scale) {
        float m = VectorOps.max(in, io, valid);
        float sum = VectorOps.expSum(in, io, out, oo, valid, m, scale);
        float inv = 1f / sum;
        FloatVector vinv = FloatVector.broadcast(SPECIES, inv);
        int j = 0, bound = SPECIES.loopBound(valid);
        for (; j < bound; j += LANES) store(load(out, oo + j).mul(vinv), out, oo + j);
        for (; j < valid; j++) put(out, oo + j, get(out, oo + j) * inv);
        if (valid < len) VectorOps.fill(out, oo + valid, len - valid, 0f);
    }

    /**
     * dx[xo+j] = scale * y[yo+j] (dy[dyo+j] - sum_k y[yo+k] dy[dyo+k]) for j < len; dx may alias dy
     * at the same offset.
     */
    static void softmaxBackwardRow(FloatTensor y, int yo, FloatTensor dy, int dyo, FloatTensor dx, int xo, int len,
                                   float scale) {
        float dot = VectorOps.dot(y, yo, dy, dyo, len);
        FloatVector vdot = FloatVector.broadcast(SPECIES, dot);
        int j = 0, bound = SPECIES.loopBound(len);
        for (; j < bound; j += LANES) store(load(dy, dyo + j).sub(vdot).mul(load(y, yo + j)).mul(scale), dx, xo + j);
        for (; j < len; j++) put(dx, xo + j, scale * get(y, yo + j) * (get(dy, dyo + j) - dot));
    }

    /** Double-precision twin of {@link #forward}: x [r*len] -> out [r*len]. */
    public static void forwardReference(double[] x, int r, int len, boolean causal, double[] out) {
        checkCausal(causal, r, len);
        for (int i = 0; i < r; i++) {
            int o = i * len, valid = causal ? (i % len) + 1 : len;
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < valid; j++) m = Math.max(m, x[o + j]);
            double sum = 0;
            for (int j = 0; j < valid; j++) sum += Math.exp(x[o + j] - m);
            for (int j = 0; j < len; j++) out[o + j] = j < valid ? Math.exp(x[o + j] - m) / sum : 0.0;
        }
    }

    /** Double-precision twin of {@link #backward}. */
    public static void backwardReference(double[] dout, double[] y, int r, int len, double[] dx) {
        for (int i = 0; i < r; i++) {
            int o = i * len;
            double dot = 0;
            for (int j = 0; j < len; j++) dot += y[o + j] * dout[o + j];
            for (int j = 0; j < len; j++) dx[o + j] = y[o + j] * (dout[o + j] - dot);
        }
    }

    private static void checkCausal(boolean causal, int rows, int len) {
        if (causal && rows % len != 0) {
            throw new IllegalArgumentException("x: causal softmax needs a stack of square [L, L] blocks but got "
                    + rows + " rows of length L = " + len);
        }
    }
}
