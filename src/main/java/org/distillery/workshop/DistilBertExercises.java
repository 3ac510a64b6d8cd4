package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.Arrays;
import java.util.List;
import org.distillery.distill.StudentInitializer;
import org.distillery.eval.ClassificationAccuracy;

/**
 * The exercises of {@code 11-distilbert-students.ipynb}:
 * <ol>
 *   <li>11.1 which teacher layers a 4-layer student of a 12-layer teacher copies, checked against
 *   {@link StudentInitializer#spread};</li>
 *   <li>11.2 Wilson's 95 % interval for 61 correct of 80 passages, checked against
 *   {@link ClassificationAccuracy.Result#wilson95()}.</li>
 * </ol>
 */
public final class DistilBertExercises {
    private DistilBertExercises() {}

    /** 11.1: teacher and student depths. */
    public static final int TEACHER_LAYERS = 12, STUDENT_LAYERS = 4;
    /** 11.2: correct answers out of passages. */
    public static final int CORRECT = 61, PASSAGES = 80;

    /** The two exercises, in order. */
    public static List<Exercise> all() {
        return List.of(layerMap(), wilson());
    }

    static Exercise layerMap() {
        return new Exercise("11.1", "the teacher layers a 4-layer student of a 12-layer teacher copies (DistilBERT's spread)",
                "an int[4]: the teacher layer (0-based) of student layers 0..3", "keep the first and the last teacher layer and space"
                        + " the others evenly: student layer i takes round(i (12 - 1) / (4 - 1)).", null, (e, a, c) -> {
            long[] v = Answers.wholes(a, STUDENT_LAYERS);
            int[] ref = StudentInitializer.spread(TEACHER_LAYERS, STUDENT_LAYERS);
            if (Arrays.equals(v, Arrays.stream(ref).asLongStream().toArray())) {
                return e.correct(Arrays.toString(ref) + " (StudentInitializer.spread agrees); for 12 -> 6 the same rule gives "
                        + Arrays.toString(StudentInitializer.spread(12, 6)) + ", the released DistilBERT map.");
            }
            int[] every = StudentInitializer.everyOther(TEACHER_LAYERS, STUDENT_LAYERS);
            if (Arrays.equals(v, Arrays.stream(every).asLongStream().toArray())) {
                return e.wrong(Arrays.toString(v) + " takes every third layer and never the last one.", "the map keeps the first and the last layer.");
            }
            if (Arrays.equals(v, Arrays.stream(ref).mapToLong(x -> x + 1).toArray())) {
                return e.wrong(Arrays.toString(v) + " counts layers from 1.", "layers are numbered from 0 (h.0 ... h.11).");
            }
            return e.wrong(Arrays.toString(v) + " is not the spread map.");
        });
    }

    static Exercise wilson() {
        return new Exercise("11.2", "Wilson's 95 % interval for 61 correct of 80 passages",
                "a double[2]: {low, high} as fractions", "with p = 61/80, n = 80, z = 1.96: centre (p + z^2/2n), half-width"
                        + " z sqrt(p(1-p)/n + z^2/4n^2), both divided by (1 + z^2/n).", null, (e, a, c) -> {
            double[] v = Answers.numbers(a, 2);
            double[] ref = new ClassificationAccuracy.Result(PASSAGES, CORRECT, 0).wilson95();
            if (close(v, ref, 0, 2e-4)) {
                return e.correct("[" + show(ref[0]) + ", " + show(ref[1]) + "] around p = " + show((double) CORRECT / PASSAGES)
                        + " (ClassificationAccuracy agrees): not symmetric around p, pulled towards 1/2.");
            }
            double p = (double) CORRECT / PASSAGES, h = 1.96 * Math.sqrt(p * (1 - p) / PASSAGES);
            if (close(v, new double[] {p - h, p + h}, 0, 2e-4)) {
                return e.wrong(show(v) + " is the normal (Wald) interval p +- 1.96 sqrt(p(1-p)/n).",
                        "Wilson's interval adds z^2/2n to the centre and z^2/4n^2 under the root, then divides by 1 + z^2/n.");
            }
            if (close(v, new double[] {100 * ref[0], 100 * ref[1]}, 0, 2e-2)) return e.wrong(show(v) + " is in %.", "give fractions between 0 and 1.");
            return e.wrong(show(v) + " is not Wilson's interval.");
        });
    }
}
