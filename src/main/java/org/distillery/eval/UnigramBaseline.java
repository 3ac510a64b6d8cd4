package org.distillery.eval;

/**
 * The simplest language model, as a baseline for perplexity: every token drawn independently with its
 * training-set frequency, add-one (Laplace) smoothed:
 * p(v) = (count_train(v) + 1) / (N_train + V); ppl = exp(-(1/N) sum log p(x_i)) over the evaluated tokens.
 */
public final class UnigramBaseline {
    private UnigramBaseline() {}

    /** Perplexity of the smoothed unigram model of {@code train} on {@code eval} (ids in [0, vocab)). */
    public static double perplexity(int[] train, int[] eval, int vocab) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be >= 1, got " + vocab);
        }
        if (eval.length == 0) {
            throw new IllegalArgumentException("eval tokens must not be empty");
        }
        long[] counts = new long[vocab];
        for (int i = 0; i < train.length; i++) {
            counts[check(train[i], i, vocab, "train")]++;
        }
        double logNorm = Math.log((double) train.length + vocab);
        double nll = 0;
        for (int i = 0; i < eval.length; i++) {
            nll += logNorm - Math.log(counts[check(eval[i], i, vocab, "eval")] + 1.0);
        }
        return Math.exp(nll / eval.length);
    }

    private static int check(int id, int pos, int vocab, String which) {
        if (id < 0 || id >= vocab) {
            throw new IllegalArgumentException(which + " token id " + id + " at position " + pos
                    + " is outside [0, " + vocab + ")");
        }
        return id;
    }
}
