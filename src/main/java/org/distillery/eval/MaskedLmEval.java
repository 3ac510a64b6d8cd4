package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Bert;
import org.distillery.model.Mlp;
import org.distillery.train.MaskedLmBatches;

import java.util.Locale;

/**
 * Masked-language-model quality of a {@link Bert} on a token stream: the stream is cut into consecutive
 * windows of T - 2 tokens ({@link MaskedLmBatches#windows}; the last may be shorter and is padded), each
 * becomes {@code [CLS] window [SEP]} masked by {@link MaskedLmBatches} with a fixed seed (window j with
 * masking stream j, so every call masks the same positions the same way), and at every masked position
 * the model's logits give
 * <pre>
 *   nll_i = logsumexp(logits_i) - logits_i[original id]     (in double)
 *   mean NLL = (1/M) sum_i nll_i,  perplexity = exp(mean NLL),  accuracy = (1/M) #{argmax logits_i = original id}
 * </pre>
 * over the M masked positions (argmax: the first maximum). The model's dropout must be off (its default;
 * {@link org.distillery.train.MaskedLmObjective#validationLoss} also leaves it off).
 */
public final class MaskedLmEval {
    private MaskedLmEval() {}

    /**
     * @param maskedTokens M, the number of masked positions evaluated
     * @param accuracy     fraction of them whose largest logit is the original token
     * @param meanNll      mean negative log-likelihood of the original tokens (nats)
     */
    public record Result(long maskedTokens, double accuracy, double meanNll) {
        /** exp(mean NLL). */
        public double perplexity() { return Math.exp(meanNll); }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "MLM: %d masked tokens, accuracy %.4f, mean NLL %.4f nats, perplexity %.3f",
                    maskedTokens, accuracy, meanNll, perplexity());
        }
    }

    /**
     * Evaluates {@code model} on {@code tokens} (ids without [CLS]/[SEP]).
     *
     * @param seqLen    T, the row length with [CLS] and [SEP], in [3, model maxT]
     * @param vocab     the special ids
     * @param maskProb  fraction of positions masked per window (BERT: 0.15)
     * @param seed      masking seed (fixed for comparable numbers)
     * @param batchSize rows per forward, in [1, model maxB]
     */
    public static Result evaluate(Bert model, int[] tokens, int seqLen, MaskedLmBatches.Vocabulary vocab,
                                  double maskProb, long seed, int batchSize) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (seqLen < 3 || seqLen > model.maxSequenceLength()) {
            throw new IllegalArgumentException("seqLen: must be in [3, model maxT = " + model.maxSequenceLength()
                    + "] but was " + seqLen);
        }
        if (batchSize < 1 || batchSize > model.maxBatch()) {
            throw new IllegalArgumentException("batchSize: must be in [1, model maxB = " + model.maxBatch() + "] but was "
                    + batchSize);
        }
        if (vocab != null && vocab.size() != model.config().vocabSize()) {
            throw new IllegalArgumentException("vocab: size " + vocab.size() + " differs from the model's vocab_size "
                    + model.config().vocabSize());
        }
        MaskedLmBatches rows = new MaskedLmBatches(MaskedLmBatches.windows(tokens, seqLen - 2), seqLen, vocab, maskProb, seed);
        int n = rows.size();
        int[] ids = new int[batchSize * seqLen], lengths = new int[batchSize], labels = new int[batchSize * seqLen];
        long masked = 0, correct = 0;
        double nll = 0;
        for (int s = 0; s < n; s += batchSize) {
            int b = Math.min(batchSize, n - s);
            rows.fillSequences(s, b, ids, lengths, labels);
            int[] bi = ids, bl = lengths;
            if (b < batchSize) {
                bi = java.util.Arrays.copyOf(ids, b * seqLen);
                bl = java.util.Arrays.copyOf(lengths, b);
            }
            model.forward(bi, null, bl, null, b, seqLen);
            FloatTensor logits = model.logits();             // [b*T, V]
            for (int i = 0; i < b * seqLen; i++) {
                int y = labels[i];
                if (y == Bert.IGNORE_INDEX) continue;
                nll += LogitRows.nll(logits, i, y);
                if (Mlp.argmax(logits, i) == y) correct++;
                masked++;
            }
        }
        if (masked == 0) throw new IllegalArgumentException("tokens: no position could be masked (every token is special)");
        return new Result(masked, (double) correct / masked, nll / masked);
    }
}
