package org.distillery.formats;

import java.util.Random;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Synthetic weight-like samples, until real trained weights are used. Transformer weights are initialised
 * as N(0, 0.02²) and develop heavier tails during training; a Student-t distribution with a few degrees of
 * freedom, rescaled to the same standard deviation, mimics that (ν = 5: finite variance and kurtosis,
 * excess kurtosis 6, so occasional weights many standard deviations out).
 *
 * <p>Draws come from {@link java.util.Random} with a fixed seed, whose algorithm (including
 * {@code nextGaussian}) is specified, so a sample is the same on every JDK.
 */
public final class WeightSamples {
    /** Degrees of freedom of {@link #weightLike}. */
    public static final int DEFAULT_DOF = 5;
    /** Standard deviation of {@link #weightLike} (GPT-2 / BERT initialisation). */
    public static final double DEFAULT_STD = 0.02;
    /** Seed of {@link #weightLike}. */
    public static final long DEFAULT_SEED = 42;

    private WeightSamples() {}

    /** {@code n} weight-like values: Student-t with 5 degrees of freedom, scaled to std 0.02, seed 42. */
    public static float[] weightLike(int n) {
        return studentT(n, DEFAULT_DOF, DEFAULT_STD, DEFAULT_SEED);
    }

    /**
     * {@code n} draws of {@code std · t / sqrt(dof / (dof - 2))} where {@code t = z / sqrt(χ²_dof / dof)}
     * (z standard normal, χ²_dof a sum of {@code dof} squared standard normals): a Student-t variable with
     * {@code dof} degrees of freedom scaled to standard deviation {@code std}.
     */
    public static float[] studentT(int n, int dof, double std, long seed) {
        if (n < 0) {
            throw new IllegalArgumentException("n = " + n + " must be >= 0");
        }
        if (dof < 3 || dof > 1000) {
            throw new IllegalArgumentException("dof = " + dof + " is out of range: accepted 3 to 1000 (finite variance)");
        }
        if (!(std > 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std = " + std + " must be positive and finite");
        }
        Random rnd = new Random(seed);
        double unitStd = Math.sqrt(dof / (dof - 2.0));
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            double z = rnd.nextGaussian();
            double chi2 = 0;
            for (int k = 0; k < dof; k++) {
                double g = rnd.nextGaussian();
                chi2 += g * g;
            }
            double t = z / Math.sqrt(chi2 / dof);
            w[i] = (float) (std * t / unitStd);
        }
        return w;
    }

    /** {@code n} draws of a normal distribution with mean 0 and standard deviation {@code std}: a light-tailed reference. */
    public static float[] normal(int n, double std, long seed) {
        if (n < 0) {
            throw new IllegalArgumentException("n = " + n + " must be >= 0");
        }
        if (!(std > 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std = " + std + " must be positive and finite");
        }
        Random rnd = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (std * rnd.nextGaussian());
        }
        return w;
    }

    /** {@link #describe(String, float[])} with the name {@code sample}. */
    public static Table describe(float[] w) {
        return describe("sample", w);
    }

    /**
     * Summary statistics of a sample, one row (append rows of several samples to compare them): name, n, mean, std, min, max, absmax/std, kurtosis (3 for a
     * normal distribution; larger means heavier tails) and the fraction of values more than 4 std from
     * the mean (about 6.3e-5 for a normal distribution).
     */
    public static Table describe(String name, float[] w) {
        if (w.length == 0) {
            throw new IllegalArgumentException("w.length = 0: nothing to describe");
        }
        double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (float v : w) {
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double mean = sum / w.length;
        double m2 = 0, m4 = 0;
        for (float v : w) {
            double d = v - mean;
            m2 += d * d;
            m4 += d * d * d * d;
        }
        m2 /= w.length;
        m4 /= w.length;
        double std = Math.sqrt(m2);
        int beyond = 0;
        for (float v : w) {
            if (Math.abs(v - mean) > 4 * std) {
                beyond++;
            }
        }
        Table t = Table.create("Sample", StringColumn.create("sample", name), IntColumn.create("n", new int[] {w.length}), DoubleColumn.create("mean", mean),
                DoubleColumn.create("std", std), DoubleColumn.create("min", min), DoubleColumn.create("max", max),
                DoubleColumn.create("absmax_over_std", Math.max(-min, max) / std),
                DoubleColumn.create("kurtosis", m4 / (m2 * m2)),
                DoubleColumn.create("beyond_4_std", (double) beyond / w.length));
        for (int c = 2; c < t.columnCount(); c++) {
            ((DoubleColumn) t.column(c)).setPrintFormatter(Printing.significant(4));
        }
        return t;
    }
}
