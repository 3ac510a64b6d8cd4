package org.distillery.engine.kernels;

/**
 * Mean squared error over the kept rows R of y and target [N, H] (PyTorch's {@code MSELoss} with
 * reduction "mean" over the kept elements):
 * <pre>
 *   loss = (1/(|R| H)) sum_{i in R} sum_j (y_ij - target_ij)^2
 *   d loss / d y_ij = 2 (y_ij - target_ij) / (|R| H)            0 outside R
 * </pre>
 */
public final class MseKernel {
    private MseKernel() {}

    /**
     * @param y         prediction [N, H] (not modified)
     * @param target    [N, H] (not modified)
     * @param keep      rows that count, [N]; null means all
     * @param gradScale factor on the gradient (0: value only)
     * @param dy        [N, H]: {@code += gradScale * d loss / d y}; may be null when gradScale is 0
     * @param scratch   one row of H floats (overwritten)
     * @return the mean squared error over the kept elements; 0 when no row is kept
     */
    public static double forwardBackward(FloatTensor y, FloatTensor target, boolean[] keep, double gradScale,
                                         FloatTensor dy, FloatTensor scratch) {
        int n = y.rows(), h = y.cols();
        Check.rowsCols("target", target, n, h);
        int count = Check.keptRows("keep", keep, n);
        if (gradScale != 0) Check.rowsCols("dy", dy, n, h);
        Check.length("scratch", scratch, h);
        if (count == 0) return 0.0;
        double total = 0;
        float c = (float) (2 * gradScale / ((double) count * h));
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            int o = i * h;
            VectorOps.copy(y, o, scratch, 0, h);                 // e = y - target
            VectorOps.axpy(-1f, target, o, scratch, 0, h);
            total += VectorOps.dot(scratch, 0, scratch, 0, h);
            if (c != 0) VectorOps.axpy(c, scratch, 0, dy, o, h);
        }
        return total / ((double) count * h);
    }

    /** Double-precision twin of {@link #forwardBackward}: y, target [n*h]; {@code dy[n*h] += gradScale * d loss / d y}. */
    public static double forwardBackwardReference(double[] y, double[] target, int n, int h, boolean[] keep,
                                                  double gradScale, double[] dy) {
        int count = Check.keptRows("keep", keep, n);
        if (count == 0) return 0.0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            for (int j = 0; j < h; j++) {
                double e = y[i * h + j] - target[i * h + j];
                total += e * e;
                if (dy != null) dy[i * h + j] += gradScale * 2 * e / ((double) count * h);
            }
        }
        return total / ((double) count * h);
    }
}
