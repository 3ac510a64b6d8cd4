package org.distillery.distill;

import java.nio.file.Path;
import java.util.Arrays;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.MaskedLmEval;
import org.distillery.eval.UnigramBaseline;
import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.train.LoopConfig;
import org.distillery.train.MaskedLmBatches;
import org.distillery.train.MaskedLmObjective;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;

/**
 * Masked-language-model training and scoring of BERT models on the Brown corpus under one WordPiece vocabulary:
 * what notebook 11 ({@link BertDistillation}) and {@code ./lab distill} with a BERT teacher ({@link BertStudentRun})
 * share.
 *
 * <ol>
 *   <li><b>Data</b>: the training split encoded whole, cut into consecutive windows of T - 2 tokens, each a
 *       {@code [CLS] window [SEP]} row with BERT's 15 % masking (80/10/10) drawn by {@link MaskedLmBatches} from
 *       the run's seed; the first N tokens of the validation split for the scores.</li>
 *   <li><b>Training</b>: a {@link Trainer} over any objective on those rows ({@link MaskedLmObjective}, or a
 *       {@link Distiller} around it), metrics in {@code runDir/metrics.csv}.</li>
 *   <li><b>Scores</b>: masked-token accuracy and perplexity on the validation tokens ({@link MaskedLmEval}) with
 *       the fixed masking seed {@link #EVAL_SEED}, so every model is scored on the same masked positions.</li>
 * </ol>
 */
public final class BrownMaskedLm {
    /** Masking seed of every masked-LM evaluation (the same masked positions for every model). */
    public static final long EVAL_SEED = 2024;

    /**
     * A finished training: the trainer (history, step) and its scores.
     *
     * @param seconds wall-clock training time (s)
     * @param mlm     masked-LM scores on the validation tokens after training, dropout off
     */
    public record Trained(Trainer trainer, double seconds, MaskedLmEval.Result mlm) {
        /** The loss of the last step. */
        public double finalTrainLoss() { return trainer.history().get(trainer.history().size() - 1).loss(); }
    }

    private final WordPieceTokenizer tokenizer;
    private final MaskedLmBatches.Vocabulary vocab;
    private final int[] trainIds, evalIds;

    private BrownMaskedLm(WordPieceTokenizer tokenizer, int[] trainIds, int[] evalIds) {
        this.tokenizer = tokenizer;
        this.vocab = MaskedLmBatches.Vocabulary.of(tokenizer);
        this.trainIds = trainIds;
        this.evalIds = evalIds;
    }

    /**
     * Encodes Brown's training split and the first {@code evalTokens} tokens of its validation split.
     *
     * @param evalTokens validation tokens to score on, &gt;= 0 (0 = all of them)
     */
    public static BrownMaskedLm of(BrownCorpus brown, WordPieceTokenizer tokenizer, int evalTokens) {
        if (brown == null) throw new IllegalArgumentException("brown: must not be null");
        if (tokenizer == null) throw new IllegalArgumentException("tokenizer: must not be null");
        if (evalTokens < 0) throw new IllegalArgumentException("evalTokens: must be >= 0 (0 = all) but was " + evalTokens);
        int[] train = tokenizer.encode(brown.text(BrownCorpus.Split.TRAIN));
        int[] val = tokenizer.encode(brown.text(BrownCorpus.Split.VALIDATION));
        return new BrownMaskedLm(tokenizer, train, evalTokens == 0 ? val : Arrays.copyOf(val, Math.min(val.length, evalTokens)));
    }

    public WordPieceTokenizer tokenizer() { return tokenizer; }

    /** The special ids masking needs. */
    public MaskedLmBatches.Vocabulary vocabulary() { return vocab; }

    /** Tokens of the training split. */
    public int trainTokens() { return trainIds.length; }

    /** Validation tokens the scores use. */
    public int evalTokens() { return evalIds.length; }

    /**
     * The training rows of T = {@code seqLen} and the masked-LM objective of {@code model} on them.
     *
     * @param seqLen  T, rows with [CLS] and [SEP], &gt;= 3
     * @param batch   B, rows per micro-batch
     * @param dropout the model's dropout during training, in [0, 1)
     * @param seed    row order, masking and dropout seed
     */
    public MaskedLmObjective objective(Bert model, int seqLen, int batch, double dropout, long seed) {
        if (seqLen < 3) throw new IllegalArgumentException("seqLen: must be >= 3 ([CLS], a token, [SEP]) but was " + seqLen);
        MaskedLmBatches rows = new MaskedLmBatches(MaskedLmBatches.windows(trainIds, seqLen - 2), seqLen, vocab,
                MaskedLmBatches.BERT_MASK_PROB, seed);
        return new MaskedLmObjective(model, rows, null, new MaskedLmObjective.Options(batch, 1, dropout, seed));
    }

    /**
     * Masked-LM scores of {@code model} on the validation tokens: rows of T = {@code seqLen}, 15 % masking drawn
     * from {@link #EVAL_SEED}, {@code batch} rows per forward. The model's dropout must be off.
     */
    public MaskedLmEval.Result evaluate(Bert model, int seqLen, int batch) {
        return MaskedLmEval.evaluate(model, evalIds, seqLen, vocab, MaskedLmBatches.BERT_MASK_PROB, EVAL_SEED, batch);
    }

    /**
     * Trains {@code model} through {@code objective} (built on this corpus' rows) by {@code loop}, switches the
     * model's dropout off and scores it.
     *
     * @param runDir where {@code metrics.csv} and checkpoints go, or null for none
     * @param seqLen T of the scores (the training rows' T)
     * @param batch  rows per forward of the scores
     */
    public Trained train(Bert model, TrainingObjective objective, LoopConfig loop, Path runDir, int seqLen, int batch,
                         boolean showProgress) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (objective == null) throw new IllegalArgumentException("objective: must not be null");
        if (loop == null) throw new IllegalArgumentException("loop: must not be null");
        Trainer trainer = new Trainer(loop, objective, runDir).showProgress(showProgress);
        long t0 = System.nanoTime();
        trainer.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        model.setDropout(0, 0);
        return new Trained(trainer, seconds, evaluate(model, seqLen, batch));
    }

    /** Writes {@code model} as a Hugging Face BERT directory with this vocabulary's {@code vocab.txt}. */
    public void save(Bert model, Path dir) {
        model.save(dir);
        tokenizer.save(dir.resolve("vocab.txt"));
    }

    /**
     * The perplexity of the add-one unigram model of the training tokens ({@link UnigramBaseline}) on the validation
     * tokens that can be masked (the special tokens excluded): the masked-LM reference a model has to beat.
     */
    public double unigramPerplexity() {
        int[] maskable = Arrays.stream(evalIds).filter(id -> !vocab.special().contains(id)).toArray();
        return UnigramBaseline.perplexity(trainIds, maskable, tokenizer.vocabSize());
    }
}
