package org.distillery.distill;

import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.AddKernels;
import org.distillery.engine.kernels.CosineEmbeddingKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.engine.kernels.MseKernel;
import org.distillery.model.NamedParameters;

/**
 * An intermediate-representation loss between a student's hidden states s [N, Hs] and a teacher's
 * t [N, Ht] over the kept rows (e.g. non-padding tokens):
 * <ul>
 *   <li>{@link Kind#MSE}: mean squared error (FitNets-style hint, TinyBERT's hidden-state loss);</li>
 *   <li>{@link Kind#COSINE}: cosine embedding loss with target +1 (DistilBERT's L_cos).</li>
 * </ul>
 * When the widths differ (a narrower student), s first goes through a learned projection
 * {@code p = s W^T + b} (W [Ht, Hs], b [Ht]), trained with the student: its parameters are
 * {@link #parameters()} / {@link #gradients()} ({@code projection.weight}, {@code projection.bias}), to be
 * handed to the optimiser together with the student's. W starts N(0, 1/Hs) (unit gain on average) and b
 * at 0, from the given seed. With equal widths there is no projection and no parameter.
 *
 * <p>Buffers are kept per row count N; not thread-safe.
 */
public final class HiddenStateLoss {
    /** Which distance. */
    public enum Kind { MSE, COSINE }

    private final Kind kind;
    private final int studentWidth, teacherWidth;
    private final NamedParameters named = new NamedParameters();
    private final FloatTensor projW, projB, dprojW, dprojB;   // [Ht, Hs], [Ht]; null without projection
    private FloatTensor projected, dprojected, dinput, scratch;  // [N, Ht], [N, Ht], [N, Hs], [Ht]

    /**
     * @param kind         the distance
     * @param studentWidth Hs &gt;= 1
     * @param teacherWidth Ht &gt;= 1; a projection is learned when it differs from Hs
     * @param seed         initialisation of the projection
     */
    public HiddenStateLoss(Kind kind, int studentWidth, int teacherWidth, long seed) {
        if (kind == null) throw new IllegalArgumentException("kind: must be MSE or COSINE, not null");
        if (studentWidth < 1) throw new IllegalArgumentException("studentWidth: must be >= 1 but was " + studentWidth);
        if (teacherWidth < 1) throw new IllegalArgumentException("teacherWidth: must be >= 1 but was " + teacherWidth);
        this.kind = kind;
        this.studentWidth = studentWidth;
        this.teacherWidth = teacherWidth;
        if (studentWidth != teacherWidth) {
            projW = named.add("projection.weight", teacherWidth, studentWidth);
            projB = named.add("projection.bias", teacherWidth);
            dprojW = named.grad("projection.weight");
            dprojB = named.grad("projection.bias");
            Random r = new Random(seed);
            double std = 1 / Math.sqrt(studentWidth);
            for (int i = 0; i < projW.size(); i++) projW.set(i, (float) (std * r.nextGaussian()));
        } else {
            projW = projB = dprojW = dprojB = null;
        }
    }

    public Kind kind() { return kind; }

    /** Whether a learned projection maps the student's width to the teacher's. */
    public boolean hasProjection() { return projW != null; }

    /** The projection's parameters (empty without projection), for the optimiser. */
    public Map<String, FloatTensor> parameters() { return named.parameters(); }

    /** Their gradients, accumulated by {@link #forwardBackward}; zero them with {@link #zeroGrad()}. */
    public Map<String, FloatTensor> gradients() { return named.gradients(); }

    public void zeroGrad() { named.zeroGrad(); }

    /**
     * The loss; adds {@code weight} times its gradient to {@code dstudent} (and to the projection's gradients).
     *
     * @param student  s [N, Hs] (not modified)
     * @param teacher  t [N, Ht] (not modified)
     * @param keep     rows that count, [N]; null means all
     * @param weight   the loss weight applied to the gradient (0: value only)
     * @param dstudent [N, Hs], accumulated; may be null when weight is 0
     * @return the unweighted loss
     */
    public double forwardBackward(FloatTensor student, FloatTensor teacher, boolean[] keep, double weight,
                                  FloatTensor dstudent) {
        if (student == null || student.cols() != studentWidth) {
            throw new IllegalArgumentException("student: hidden states must be [N, " + studentWidth + "] but were "
                    + (student == null ? "null" : student.shapeString()));
        }
        if (teacher == null || teacher.cols() != teacherWidth || teacher.rows() != student.rows()) {
            throw new IllegalArgumentException("teacher: hidden states must be [" + student.rows() + ", " + teacherWidth
                    + "] but were " + (teacher == null ? "null" : teacher.shapeString()));
        }
        int n = student.rows();
        buffers(n);
        FloatTensor s = student, ds = dstudent;
        if (projW != null) {
            LinearKernel.forward(student, projW, projB, projected);               // [N, Ht]
            s = projected;
            ds = dprojected;
            if (weight != 0) dprojected.fill(0f);
        }
        double loss = kind == Kind.MSE
                ? MseKernel.forwardBackward(s, teacher, keep, weight, ds, scratch)
                : CosineEmbeddingKernel.forwardBackward(s, teacher, keep, weight, ds);
        if (projW != null && weight != 0) {
            LinearKernel.backward(dprojected, student, projW, dinput, dprojW, dprojB);  // dinput [N, Hs] = dp W
            AddKernels.accumulate(dstudent, dinput);
        }
        return loss;
    }

    private void buffers(int n) {
        if (scratch == null) scratch = FloatTensor.zeros(teacherWidth);
        if (projW != null && (projected == null || projected.rows() != n)) {
            projected = FloatTensor.zeros(n, teacherWidth);
            dprojected = FloatTensor.zeros(n, teacherWidth);
            dinput = FloatTensor.zeros(n, studentWidth);
        }
    }

    @Override
    public String toString() {
        return "HiddenStateLoss[" + kind + ", " + studentWidth + " -> " + teacherWidth
                + (hasProjection() ? ", learned projection" : "") + "]";
    }
}
