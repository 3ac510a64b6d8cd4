package org.distillery.engine.kernels;

/**
 * The additive kernels of a transformer block:
 * <pre>
 *   scale:           x *= a
 *   residual add:    out = a + b                 (backward: da = db = dout, so the caller accumulates)
 *   accumulate:      acc += x                     (residual backward: dx_stream += dbranch)
 *   bias add:        y[r, :] += b                 (backward: db += sum_r dy[r, :], see biasGradAccumulate)
 * </pre>
 * plus flat-range copies and accumulations ({@link #copyRange}, {@link #accumulateRange}) for packing separate
 * tensors into a fused one (BERT's query/key/value into the fused qkv weight).
 */
public final class AddKernels {
    private AddKernels() {}

    /**
     * out = a + b, elementwise.
     *
     * @param a   [N, C]
     * @param b   [N, C]
     * @param out [N, C] (may alias a or b)
     */
    public static void residualAdd(FloatTensor a, FloatTensor b, FloatTensor out) {
        Check.rowsCols("b", b, a.rows(), a.cols());
        Check.rowsCols("out", out, a.rows(), a.cols());
        VectorOps.add(a, 0, b, 0, out, 0, a.size());
    }

    /**
     * acc += x, elementwise (the backward of a residual add feeds the same gradient into both branches).
     *
     * @param acc [N, C]
     * @param x   [N, C]
     */
    public static void accumulate(FloatTensor acc, FloatTensor x) {
        Check.rowsCols("x", x, acc.rows(), acc.cols());
        VectorOps.add(acc, 0, x, 0, acc, 0, acc.size());
    }

    /**
     * x *= a, elementwise (weighting one loss term's gradient before the next term accumulates into it).
     *
     * @param x any shape, updated in place
     * @param a the factor
     */
    public static void scale(FloatTensor x, float a) {
        if (x == null) throw new IllegalArgumentException("x: must not be null");
        VectorOps.scale(x, 0, x.size(), a);
    }

    /**
     * y[r, :] += bias for every row r.
     *
     * @param y    [N, C], updated in place
     * @param bias [C]
     */
    public static void biasAdd(FloatTensor y, FloatTensor bias) {
        int n = y.rows(), c = y.cols();
        Check.length("bias", bias, c);
        FloatTensor Y = y, Bb = bias;
        for (int r = 0; r < n; r++) VectorOps.add(Y, r * c, Bb, 0, Y, r * c, c);
    }

    /**
     * dbias += sum over rows of dy (the bias gradient: a column sum).
     *
     * @param dy    [N, C]
     * @param dbias [C], accumulated
     */
    public static void biasGradAccumulate(FloatTensor dy, FloatTensor dbias) {
        int n = dy.rows(), c = dy.cols();
        Check.length("dbias", dbias, c);
        FloatTensor D = dy, DB = dbias;
        for (int r = 0; r < n; r++) VectorOps.add(DB, 0, D, r * c, DB, 0, c);
    }

    /**
     * dst[dstOff + k] = src[srcOff + k] for k &lt; n (a block copy between flat element ranges, e.g. packing
     * separate weights into a fused one).
     */
    public static void copyRange(FloatTensor src, int srcOff, FloatTensor dst, int dstOff, int n) {
        checkRange("src", src, srcOff, n);
        checkRange("dst", dst, dstOff, n);
        VectorOps.copy(src, srcOff, dst, dstOff, n);
    }

    /** acc[accOff + k] += x[xOff + k] for k &lt; n (flat element ranges; the ranges must not overlap). */
    public static void accumulateRange(FloatTensor acc, int accOff, FloatTensor x, int xOff, int n) {
        checkRange("acc", acc, accOff, n);
        checkRange("x", x, xOff, n);
        VectorOps.add(acc, accOff, x, xOff, acc, accOff, n);
    }

    private static void checkRange(String name, FloatTensor t, int off, int n) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        if (off < 0 || n < 0 || off > t.size() - n) {
            throw new IllegalArgumentException(name + ": range [" + off + ", " + off + " + " + n + ") is outside the "
                    + t.size() + " elements of shape " + t.shapeString());
        }
    }

    /** Double-precision twin of {@link #residualAdd}. */
    public static void residualAddReference(double[] a, double[] b, double[] out) {
        for (int i = 0; i < a.length; i++) out[i] = a[i] + b[i];
    }

    /** Double-precision twin of {@link #biasAdd}: y [n*c] += bias [c] per row. */
    public static void biasAddReference(double[] y, double[] bias, int n, int c) {
        for (int r = 0; r < n; r++) for (int j = 0; j < c; j++) y[r * c + j] += bias[j];
    }

    /** Double-precision twin of {@link #biasGradAccumulate}. */
    public static void biasGradAccumulateReference(double[] dy, int n, int c, double[] dbias) {
        for (int r = 0; r < n; r++) for (int j = 0; j < c; j++) dbias[j] += dy[r * c + j];
    }
}
