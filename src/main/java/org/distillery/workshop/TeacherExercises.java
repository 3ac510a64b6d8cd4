package org.distillery.workshop;

import java.util.List;
import java.util.Locale;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;

/**
 * The exercise of {@code 01-teacher.ipynb}: 01.1, the teacher's parameter count from its configuration by the
 * GPT-2 formula, checked against the parameters {@link Gpt} allocates for that configuration.
 */
public final class TeacherExercises {
    private TeacherExercises() {}

    /** The one exercise. */
    public static List<Exercise> all() {
        return List.of(parameterCount());
    }

    static Exercise parameterCount() {
        return new Exercise("01.1", "the teacher's parameter count from its configuration (GPT-2 formula)",
                "a long: the number of parameters", "per block: two LayerNorms (weight + bias each), attention c_attn [E, 3E] + bias"
                        + " and c_proj [E, E] + bias, MLP c_fc [E, 4E] + bias and c_proj [4E, E] + bias; plus token embeddings"
                        + " [V, E], position embeddings [P, E] and the final LayerNorm. The output head shares wte's weights.",
                new Exercise.Context("modelConfig", Gpt2Config.class, "the teacher's Gpt2Config"), (e, a, c) -> {
            Gpt2Config cfg = (Gpt2Config) c;
            long v = Answers.whole(a), ref = new Gpt(cfg, 1, 2, 0).parameterCount();
            long embd = cfg.nEmbd();
            if (v == ref) {
                return e.correct(String.format(Locale.ROOT, "%,d parameters, as Gpt allocates for this configuration; %.0f %% of them in the"
                        + " embeddings.", ref, 100.0 * (cfg.vocabSize() + cfg.nPositions()) * embd / ref));
            }
            if (v == ref + (long) cfg.vocabSize() * embd) {
                return e.wrong(String.format(Locale.ROOT, "%,d counts the output head separately.", v), "the head is tied: it reuses wte [V, E].");
            }
            if (v == ref - 2 * embd) return e.wrong(String.format(Locale.ROOT, "%,d leaves out the final LayerNorm ln_f.", v));
            return e.wrong(String.format(Locale.ROOT, "%,d is too %s for this configuration.", v, v > ref ? "high" : "low"));
        });
    }
}
