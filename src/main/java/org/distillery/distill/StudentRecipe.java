package org.distillery.distill;

/**
 * How a student of {@link LanguageModelDistillation} is trained. Every recipe trains on the same
 * micro-batches (the student's {@link org.distillery.train.TrainConfig} seed, batch shape and steps);
 * they differ in the initialisation and in the loss terms.
 */
public enum StudentRecipe {
    /** Random initialisation (the config's seed), next-token loss only: the baseline. */
    SCRATCH("from scratch", false, false, false),
    /** Initialised from the teacher ({@link StudentInitializer}), next-token loss only: what the initialisation alone gives. */
    TEACHER_INIT("teacher init", true, false, false),
    /** Initialised from the teacher; next-token loss + soft targets at temperature T (Hinton). */
    SOFT("distilled: soft", true, true, false),
    /**
     * Initialised from the teacher; next-token loss + soft targets + a loss on the last hidden states:
     * cosine at equal widths (DistilBERT's), MSE through a learned projection when the student is narrower.
     */
    SOFT_HIDDEN("distilled: soft + hidden", true, true, true);

    private final String label;
    private final boolean teacherInit, soft, hidden;

    StudentRecipe(String label, boolean teacherInit, boolean soft, boolean hidden) {
        this.label = label;
        this.teacherInit = teacherInit;
        this.soft = soft;
        this.hidden = hidden;
    }

    public String label() { return label; }

    /** A name usable in file names. */
    public String id() { return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'); }

    public boolean teacherInit() { return teacherInit; }

    public boolean soft() { return soft; }

    public boolean hidden() { return hidden; }

    /** Whether the teacher runs during training (a soft or hidden term). */
    public boolean needsTeacher() { return soft || hidden; }
}
