package org.distillery.formats;

import java.util.Random;

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
}
