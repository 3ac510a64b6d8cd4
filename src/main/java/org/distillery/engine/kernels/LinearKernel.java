package org.distillery.engine.kernels;

import org.nd4j.linalg.factory.Nd4j;

/**
 * Fully connected layer in the PyTorch {@code nn.Linear} layout, weight [out, in]:
 * <pre>
 *   y  = x W^T + b            x [N, in], W [out, in], b [out], y [N, out]
 *   dx = dy W                 [N, in]
 *   dW += dy^T x              [out, in]
 *   db += sum_rows dy         [out]
 * </pre>
 * Why [out, in]: it is the layout of PyTorch and Hugging Face checkpoints (except GPT-2's Conv1D, which
 * is transposed once at load time), a tied LM head is the same matrix as the token embedding
 * {@code wte [V, C]}, and each output unit's weights form one contiguous row, which is what per-channel
 * quantisation and pruning (GPTQ, AWQ, Wanda) walk over.
 *
 * <p>The products run as BLAS GEMM through {@code Nd4j.gemm} into the preallocated outputs (no
 * allocation); the bias add and bias gradient are Java vector loops ({@link AddKernels}).
 */
public final class LinearKernel {
    private LinearKernel() {}

    /**
     * Forward: y = x W^T + b.
     *
     * @param x    input, [N, in]
     * @param w    weight, [out, in]
     * @param bias bias, [out], or null for no bias
     * @param y    output, [N, out] (overwritten)
     */
    public static void forward(FloatTensor x, FloatTensor w, FloatTensor bias, FloatTensor y) {
        int n = x.rows(), in = x.cols(), out = w.rows();
        checkMatrix("x", x);
        checkMatrix("w", w);
        checkMatrix("y", y);
        if (w.cols() != in) {
            throw new IllegalArgumentException("w: shape " + w.shapeString() + " needs " + in
                    + " columns to match x shape " + x.shapeString());
        }
        Check.rowsCols("y", y, n, out);
        if (bias != null) Check.length("bias", bias, out);
        Nd4j.gemm(x.nd(), w.nd(), y.nd(), false, true, 1.0, 0.0);        // y [N,out] = x [N,in] W^T [in,out]
        if (bias != null) AddKernels.biasAdd(y, bias);
    }

    /**
     * Backward. Writes dx; accumulates dW and db.
     *
     * @param dy upstream gradient, [N, out]
     * @param x  forward input, [N, in]
     * @param w  weight, [out, in]
     * @param dx input gradient, [N, in] (overwritten), or null to skip
     * @param dw weight gradient, [out, in] (accumulated +=)
     * @param db bias gradient, [out] (accumulated +=), or null when the layer has no bias
     */
    public static void backward(FloatTensor dy, FloatTensor x, FloatTensor w,
                                FloatTensor dx, FloatTensor dw, FloatTensor db) {
        int n = x.rows(), in = x.cols(), out = w.rows();
        checkMatrix("dy", dy);
        checkMatrix("x", x);
        checkMatrix("w", w);
        checkMatrix("dw", dw);
        if (w.cols() != in) {
            throw new IllegalArgumentException("w: shape " + w.shapeString() + " needs " + in
                    + " columns to match x shape " + x.shapeString());
        }
        Check.rowsCols("dy", dy, n, out);
        Check.rowsCols("dw", dw, out, in);
        if (dx != null) {
            checkMatrix("dx", dx);
            Check.rowsCols("dx", dx, n, in);
        }
        if (db != null) Check.length("db", db, out);
        if (dx != null) Nd4j.gemm(dy.nd(), w.nd(), dx.nd(), false, false, 1.0, 0.0);   // dx [N,in] = dy [N,out] W [out,in]
        Nd4j.gemm(dy.nd(), x.nd(), dw.nd(), true, false, 1.0, 1.0);                    // dW [out,in] += dy^T [out,N] x [N,in]
        if (db != null) AddKernels.biasGradAccumulate(dy, db);
    }

    /** Double-precision twin of {@link #forward}: x [n*in], w [out*in], bias [out] or null -> y [n*out]. */
    public static void forwardReference(double[] x, double[] w, double[] bias, int n, int in, int out, double[] y) {
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int k = 0; k < in; k++) s += x[r * in + k] * w[o * in + k];
                y[r * out + o] = s;
            }
        }
    }

    /** Double-precision twin of {@link #backward} (dx overwritten unless null, dw and db accumulated). */
    public static void backwardReference(double[] dy, double[] x, double[] w, int n, int in, int out,
                                         double[] dx, double[] dw, double[] db) {
        for (int r = 0; r < n; r++) {
            for (int k = 0; k < in; k++) {
                double s = 0;
                for (int o = 0; o < out; o++) s += dy[r * out + o] * w[o * in + k];
                if (dx != null) dx[r * in + k] = s;
            }
            for (int o = 0; o < out; o++) {
                for (int k = 0; k < in; k++) dw[o * in + k] += dy[r * out + o] * x[r * in + k];
                if (db != null) db[o] += dy[r * out + o];
            }
        }
    }

    /** GEMM needs genuine rank-2 arrays (a [B, T, C] activation is passed as a [B*T, C] tensor). */
    private static void checkMatrix(String name, FloatTensor t) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        if (t.rank() != 2) {
            throw new IllegalArgumentException(name + ": GEMM needs a rank-2 tensor but got shape " + t.shapeString());
        }
    }
}
