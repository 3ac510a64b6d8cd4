package org.distillery.distill;

/**
 * How a half-depth BERT student is initialised and trained in the DistilBERT experiments
 * ({@link BertDistillation}): Sanh et al.'s recipe (layer initialisation + the triple loss
 * L = a_ce L_ce + a_mlm L_mlm + a_cos L_cos), the paper's ablations (random initialisation; each loss term removed
 * in turn), and the same student trained without a teacher. {@link #publishedGluePointsLost} is the change in the
 * GLUE macro-score DistilBERT's ablation table reports for the variant (relative to the full recipe), or NaN where
 * the paper has no row.
 */
public enum BertStudentRecipe {
    LAYER_INIT_TRIPLE("layer-init-triple", "(a) layer init + triple loss", true, true, true, true, 0),
    RANDOM_INIT_TRIPLE("random-init-triple", "(b) random init + triple loss", false, true, true, true, -3.69),
    WITHOUT_CE("without-ce", "(c) layer init, without L_ce", true, false, true, true, -2.96),
    WITHOUT_MLM("without-mlm", "(c) layer init, without L_mlm", true, true, false, true, -1.46),
    WITHOUT_COS("without-cos", "(c) layer init, without L_cos", true, true, true, false, -0.31),
    SCRATCH("scratch", "(d) from scratch, no teacher", false, false, true, false, Double.NaN);

    private final String id, label;
    private final boolean teacherInit, ce, mlm, cos;
    private final double publishedGluePointsLost;

    BertStudentRecipe(String id, String label, boolean teacherInit, boolean ce, boolean mlm, boolean cos, double glue) {
        this.id = id;
        this.label = label;
        this.teacherInit = teacherInit;
        this.ce = ce;
        this.mlm = mlm;
        this.cos = cos;
        this.publishedGluePointsLost = glue;
    }

    /** For folder names. */
    public String id() { return id; }

    /** For tables. */
    public String label() { return label; }

    /** Whether the student starts from teacher layers ({@link StudentInitializer}) rather than random weights. */
    public boolean teacherInit() { return teacherInit; }

    /** Whether the soft-target term L_ce (KL at temperature T, times T^2) is on. */
    public boolean ce() { return ce; }

    /** Whether the student's own masked-LM loss L_mlm is on. */
    public boolean mlm() { return mlm; }

    /** Whether the cosine loss between last hidden states L_cos is on. */
    public boolean cos() { return cos; }

    /** Whether training needs the teacher's outputs (any of L_ce, L_cos). */
    public boolean needsTeacher() { return ce || cos; }

    /** GLUE points DistilBERT's ablation table reports for this variant vs the full recipe; NaN if none. */
    public double publishedGluePointsLost() { return publishedGluePointsLost; }
}
