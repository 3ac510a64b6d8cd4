package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.List;
import org.distillery.distill.HintonLoss;
import org.distillery.distill.MnistDistillation;
import org.distillery.engine.kernels.FloatTensor;

/**
 * The exercises of {@code 10-hinton-distillation.ipynb}, on one row of teacher logits v = {@link #TEACHER} and
 * student logits z = {@link #STUDENT} at T = {@link #T}:
 * <ol>
 *   <li>10.1 the softened softmax p = softmax(v / T), checked against {@link MnistDistillation#softTargets};</li>
 *   <li>10.2 the soft term T^2 KL(p || q), q = softmax(z / T), checked against {@link HintonLoss} (alpha 0);</li>
 *   <li>10.3 its gradient with respect to z, checked against {@link HintonLoss}'s gradient.</li>
 * </ol>
 */
public final class HintonExercises {
    private HintonExercises() {}

    /** Teacher logits v [5]. */
    public static final float[] TEACHER = {6f, 2f, -1f, 3.5f, 0f};
    /** Student logits z [5]. */
    public static final float[] STUDENT = {4f, 3f, 0f, 1f, -1f};
    /** The temperature. */
    public static final double T = 4;

    /** The three exercises, in order. */
    public static List<Exercise> all() {
        return List.of(softTargets(), softLoss(), softGradient());
    }

    static Exercise softTargets() {
        return new Exercise("10.1", "the softened softmax of the teacher logits {6, 2, -1, 3.5, 0} at T = 4",
                "a double[5]: softmax(v / T)", "p_i = exp(v_i / T) / sum_j exp(v_j / T); subtracting max_j v_j / T from every"
                        + " exponent first changes nothing and keeps exp from overflowing.", null, (e, a, c) -> {
            double[] p = Answers.numbers(a, 5), ref = MnistDistillation.softTargets(TEACHER, T);
            if (close(p, ref, 1e-6, 1e-9)) {
                return e.correct("softmax(v / 4) = " + show(ref) + ": at T = 1 the largest class would have "
                        + show(MnistDistillation.softTargets(TEACHER, 1)[0]) + "; T = 4 lifts the others (MnistDistillation.softTargets agrees).");
            }
            if (close(p, MnistDistillation.softTargets(TEACHER, 1), 1e-6, 1e-9)) {
                return e.wrong("That is the softmax at T = 1.", "divide every logit by T = 4 before exp.");
            }
            double sum = 0;
            for (double x : p) sum += x;
            if (!close(sum, 1, 1e-6, 0)) return e.wrong("The values sum to " + show(sum) + ", not 1.", "divide each exp by the sum of all five.");
            return e.wrong("Not softmax(v / 4): element " + Answers.firstDifference(p, ref, 1e-6, 1e-9) + " differs.");
        });
    }

    static Exercise softLoss() {
        return new Exercise("10.2", "the soft term T^2 KL(p || q) for teacher v, student z = {4, 3, 0, 1, -1}, T = 4",
                "a double: T^2 x sum_i p_i log(p_i / q_i)", "p = softmax(v / T) is the teacher's (exercise 10.1), q = softmax(z / T) the"
                        + " student's; KL(p || q) = sum_i p_i log(p_i / q_i), then multiply by T^2 = 16.", null, (e, a, c) -> {
            double v = Answers.number(a);
            Row r = hinton();
            if (close(v, r.loss, 1e-5, 1e-9)) {
                return e.correct("T^2 KL(p || q) = " + show(r.loss) + " (HintonLoss with alpha = 0 agrees); without the factor T^2 it"
                        + " would be " + show(r.loss / (T * T)) + ".");
            }
            if (close(v, r.loss / (T * T), 1e-5, 1e-9)) return e.wrong(show(v) + " is KL(p || q) alone.", "the soft term is multiplied by T^2 = 16.");
            double[] p = MnistDistillation.softTargets(TEACHER, T), q = MnistDistillation.softTargets(STUDENT, T);
            double reversed = 0;
            for (int i = 0; i < p.length; i++) reversed += q[i] * Math.log(q[i] / p[i]);
            if (close(v, T * T * reversed, 1e-5, 1e-9) || close(v, reversed, 1e-5, 1e-9)) {
                return e.wrong(show(v) + " is KL(q || p), the divergence the other way round.", "the teacher's p weights the sum: sum_i p_i log(p_i / q_i).");
            }
            return e.wrong(show(v) + " is not T^2 KL(p || q).");
        });
    }

    static Exercise softGradient() {
        return new Exercise("10.3", "the gradient of the soft term T^2 KL(p || q) with respect to the student logits z",
                "a double[5]: d(T^2 KL) / dz_i", "d KL / dz_i = (q_i - p_i) / T (the chain rule through z / T); the loss has the"
                        + " factor T^2 in front.", null, (e, a, c) -> {
            double[] g = Answers.numbers(a, 5);
            double[] ref = hinton().gradient;
            if (close(g, ref, 1e-5, 1e-7)) {
                return e.correct("d(T^2 KL)/dz = T (q - p) = " + show(ref) + " (HintonLoss's gradient agrees): with T^2 the gradient grows"
                        + " with T instead of shrinking like 1/T, which is why Hinton et al. multiply by T^2.");
            }
            double[] small = new double[5], flipped = new double[5];
            for (int i = 0; i < 5; i++) {
                small[i] = ref[i] / (T * T);
                flipped[i] = -ref[i];
            }
            if (close(g, small, 1e-5, 1e-7)) return e.wrong("That is (q - p) / T, the gradient of KL alone.", "multiply by the loss's factor T^2.");
            if (close(g, flipped, 1e-5, 1e-7)) return e.wrong("The signs are flipped.", "the gradient is student minus teacher: q - p, times T.");
            return e.wrong("Not the gradient: element " + Answers.firstDifference(g, ref, 1e-5, 1e-7) + " differs.");
        });
    }

    /** The reference: HintonLoss with alpha 0 (soft term only, times T^2) on the one row. */
    private record Row(double loss, double[] gradient) {}

    private static Row hinton() {
        int v = TEACHER.length;
        FloatTensor s = FloatTensor.zeros(1, v), t = FloatTensor.zeros(1, v), d = FloatTensor.zeros(1, v);   // [1, V]
        s.copyFrom(STUDENT);
        t.copyFrom(TEACHER);
        double loss = new HintonLoss(0, T).forwardBackward(s, t, null, null, d);
        float[] g = d.toFloatArray();
        double[] gradient = new double[v];
        for (int i = 0; i < v; i++) gradient[i] = g[i];
        return new Row(loss, gradient);
    }
}
