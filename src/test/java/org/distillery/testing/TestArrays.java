package org.distillery.testing;

import java.util.Random;
import java.util.function.ToDoubleFunction;

/** Random test data and the comparisons the kernel and loss tests share. */
public final class TestArrays {
    private TestArrays() {}

    /** n values N(0, scale^2), each rounded to float (so the fp32 and double paths see the same inputs). */
    public static double[] randnF32(Random rnd, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (float) (scale * rnd.nextGaussian());
        return a;
    }

    /** max|expected - actual| / max|expected| (the absolute difference when expected is all zero). */
    public static double maxRelError(double[] expected, double[] actual) {
        if (expected.length != actual.length) throw new AssertionError("length " + expected.length + " vs " + actual.length);
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num = Math.max(num, Math.abs(expected[i] - actual[i]));
            den = Math.max(den, Math.abs(expected[i]));
        }
        return den == 0 ? num : num / den;
    }

    /** Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every i; x is restored. */
    public static double[] centralDifferences(double[] x, double h, ToDoubleFunction<double[]> f) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double old = x[i];
            x[i] = old + h;
            double up = f.applyAsDouble(x);
            x[i] = old - h;
            double down = f.applyAsDouble(x);
            x[i] = old;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }
}
