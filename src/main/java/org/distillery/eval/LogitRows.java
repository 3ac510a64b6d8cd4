package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;

/** Per-row scores of logits [N, C] shared by the evaluators: the negative log-likelihood of a target, in double. */
public final class LogitRows {
    private LogitRows() {}

    /** {@code -log softmax(logits[row])[target] = logsumexp(logits[row]) - logits[row, target]}, in double. */
    public static double nll(FloatTensor logits, int row, int target) {
        int c = logits.cols(), o = row * c;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) max = Math.max(max, logits.get(o + j));
        double sum = 0;
        for (int j = 0; j < c; j++) sum += Math.exp(logits.get(o + j) - max);
        return max + Math.log(sum) - logits.get(o + target);
    }
}
