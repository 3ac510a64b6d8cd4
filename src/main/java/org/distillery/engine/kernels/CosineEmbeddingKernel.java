package org.distillery.engine.kernels;

/**
 * Cosine embedding loss with target +1 (PyTorch's {@code CosineEmbeddingLoss}, as DistilBERT uses it to
 * align the student's hidden states with the teacher's), over the kept rows R of s and t [N, H]:
 * <pre>
 *   a_i = |s_i|^2 + eps,  b_i = |t_i|^2 + eps,  cos_i = (s_i . t_i) / sqrt(a_i b_i)         eps = 1e-12 (PyTorch's)
 *   loss = (1/|R|) sum_{i in R} (1 - cos_i)
 *   d loss / d s_i = -(1/|R|) ( t_i / sqrt(a_i b_i) - cos_i s_i / a_i )                      0 outside R
 * </pre>
 * Only the student receives a gradient (the teacher is fixed).
 */
public final class CosineEmbeddingKernel {
    private CosineEmbeddingKernel() {}

    /** PyTorch's epsilon inside the norms. */
    public static final double EPS = 1e-12;

    /**
     * Mean (1 - cosine) over the kept rows; adds {@code gradScale} times its gradient to {@code ds}.
     *
     * @param s         student rows [N, H] (not modified)
     * @param t         teacher rows [N, H] (not modified)
     * @param keep      rows that count, [N]; null means all
     * @param gradScale factor on the gradient (0: value only)
     * @param ds        [N, H]: {@code += gradScale * d loss / d s}; may be null when gradScale is 0
     * @return the mean loss over the kept rows; 0 when none is kept
     */
    public static double forwardBackward(FloatTensor s, FloatTensor t, boolean[] keep, double gradScale, FloatTensor ds) {
        int n = s.rows(), h = s.cols();
        Check.rowsCols("t", t, n, h);
        int count = Check.keptRows("keep", keep, n);
        if (gradScale != 0) Check.rowsCols("ds", ds, n, h);
        if (count == 0) return 0.0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            int o = i * h;
            double a = VectorOps.dot(s, o, s, o, h) + EPS, b = VectorOps.dot(t, o, t, o, h) + EPS;
            double st = VectorOps.dot(s, o, t, o, h), root = Math.sqrt(a * b), cos = st / root;
            total += 1 - cos;
            if (gradScale != 0) {
                double c = -gradScale / count;
                VectorOps.axpy((float) (c / root), t, o, ds, o, h);
                VectorOps.axpy((float) (-c * cos / a), s, o, ds, o, h);
            }
        }
        return total / count;
    }

    /** Double-precision twin of {@link #forwardBackward}: s, t [n*h]; {@code ds[n*h] += gradScale * d loss / d s}. */
    public static double forwardBackwardReference(double[] s, double[] t, int n, int h, boolean[] keep, double gradScale,
                                                  double[] ds) {
        int count = Check.keptRows("keep", keep, n);
        if (count == 0) return 0.0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            double ss = 0, tt = 0, st = 0;
            for (int j = 0; j < h; j++) {
                ss += s[i * h + j] * s[i * h + j];
                tt += t[i * h + j] * t[i * h + j];
                st += s[i * h + j] * t[i * h + j];
            }
            double a = ss + EPS, b = tt + EPS, cos = st / Math.sqrt(a * b);
            total += 1 - cos;
            if (ds != null) {
                for (int j = 0; j < h; j++) {
                    ds[i * h + j] -= gradScale / count * (t[i * h + j] / Math.sqrt(a * b) - cos * s[i * h + j] / a);
                }
            }
        }
        return total / count;
    }
}
