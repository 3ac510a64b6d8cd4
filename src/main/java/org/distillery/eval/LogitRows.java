package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;

/** Per-row scores of logits [N, C] shared by the evaluators: the negative log-likelihood of a target, in double. */
public final class LogitRows {
    private LogitRows() {}

    /** {@code -log softmax(logits[row])[target] = logsumexp(logits[row]) - logits[row, target]}, in double. */
    public static double nll(FloatTensor logits, int row, int target) {
        int c = logits.cols(), o = row * c;
        return logSumExp(logits, o, c) - logits.get(o + target);
    }

    /**
     * KL(softmax(p[row]) || softmax(q[row])) = sum_j p_j (log p_j - log q_j), in double, for two logit matrices of
     * the same width (e.g. a float model's and a quantized model's next-token logits).
     */
    public static double kl(FloatTensor p, FloatTensor q, int row) {
        int c = p.cols(), o = row * c;
        if (q.cols() != c) throw new IllegalArgumentException("q: " + q.cols() + " columns but p has " + c);
        double lp = logSumExp(p, o, c), lq = logSumExp(q, o, c), kl = 0;
        for (int j = 0; j < c; j++) {
            double logP = p.get(o + j) - lp;
            kl += Math.exp(logP) * (logP - (q.get(o + j) - lq));
        }
        return Math.max(kl, 0);
    }

    private static double logSumExp(FloatTensor x, int o, int c) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) max = Math.max(max, x.get(o + j));
        double sum = 0;
        for (int j = 0; j < c; j++) sum += Math.exp(x.get(o + j) - max);
        return max + Math.log(sum);
    }
}
