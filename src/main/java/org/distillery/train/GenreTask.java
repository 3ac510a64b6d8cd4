package org.distillery.train;

import java.util.List;
import org.distillery.data.BrownCorpus;
import org.distillery.data.GenrePassages;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.model.SequenceClassifier;
import org.distillery.tokenize.Tokenizer;

/**
 * The downstream task of the project: classify a passage of a Brown document into its document's genre (15
 * classes, {@link BrownCorpus#CATEGORIES}). Passages ({@link GenrePassages}) are cut from the training split's
 * documents for fine-tuning and from the test split's for the score, so no document is in both. One recipe
 * ({@link #fineTune}) is shared by every model the project fine-tunes on it: BERT students
 * ({@code distill.BertDistillation}) and GPTs at each stage of the compression pipeline ({@code ./lab finetune}).
 */
public final class GenreTask {
    private final List<int[]> trainX, testX;
    private final int[] trainY, testY;

    /**
     * Fine-tuning settings.
     *
     * @param batchSize     B, &gt;= 1
     * @param seqLen        T of a row (specials included)
     * @param steps         optimiser steps, &gt;= 1 (warm-up: a tenth of them, at least 1)
     * @param lr            peak learning rate (cosine to a tenth of it), &gt; 0
     * @param dropout       in [0, 1)
     * @param seed          head initialisation, order and dropout
     * @param freezePattern {@link NamePattern} of the parameters not to train ({@link LoopConfig#freezePattern()}); "" trains all
     */
    public record Recipe(int batchSize, int seqLen, int steps, double lr, double dropout, long seed, String freezePattern) {
        public Recipe {
            if (steps < 1) throw new IllegalArgumentException("steps: must be >= 1 but was " + steps);
            if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr: must be > 0 and finite but was " + lr);
            if (freezePattern == null) throw new IllegalArgumentException("freezePattern: must not be null (\"\" trains all)");
        }
    }

    /**
     * The fine-tuned model's score.
     *
     * @param test           accuracy and mean NLL on the test passages
     * @param trainSeconds   wall time of the fine-tuning
     * @param finalTrainLoss the loss of the last step
     */
    public record Result(ClassificationAccuracy.Result test, double trainSeconds, double finalTrainLoss) {}

    /**
     * @param brown     the corpus
     * @param tokenizer the model's tokenizer
     * @param length    passage length in tokens (without specials)
     */
    public GenreTask(BrownCorpus brown, Tokenizer tokenizer, int length) {
        if (brown == null) throw new IllegalArgumentException("brown: must not be null");
        List<GenrePassages.Passage> tr = GenrePassages.of(brown.documents(BrownCorpus.Split.TRAIN), tokenizer, length);
        List<GenrePassages.Passage> te = GenrePassages.of(brown.documents(BrownCorpus.Split.TEST), tokenizer, length);
        this.trainX = GenrePassages.tokens(tr);
        this.trainY = GenrePassages.labels(tr);
        this.testX = GenrePassages.tokens(te);
        this.testY = GenrePassages.labels(te);
    }

    /** The number of classes, 15. */
    public static int classes() { return BrownCorpus.CATEGORIES.size(); }

    /** Genre labels of the training passages (the fine-tuning set), in order. */
    public int[] trainLabels() { return trainY.clone(); }

    /** Genre labels of the test passages, in order. */
    public int[] testLabels() { return testY.clone(); }

    /** Token ids of the training passages, in order (live arrays: do not modify). */
    public List<int[]> trainTokens() { return trainX; }

    /** Token ids of the test passages, in order (live arrays: do not modify). */
    public List<int[]> testTokens() { return testX; }

    /**
     * The majority-class baseline: the accuracy on the test passages of always answering the most frequent genre
     * of the training passages.
     */
    public ClassificationAccuracy.Result majorityBaseline() {
        int[] counts = new int[classes()];
        for (int y : trainY) counts[y]++;
        int best = 0;
        for (int c = 1; c < counts.length; c++) if (counts[c] > counts[best]) best = c;
        int correct = 0;
        for (int y : testY) if (y == best) correct++;
        return new ClassificationAccuracy.Result(testY.length, correct, Double.NaN);
    }

    /**
     * Fine-tunes {@code model} (with a {@link #classes()}-way head) on the training passages: AdamW, weight decay
     * 0.01, warm-up a tenth of the steps, cosine decay to lr / 10, parameters matching the recipe's freeze pattern
     * left as they are; then scores it on the test passages.
     */
    public Result fineTune(SequenceClassifier model, SequenceFraming framing, Recipe recipe, boolean showProgress) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (recipe == null) throw new IllegalArgumentException("recipe: must not be null");
        if (model.classes() != classes()) {
            throw new IllegalArgumentException("model: has " + model.classes() + " classes; the genre task has " + classes());
        }
        var objective = new SequenceClassificationObjective(model, trainX, trainY, testX, testY, framing,
                new SequenceClassificationObjective.Options(recipe.batchSize(), recipe.seqLen(), recipe.dropout(), recipe.seed()));
        int steps = recipe.steps();
        LoopConfig loop = LoopConfig.defaults().withSteps(steps, Math.max(1, steps / 10))
                .withLr(recipe.lr(), recipe.lr() / 10).withWeightDecay(0.01).withEvalInterval(0)
                .withFreezePattern(recipe.freezePattern());
        Trainer trainer = new Trainer(loop, objective).showProgress(showProgress);
        long t0 = System.nanoTime();
        trainer.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        ClassificationAccuracy.Result acc = objective.validationAccuracy();          // the test passages
        return new Result(acc, seconds, trainer.history().get(trainer.history().size() - 1).loss());
    }
}
