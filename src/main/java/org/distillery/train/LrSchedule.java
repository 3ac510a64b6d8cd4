package org.distillery.train;

/**
 * Learning rate by step: linear warm-up to {@code maxLr}, then cosine decay to {@code minLr} (the
 * schedule of nanoGPT's {@code get_lr}, counted from step 1). For the optimiser step s (1-based) with
 * W = {@code warmupSteps} and S = {@code totalSteps}:
 * <pre>
 *   s &lt;= W:       lr(s) = maxLr * s / W
 *   W &lt; s &lt;= S:   lr(s) = minLr + (maxLr - minLr) * (1 + cos(pi * (s - W) / (S - W))) / 2
 *   s &gt; S:        lr(s) = minLr
 * </pre>
 * so lr(W) = maxLr, lr(W + (S - W)/2) = (maxLr + minLr)/2 and lr(S) = minLr. With W = 0 there is no
 * warm-up (lr(0) would be maxLr); with W = S the schedule is warm-up only.
 *
 * @param maxLr       peak learning rate, finite and &gt; 0
 * @param minLr       final learning rate, in [0, maxLr]
 * @param warmupSteps warm-up length W, in [0, totalSteps]
 * @param totalSteps  schedule length S, &gt;= 1
 */
public record LrSchedule(double maxLr, double minLr, int warmupSteps, int totalSteps) {
    public LrSchedule {
        if (!(maxLr > 0) || Double.isInfinite(maxLr)) {
            throw new IllegalArgumentException("maxLr: must be finite and > 0 but was " + maxLr);
        }
        if (!(minLr >= 0 && minLr <= maxLr)) {
            throw new IllegalArgumentException("minLr: must be in [0, maxLr = " + maxLr + "] but was " + minLr);
        }
        if (totalSteps < 1) throw new IllegalArgumentException("totalSteps: must be >= 1 but was " + totalSteps);
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmupSteps: must be in [0, totalSteps = " + totalSteps + "] but was "
                    + warmupSteps);
        }
    }

    /**
     * The learning rate of optimiser step {@code step} (the closed form in the class comment).
     *
     * @param step 1-based step, &gt;= 0 (0 gives 0 during warm-up, maxLr without warm-up)
     */
    public double lr(long step) {
        if (step < 0) throw new IllegalArgumentException("step: must be >= 0 but was " + step);
        if (step <= warmupSteps) return warmupSteps == 0 ? maxLr : maxLr * step / warmupSteps;
        if (step >= totalSteps) return minLr;
        double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);   // in (0, 1)
        return minLr + (maxLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
