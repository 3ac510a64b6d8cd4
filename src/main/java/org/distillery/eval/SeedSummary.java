package org.distillery.eval;

import java.util.Locale;

/**
 * Mean and spread of one measurement repeated over n seeds: mean, sample standard deviation (n - 1),
 * minimum, maximum, and the half-width of the two-sided 95 % confidence interval of the mean from
 * Student's t distribution, {@code t(0.975, n - 1) * sd / sqrt(n)} (NaN for n = 1). With 3 seeds
 * t = 4.303, so the interval is wide: it says how far apart runs may be, not that they differ.
 *
 * @param n      number of values
 * @param mean   arithmetic mean
 * @param sd     sample standard deviation (NaN for n = 1)
 * @param min    smallest value
 * @param max    largest value
 * @param ci95   half-width of the t-based 95 % interval of the mean (NaN for n = 1)
 */
public record SeedSummary(int n, double mean, double sd, double min, double max, double ci95) {

    /** t(0.975, df) for df = 1..30 (two-sided 95 %); beyond 30 the normal 1.960 is used. */
    private static final double[] T975 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};

    /** The summary of {@code values} (at least one, all finite). */
    public static SeedSummary of(double... values) {
        if (values == null || values.length == 0) throw new IllegalArgumentException("values: need at least one");
        double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            if (!Double.isFinite(v)) throw new IllegalArgumentException("values: " + v + " is not finite");
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        int n = values.length;
        double mean = sum / n;
        if (n == 1) return new SeedSummary(1, mean, Double.NaN, min, max, Double.NaN);
        double ss = 0;
        for (double v : values) ss += (v - mean) * (v - mean);
        double sd = Math.sqrt(ss / (n - 1));
        return new SeedSummary(n, mean, sd, min, max, tQuantile975(n - 1) * sd / Math.sqrt(n));
    }

    /** The 0.975 quantile of Student's t with {@code df} &gt;= 1 degrees of freedom (table to 30, then 1.960). */
    public static double tQuantile975(int df) {
        if (df < 1) throw new IllegalArgumentException("df: must be >= 1 but was " + df);
        return df <= T975.length ? T975[df - 1] : 1.960;
    }

    /** Lower end of the 95 % interval (mean itself for n = 1). */
    public double low() { return n == 1 ? mean : mean - ci95; }

    /** Upper end of the 95 % interval (mean itself for n = 1). */
    public double high() { return n == 1 ? mean : mean + ci95; }

    /** "mean ± ci95" with {@code digits} decimals, or just the mean for n = 1. */
    public String format(int digits) {
        String f = "%." + digits + "f";
        return n == 1 ? String.format(Locale.ROOT, f, mean)
                : String.format(Locale.ROOT, f + " ± " + f, mean, ci95);
    }
}
