package org.distillery.engine.kernels;

/**
 * Attention-map distillation (MiniLM's self-attention distribution transfer, Wang et al. 2020): the KL
 * divergence from the teacher's attention probabilities to the student's, per sequence b, head h and
 * query position i, averaged over the kept query rows R (i &lt; len_b, every head):
 * <pre>
 *   loss = (1/|R|) sum_{(b,h,i) in R} sum_j Pt_bhij (log Pt_bhij - log Ps_bhij)        over keys with Pt &gt; 0
 *   d loss / d Ps_bhij = -Pt_bhij / (|R| Ps_bhij)                                       0 outside R and where Pt = 0
 * </pre>
 * Both maps come from an attention layer's softmax ([B, nh, T, T], exactly 0 on masked keys); the
 * gradient goes to the student's attention backward ({@link AttentionKernel#addProbabilityGradient}),
 * whose softmax backward turns it into the familiar Ps - Pt on the scores. A student probability that
 * underflowed to 0 where the teacher's is positive is read as {@link Float#MIN_NORMAL} (a finite, very
 * large loss instead of infinity).
 */
public final class AttentionKlKernel {
    private AttentionKlKernel() {}

    /**
     * @param student   Ps [B, nh, T, T] (not modified)
     * @param teacher   Pt [B, nh, T, T] (not modified)
     * @param b         B
     * @param lengths   real length of each sequence [B] (rows i &gt;= len_b are padding and skipped), or null for all T
     * @param gradScale factor on the gradient
     * @param dstudent  [B, nh, T, T]: overwritten with {@code gradScale * d loss / d Ps}; may be null when gradScale is 0
     * @return the mean KL over the kept query rows (nats)
     */
    public static double forwardBackward(FloatTensor student, FloatTensor teacher, int b, int[] lengths, double gradScale,
                                         FloatTensor dstudent) {
        if (student == null || teacher == null) throw new IllegalArgumentException("student, teacher: must not be null");
        if (student.rank() != 4 || student.dim(0) != b) {
            throw new IllegalArgumentException("student: expected attention probabilities [" + b + ", nh, T, T] but got "
                    + student.shapeString());
        }
        int nh = student.dim(1), t = student.dim(2);
        if (!java.util.Arrays.equals(student.shape(), teacher.shape())) {
            throw new IllegalArgumentException("teacher: attention probabilities " + teacher.shapeString() + " differ from the"
                    + " student's " + student.shapeString() + " (the same heads and sequence length are needed)");
        }
        if (lengths != null) Check.arrayLength("lengths", lengths, b);
        if (gradScale != 0) Check.sameSize("student", student, "dstudent", dstudent);
        long count = 0;
        for (int bb = 0; bb < b; bb++) count += (long) nh * (lengths == null ? t : lengths[bb]);
        if (gradScale != 0) dstudent.fill(0f);
        if (count == 0) return 0.0;
        double total = 0;
        double g = -gradScale / count;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths == null ? t : lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < len; i++) {
                    int o = ((bb * nh + h) * t + i) * t;
                    for (int j = 0; j < t; j++) {
                        float pt = teacher.get(o + j);
                        if (pt <= 0f) continue;
                        float ps = Math.max(student.get(o + j), Float.MIN_NORMAL);
                        total += pt * (Math.log(pt) - Math.log(ps));
                        if (gradScale != 0) dstudent.set(o + j, (float) (g * pt / ps));
                    }
                }
            }
        }
        return total / count;
    }

    /** Double-precision twin of {@link #forwardBackward}: maps [b*nh*t*t]; {@code dstudent} overwritten (may be null). */
    public static double forwardBackwardReference(double[] student, double[] teacher, int b, int nh, int t, int[] lengths,
                                                  double gradScale, double[] dstudent) {
        long count = 0;
        for (int bb = 0; bb < b; bb++) count += (long) nh * (lengths == null ? t : lengths[bb]);
        if (dstudent != null) java.util.Arrays.fill(dstudent, 0.0);
        if (count == 0) return 0.0;
        double total = 0;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths == null ? t : lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < t; j++) {
                        int k = ((bb * nh + h) * t + i) * t + j;
                        if (teacher[k] <= 0) continue;
                        total += teacher[k] * Math.log(teacher[k] / student[k]);
                        if (dstudent != null) dstudent[k] = -gradScale * teacher[k] / (count * student[k]);
                    }
                }
            }
        }
        return total / count;
    }
}
