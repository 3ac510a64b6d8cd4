package org.distillery.eval;

/**
 * How much of a model's perplexity gap to a reference a change closes, over calibration seeds: for Norm Tweaking on
 * top of a quantization method, how much of the quantized model's gap to the float model the tweak recovers.
 *
 * <p>Per seed i, with reference perplexity r, the method's perplexity b_i and the changed model's a_i:
 * <ul>
 *   <li>change: 100 (a_i - b_i) / r, in % of the reference (negative: the change lowered the perplexity);</li>
 *   <li>recovered: 100 (b_i - a_i) / (b_i - r), the fraction of the gap closed.</li>
 * </ul>
 * The fraction is a ratio of two small numbers when the method is already close to the reference: in notebook 20's
 * earlier report, 4-bit GPTQ's gap of 0.005 perplexity gave per-seed fractions of -4251 % and +114 %, which say
 * nothing. So it is given only where the
 * mean gap, 100 (mean(b) / r - 1), is at least {@link #MIN_GAP_PERCENT} % of the reference; the change, in % of the
 * reference, is always given. (It is not given either if a seed's method alone is at or below the reference.)
 *
 * @param gapPercent the method's mean gap to the reference, in % of the reference
 * @param changes    the change of each seed, in % of the reference [seeds]
 * @param recovered  the fraction of the gap recovered of each seed, in % [seeds]; null where the gap is below
 *                   {@link #MIN_GAP_PERCENT} or a seed's method alone is not above the reference
 */
public record GapRecovery(double gapPercent, double[] changes, double[] recovered) {
    /** The smallest mean gap, in % of the reference, for which the recovered fraction is given. */
    public static final double MIN_GAP_PERCENT = 1.0;

    /**
     * The recovery of {@code after} over {@code before} (perplexities per seed, same order and length, at least one)
     * against {@code reference}.
     */
    public static GapRecovery of(double reference, double[] before, double[] after) {
        if (!(reference > 0) || !Double.isFinite(reference)) {
            throw new IllegalArgumentException("reference: must be a finite perplexity > 0 but was " + reference);
        }
        if (before.length == 0 || before.length != after.length) {
            throw new IllegalArgumentException("before, after: need one perplexity per seed each, at least one, but got "
                    + before.length + " and " + after.length);
        }
        double[] change = new double[before.length], frac = new double[before.length];
        double meanBefore = 0;
        boolean everyGapPositive = true;
        for (int i = 0; i < before.length; i++) {
            if (!Double.isFinite(before[i]) || !Double.isFinite(after[i])) {
                throw new IllegalArgumentException("seed " + i + ": perplexities must be finite but were " + before[i]
                        + " before and " + after[i] + " after");
            }
            change[i] = 100 * (after[i] - before[i]) / reference;
            frac[i] = 100 * (before[i] - after[i]) / (before[i] - reference);
            meanBefore += before[i] / before.length;
            everyGapPositive &= before[i] > reference;
        }
        double gap = 100 * (meanBefore / reference - 1);
        boolean meaningful = gap >= MIN_GAP_PERCENT && everyGapPositive;
        return new GapRecovery(gap, change, meaningful ? frac : null);
    }

    /** The change over the seeds (mean, 95 % interval), in % of the reference. */
    public SeedSummary changePercent() {
        return SeedSummary.of(changes);
    }

    /** The fraction of the gap recovered over the seeds (mean, 95 % interval), in %; null where it is not given. */
    public SeedSummary recoveredPercent() {
        return recovered == null ? null : SeedSummary.of(recovered);
    }

    /** Whether the recovered fraction is given (see the class comment). */
    public boolean hasRecovered() {
        return recovered != null;
    }
}
