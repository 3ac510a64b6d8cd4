package org.distillery.engine.kernels;

/**
 * The soft-target term of knowledge distillation (Hinton, Vinyals and Dean 2015): the KL divergence from
 * the teacher's tempered distribution to the student's, per row, averaged over the kept rows R (PyTorch's
 * {@code KLDivLoss(reduction="batchmean")} over the kept rows, as the DistilBERT scripts use it). With
 * temperature T, teacher logits t and student logits s, row i:
 * <pre>
 *   p_i = softmax(t_i / T),  q_i = softmax(s_i / T)                          [V] each
 *   loss = (1/|R|) sum_{i in R} sum_j p_ij (log p_ij - log q_ij)
 *   d loss / d s_ij = (q_ij - p_ij) / (T |R|)        0 for rows outside R
 * </pre>
 * The row KL is evaluated without forming logarithms of small probabilities: with m the row maxima and
 * Z_t = sum_j exp((t_j - m_t)/T), Z_s likewise,
 * {@code KL_i = (sum_j p_ij (t_ij - s_ij)) / T - (m_t - m_s) / T - log Z_t + log Z_s}, which is exactly 0
 * when s_i = t_i.
 *
 * <p>The cross-entropy with the soft targets differs from this KL by the teacher's entropy, a constant
 * for the student, so both have the same gradient.
 */
public final class SoftTargetKernel {
    private SoftTargetKernel() {}

    /**
     * Mean KL divergence over the kept rows; adds {@code gradScale} times its gradient to {@code dstudent}.
     *
     * @param student     student logits [N, V] (not modified)
     * @param teacher     teacher logits [N, V] (not modified)
     * @param temperature T &gt; 0 (finite)
     * @param keep        which rows count, [N]; null means all rows
     * @param gradScale   factor on the gradient added to {@code dstudent} (0: value only)
     * @param dstudent    [N, V]: {@code += gradScale * d loss / d student}; may be null when gradScale is 0
     * @param scratch     3 rows of V floats ({@code [3, V]} or any shape of 3V elements; overwritten)
     * @return the mean KL over kept rows (nats); 0 when no row is kept
     */
    public static double forwardBackward(FloatTensor student, FloatTensor teacher, double temperature, boolean[] keep,
                                         double gradScale, FloatTensor dstudent, FloatTensor scratch) {
        int n = student.rows(), v = student.cols();
        Check.rowsCols("teacher", teacher, n, v);
        checkTemperature(temperature);
        int count = Check.keptRows("keep", keep, n);
        if (gradScale != 0) Check.rowsCols("dstudent", dstudent, n, v);
        Check.length("scratch", scratch, 3 * v);
        if (count == 0) return 0.0;
        float invT = (float) (1.0 / temperature);
        int p = 0, q = v, d = 2 * v;                       // scratch rows: exp((t - m_t)/T), exp((s - m_s)/T), t - s
        double total = 0;
        float c = (float) (gradScale / (temperature * count));
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            int o = i * v;
            float mt = VectorOps.max(teacher, o, v), ms = VectorOps.max(student, o, v);
            float zt = VectorOps.expSum(teacher, o, scratch, p, v, mt, invT);
            float zs = VectorOps.expSum(student, o, scratch, q, v, ms, invT);
            VectorOps.copy(teacher, o, scratch, d, v);
            VectorOps.axpy(-1f, student, o, scratch, d, v);
            double pd = VectorOps.dot(scratch, p, scratch, d, v) / (double) zt;
            total += (pd - ((double) mt - ms)) / temperature - Math.log(zt) + Math.log(zs);
            if (c != 0) {
                VectorOps.axpy(c / zs, scratch, q, dstudent, o, v);
                VectorOps.axpy(-c / zt, scratch, p, dstudent, o, v);
            }
        }
        return total / count;
    }

    /**
     * Double-precision twin of {@link #forwardBackward}, written from the definition (log-softmax of each
     * row): student and teacher [n*v]; {@code dstudent[n*v] += gradScale * d loss / d student}.
     */
    public static double forwardBackwardReference(double[] student, double[] teacher, int n, int v, double temperature,
                                                  boolean[] keep, double gradScale, double[] dstudent) {
        checkTemperature(temperature);
        int count = Check.keptRows("keep", keep, n);
        if (count == 0) return 0.0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (keep != null && !keep[i]) continue;
            double[] logP = logSoftmax(teacher, i * v, v, temperature), logQ = logSoftmax(student, i * v, v, temperature);
            for (int j = 0; j < v; j++) {
                double pj = Math.exp(logP[j]);
                total += pj * (logP[j] - logQ[j]);
                if (dstudent != null) dstudent[i * v + j] += gradScale * (Math.exp(logQ[j]) - pj) / (temperature * count);
            }
        }
        return total / count;
    }

    private static double[] logSoftmax(double[] z, int off, int v, double temperature) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) m = Math.max(m, z[off + j] / temperature);
        double s = 0;
        for (int j = 0; j < v; j++) s += Math.exp(z[off + j] / temperature - m);
        double[] out = new double[v];
        for (int j = 0; j < v; j++) out[j] = z[off + j] / temperature - m - Math.log(s);
        return out;
    }

    static void checkTemperature(double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature: must be a finite number > 0 but was " + temperature);
        }
    }
}
