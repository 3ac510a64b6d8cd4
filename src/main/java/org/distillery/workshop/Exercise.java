package org.distillery.workshop;

import java.util.regex.Pattern;

/**
 * One workshop exercise: a task at the end of a notebook, what answer it expects, a hint, and the check of an
 * answer against an independent reference. An answer of {@code null} (the attempt cell's initial value) is "not
 * attempted yet", never an error, so a notebook with its exercises untouched still runs to the end. An answer of
 * the wrong kind (an {@code Integer} where a {@code double[5]} is expected) is "wrong" with what was expected.
 *
 * <p>An exercise on a notebook's own results is checked against a variable of that notebook (its
 * {@link Context}), passed as the third argument of {@link Exercises#check(String, Object, Object)}; the
 * reference is then computed from those results, so the answer is right for whatever the run produced.
 */
public final class Exercise {
    private static final Pattern ID = Pattern.compile("\\d\\d\\.\\d+");

    /**
     * The notebook variable an exercise is checked against.
     *
     * @param variable its name in the notebook, e.g. {@code points}
     * @param type     the class it must be an instance of (for a list, {@code List}; the judge checks the elements)
     * @param what     what it is, for messages, e.g. "the sweep's List of QuantizationSweep.Point"
     */
    public record Context(String variable, Class<?> type, String what) {
        public Context {
            if (variable == null || type == null || what == null) {
                throw new IllegalArgumentException("variable, type, what: must not be null");
            }
        }
    }

    /** The check of a non-null answer (and the context, when the exercise has one) against the reference. */
    @FunctionalInterface
    interface Judge {
        Verdict judge(Exercise exercise, Object answer, Object context);
    }

    private final String id, title, answer, hint;
    private final Context context;
    private final Judge judge;

    /**
     * @param id      {@code NN.k}: notebook NN, k-th exercise
     * @param title   the task in a few words
     * @param answer  what to give, e.g. "a double[5]: the probabilities"
     * @param hint    shown with a wrong answer
     * @param context the notebook variable the answer is checked against, or null
     * @param judge   the check of a non-null answer
     */
    Exercise(String id, String title, String answer, String hint, Context context, Judge judge) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("id '" + id + "' is not NN.k (notebook number, exercise number), e.g. 20.2");
        }
        if (title == null || answer == null || hint == null || judge == null) {
            throw new IllegalArgumentException("title, answer, hint, judge: must not be null (exercise " + id + ")");
        }
        this.id = id;
        this.title = title;
        this.answer = answer;
        this.hint = hint;
        this.context = context;
        this.judge = judge;
    }

    public String id() { return id; }

    /** The two-digit notebook number, e.g. {@code "20"}. */
    public String notebook() { return id.substring(0, 2); }

    public String title() { return title; }

    /** What the answer must be. */
    public String answer() { return answer; }

    public String hint() { return hint; }

    /** The notebook variable this exercise is checked against; null when the answer alone is checked. */
    public Context context() { return context; }

    /**
     * The verdict on {@code answer}.
     *
     * @param answer  the participant's answer; null means not attempted yet
     * @param context the notebook variable named by {@link #context()}, or null when the exercise has none
     * @throws IllegalArgumentException when the context is missing, not needed, or of the wrong class: that is a
     *                                  mistake in the check cell, not in the answer
     */
    public Verdict check(Object answer, Object context) {
        if (this.context == null && context != null) {
            throw new IllegalArgumentException("exercise " + id + " is checked on the answer alone: call Exercises.check(\""
                    + id + "\", answer) without a third argument (got a " + context.getClass().getSimpleName() + ")");
        }
        if (this.context != null) {
            if (context == null) {
                throw new IllegalArgumentException("exercise " + id + " needs the notebook's " + this.context.variable() + " ("
                        + this.context.what() + ") as third argument: Exercises.check(\"" + id + "\", answer, "
                        + this.context.variable() + "); it was null");
            }
            if (!this.context.type().isInstance(context)) {
                throw new IllegalArgumentException("exercise " + id + ": the third argument must be the notebook's "
                        + this.context.variable() + " (" + this.context.what() + ") but was a " + context.getClass().getName());
            }
        }
        if (answer == null) {
            return new Verdict(id, Verdict.Status.NOT_ATTEMPTED, "Replace null with " + this.answer + ", then run this cell again.");
        }
        try {
            return judge.judge(this, answer, context);
        } catch (Answers.Mismatch m) {
            return new Verdict(id, Verdict.Status.WRONG, m.getMessage() + " Expected " + this.answer + ".");
        }
    }

    /** A correct verdict saying what matched. */
    Verdict correct(String what) {
        return new Verdict(id, Verdict.Status.CORRECT, what);
    }

    /** A wrong verdict with the exercise's hint. */
    Verdict wrong(String why) {
        return new Verdict(id, Verdict.Status.WRONG, why + " Hint: " + hint);
    }

    /** A wrong verdict with a hint aimed at a recognised mistake. */
    Verdict wrong(String why, String specificHint) {
        return new Verdict(id, Verdict.Status.WRONG, why + " Hint: " + specificHint);
    }

    @Override
    public String toString() {
        return id + " " + title;
    }
}
