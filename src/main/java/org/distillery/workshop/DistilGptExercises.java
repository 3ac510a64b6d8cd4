package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.List;
import java.util.Locale;
import org.distillery.distill.HiddenStateLoss;
import org.distillery.distill.LanguageModelDistillation;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.train.TrainConfig;

/**
 * The exercises of {@code 12-distilgpt2-students.ipynb}:
 * <ol>
 *   <li>12.1 the cosine hidden-state loss of two rows, checked against {@link HiddenStateLoss} (COSINE);</li>
 *   <li>12.2 the fraction of the teacher's parameters a student of a quarter of its width keeps, checked against the
 *   parameters {@link Gpt} allocates, on the notebook's teacher configuration {@code tc};</li>
 *   <li>12.3 the teacher-output cache of one seed's runs with twice the batch, checked against
 *   {@link LanguageModelDistillation#teacherOutputBytes}, on the notebook's training configuration {@code base}.</li>
 * </ol>
 */
public final class DistilGptExercises {
    private DistilGptExercises() {}

    /** 12.1: student hidden states s [2, 4]. */
    public static final double[][] STUDENT_HIDDEN = {{1, 2, 0, -1}, {0.5, -1, 2, 1}};
    /** 12.1: teacher hidden states t [2, 4]. */
    public static final double[][] TEACHER_HIDDEN = {{2, 1, 0, -2}, {1, 1, 1, 1}};

    /** The three exercises, in order. */
    public static List<Exercise> all() {
        return List.of(cosineLoss(), quarterWidth(), cacheBytes());
    }

    static Exercise cosineLoss() {
        return new Exercise("12.1", "the cosine hidden-state loss of two rows (DistilBERT's / DistilGPT2's L_cos)",
                "a double: the mean over the two rows of 1 - cos(s_i, t_i)", "cos(s, t) = (s . t) / (|s| |t|); the loss is 1 - cos per"
                        + " row, averaged over the rows.", null, (e, a, c) -> {
            double v = Answers.number(a), ref = cosineReference();
            if (close(v, ref, 1e-5, 1e-9)) {
                return e.correct("mean(1 - cos) = " + show(ref) + " (HiddenStateLoss, COSINE, agrees): 0 when every student row points"
                        + " the teacher's way, whatever their lengths.");
            }
            if (close(v, 2 * ref, 1e-5, 1e-9)) return e.wrong(show(v) + " is the sum over the rows.", "average over the 2 rows.");
            if (close(v, 1 - ref, 1e-5, 1e-9)) return e.wrong(show(v) + " is the mean cosine itself.", "the loss is 1 - cos.");
            return e.wrong(show(v) + " is not the mean of 1 - cos.");
        });
    }

    static Exercise quarterWidth() {
        return new Exercise("12.2", "the fraction of the teacher's parameters a quarter-width student (same depth) keeps",
                "a double: student parameters / teacher parameters", "use exercise 01.1's formula with width E/4 (and the heads divided"
                        + " by 4, at least 1); vocabulary, context and depth stay the teacher's. Blocks shrink with E^2, embeddings with E.",
                new Exercise.Context("tc", Gpt2Config.class, "the teacher's Gpt2Config"), (e, a, c) -> {
            Gpt2Config tc = (Gpt2Config) c;
            if (tc.nEmbd() % 4 != 0) {
                throw new IllegalArgumentException("tc: the width " + tc.nEmbd() + " is not divisible by 4, so there is no quarter-width student");
            }
            Gpt2Config quarter = Gpt2Config.of(tc.vocabSize(), tc.nPositions(), tc.nEmbd() / 4, tc.nLayer(), Math.max(1, tc.nHead() / 4));
            long student = new Gpt(quarter, 1, 2, 0).parameterCount(), teacher = new Gpt(tc, 1, 2, 0).parameterCount();
            double v = Answers.number(a), ref = (double) student / teacher;
            if (close(v, ref, 1e-4, 0)) {
                return e.correct(String.format(Locale.ROOT, "%,d of %,d parameters = %s: more than 1/16 because the embeddings"
                        + " shrink only with the width (Gpt agrees).", student, teacher, show(ref)));
            }
            if (close(v, 1.0 / 16, 1e-4, 0)) return e.wrong(show(v) + " assumes every tensor shrinks with E^2.", "embeddings [V, E] and [P, E] shrink only 4x.");
            if (close(v, 0.25, 1e-4, 0)) return e.wrong(show(v) + " assumes every tensor shrinks with E.", "the blocks' matrices [E, 4E] etc. shrink 16x.");
            return e.wrong(show(v) + " is not the fraction.");
        });
    }

    static Exercise cacheBytes() {
        return new Exercise("12.3", "the teacher-output cache of one seed's distilled runs (logits and hidden states) with twice the batch",
                "a long: bytes", "per micro-batch the cache holds the teacher's logits [B*T, V] and last hidden states [B*T, E] as 4-byte"
                        + " floats, for every one of the run's steps x gradient-accumulation micro-batches; double B.",
                new Exercise.Context("base", TrainConfig.class, "the students' TrainConfig"), (e, a, c) -> {
            TrainConfig base = (TrainConfig) c;
            TrainConfig doubled = base.withBatch(2 * base.batchSize(), base.seqLen());
            long v = Answers.whole(a), ref = LanguageModelDistillation.teacherOutputBytes(doubled, base.model(), true);
            if (v == ref) {
                return e.correct(String.format(Locale.ROOT, "%,d bytes (%.1f MB; LanguageModelDistillation.teacherOutputBytes agrees),"
                        + " twice the notebook's %,d.", ref, ref / 1e6, LanguageModelDistillation.teacherOutputBytes(base, base.model(), true)));
            }
            if (v == LanguageModelDistillation.teacherOutputBytes(doubled, base.model(), false)) {
                return e.wrong(String.format(Locale.ROOT, "%,d bytes holds the logits only.", v), "the hidden-state runs also cache [B*T, E] per micro-batch.");
            }
            if (v == LanguageModelDistillation.teacherOutputBytes(base, base.model(), true)) {
                return e.wrong(String.format(Locale.ROOT, "%,d bytes is the notebook's batch, not twice it.", v));
            }
            if (4 * v == ref) return e.wrong(String.format(Locale.ROOT, "%,d counts values, not bytes.", v), "each float32 takes 4 bytes.");
            return e.wrong(String.format(Locale.ROOT, "%,d bytes is not the cache's size.", v));
        });
    }

    /** HiddenStateLoss (cosine, equal widths: no projection) on the two rows; value only. */
    private static double cosineReference() {
        int n = STUDENT_HIDDEN.length, h = STUDENT_HIDDEN[0].length;
        double[] s = new double[n * h], t = new double[n * h];
        for (int i = 0; i < n; i++) {
            System.arraycopy(STUDENT_HIDDEN[i], 0, s, i * h, h);
            System.arraycopy(TEACHER_HIDDEN[i], 0, t, i * h, h);
        }
        return new HiddenStateLoss(HiddenStateLoss.Kind.COSINE, h, h, 0)
                .forwardBackward(FloatTensor.of(s, n, h), FloatTensor.of(t, n, h), null, 0, null);   // [N, H] each
    }
}
