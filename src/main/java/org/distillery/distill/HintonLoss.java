package org.distillery.distill;

import org.distillery.engine.kernels.AddKernels;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.SoftTargetKernel;

/**
 * The distillation loss of Hinton, Vinyals and Dean (2015), on student logits s and teacher logits t
 * ([N, V]: N rows, V classes or vocabulary entries):
 * <pre>
 *   loss = alpha * CE(labels, softmax(s))                                  hard targets, T = 1
 *        + (1 - alpha) * f * KL(softmax(t / T) || softmax(s / T))          soft targets, T
 *   f    = T^2 (default) or 1 (the ablation)
 *   d loss / d s = alpha * (softmax(s) - onehot) / |L|  +  (1 - alpha) * f * (softmax(s/T) - softmax(t/T)) / (T |R|)
 * </pre>
 * L are the rows whose label is not the ignore index (-100), R the rows kept for the soft term (all rows
 * by default; e.g. the non-padding positions of a batch). Both terms are means over their rows.
 *
 * <p><b>Why T^2.</b> The soft term's gradient carries a factor 1/T (above), and for large T the
 * difference of the two softmaxes is itself about (s - t) / (V T) (zero-mean logits), so its gradient
 * shrinks as 1/T^2. Multiplying by T^2 keeps the soft gradient's size independent of T, so alpha keeps
 * its meaning when T is changed. In the limit of large T with f = T^2 the soft gradient approaches
 * (s_j - t_j) / (V |R|): matching logits, Hinton et al.'s eq. 3 (tested).
 *
 * <p>Instances keep a scratch buffer (3 rows of V floats), so one loss object serves one training loop
 * at a time; after the first call with a given V it allocates nothing.
 */
public final class HintonLoss {
    private final double alpha, temperature;
    private final boolean squaredTemperature;
    private FloatTensor scratch;            // [3, V], see SoftTargetKernel
    private double lastHard, lastSoft;
    private final double[] parts = new double[2];

    /**
     * @param alpha              weight of the hard-label cross-entropy, in [0, 1]; the soft term gets 1 - alpha
     * @param temperature        T &gt; 0 (finite): the softmax temperature of the soft term
     * @param squaredTemperature whether the soft term is multiplied by T^2 (Hinton et al.; true is the
     *                           paper's loss, false the ablation that shows why the factor is there)
     */
    public HintonLoss(double alpha, double temperature, boolean squaredTemperature) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha: the hard-label weight must be in [0, 1] but was " + alpha);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature: must be a finite number > 0 but was " + temperature);
        }
        this.alpha = alpha;
        this.temperature = temperature;
        this.squaredTemperature = squaredTemperature;
    }

    /** The paper's loss: soft term scaled by T^2. */
    public HintonLoss(double alpha, double temperature) {
        this(alpha, temperature, true);
    }

    public double alpha() { return alpha; }

    public double temperature() { return temperature; }

    public boolean squaredTemperature() { return squaredTemperature; }

    /** The factor f on the soft term: T^2 or 1. */
    public double softFactor() { return squaredTemperature ? temperature * temperature : 1.0; }

    /**
     * The loss and its gradient with respect to the student logits.
     *
     * @param student  student logits [N, V] (not modified)
     * @param teacher  teacher logits [N, V] (not modified)
     * @param labels   hard labels [N], each in [0, V) or -100 (ignored); may be null only when alpha = 0
     * @param softRows rows that count in the soft term, [N]; null means all
     * @param dstudent d loss / d student [N, V] (overwritten)
     * @return the loss; {@link #lastHardLoss()} and {@link #lastSoftLoss()} give its two parts
     */
    public double forwardBackward(FloatTensor student, FloatTensor teacher, int[] labels, boolean[] softRows,
                                  FloatTensor dstudent) {
        if (student == null) throw new IllegalArgumentException("student: must not be null");
        if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
        if (dstudent == null) throw new IllegalArgumentException("dstudent: must not be null");
        if (labels == null && alpha > 0) {
            throw new IllegalArgumentException("labels: must be given when alpha = " + alpha + " > 0 (the hard-label"
                    + " term); use alpha = 0 for soft targets only");
        }
        if (teacher.rows() != student.rows() || teacher.cols() != student.cols()) {
            throw new IllegalArgumentException("teacher: logits " + teacher.shapeString() + " do not match the student's "
                    + student.shapeString() + " (same rows and vocabulary needed)");
        }
        if (dstudent.rows() != student.rows() || dstudent.cols() != student.cols()) {
            throw new IllegalArgumentException("dstudent: shape " + dstudent.shapeString() + " does not match the student's logits "
                    + student.shapeString());
        }
        if (softRows != null && softRows.length != student.rows()) {
            throw new IllegalArgumentException("softRows: " + softRows.length + " flags but the logits have " + student.rows()
                    + " rows");
        }
        int v = student.cols();
        if (scratch == null || scratch.size() != 3 * v) scratch = FloatTensor.zeros(3, v);
        double loss = weighted(student, teacher, labels, softRows, alpha, (1 - alpha) * softFactor(), temperature, dstudent,
                scratch, parts);
        lastHard = parts[0];
        lastSoft = parts[1];
        return loss;
    }

    /**
     * The general weighted form (used by {@link Distiller} with scheduled weights and temperature):
     * {@code hardWeight * CE(labels, s) + softWeight * KL(softmax(t/T) || softmax(s/T))}, where softWeight
     * already contains any T^2 factor; each term is computed only when its weight is &gt; 0, except that
     * the hard CE is still evaluated (not differentiated) for reporting when labels are given.
     *
     * @param labels   hard labels [N] (-100 = ignored), or null when hardWeight is 0
     * @param dstudent d loss / d student [N, V] (overwritten)
     * @param scratch  3V floats
     * @param parts    if not null, receives {CE (NaN without labels), KL (0 when softWeight is 0)}
     */
    public static double weighted(FloatTensor student, FloatTensor teacher, int[] labels, boolean[] softRows,
                                  double hardWeight, double softWeight, double temperature, FloatTensor dstudent,
                                  FloatTensor scratch, double[] parts) {
        if (labels == null && hardWeight > 0) {
            throw new IllegalArgumentException("labels: must be given when the hard-label weight " + hardWeight + " is > 0");
        }
        double hard = Double.NaN;
        if (labels != null) {
            hard = CrossEntropyKernel.forwardBackward(student, labels, CrossEntropyKernel.DEFAULT_IGNORE_INDEX, dstudent);
            if (hardWeight > 0) AddKernels.scale(dstudent, (float) hardWeight);
            else dstudent.fill(0f);
        } else {
            dstudent.fill(0f);
        }
        double soft = softWeight > 0
                ? SoftTargetKernel.forwardBackward(student, teacher, temperature, softRows, softWeight, dstudent, scratch)
                : 0.0;
        if (parts != null) {
            parts[0] = hard;
            parts[1] = soft;
        }
        return (hardWeight > 0 ? hardWeight * hard : 0) + (softWeight > 0 ? softWeight * soft : 0);
    }

    /** The hard-label cross-entropy of the last call (before weighting); NaN if it had no labels. */
    public double lastHardLoss() { return lastHard; }

    /** The soft-target KL divergence of the last call (before weighting by (1 - alpha) f). */
    public double lastSoftLoss() { return lastSoft; }

    /**
     * Double-precision twin of {@link #forwardBackward} from the definitions: student, teacher [n*v],
     * dstudent [n*v] (overwritten).
     */
    public double forwardBackwardReference(double[] student, double[] teacher, int n, int v, int[] labels,
                                           boolean[] softRows, double[] dstudent) {
        java.util.Arrays.fill(dstudent, 0.0);
        double hard = 0;
        if (alpha > 0) {
            double[] g = new double[n * v];
            hard = CrossEntropyKernel.forwardBackwardReference(student, labels, CrossEntropyKernel.DEFAULT_IGNORE_INDEX,
                    n, v, g);
            for (int i = 0; i < g.length; i++) dstudent[i] = alpha * g[i];
        }
        double softWeight = (1 - alpha) * softFactor();
        double soft = SoftTargetKernel.forwardBackwardReference(student, teacher, n, v, temperature, softRows, softWeight,
                dstudent);
        return alpha * hard + softWeight * soft;
    }

    @Override
    public String toString() {
        return "HintonLoss[alpha=" + alpha + ", T=" + temperature + ", soft factor " + (squaredTemperature ? "T^2" : "1")
                + "]";
    }
}
