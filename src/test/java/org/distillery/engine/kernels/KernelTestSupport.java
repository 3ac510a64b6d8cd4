package org.distillery.engine.kernels;

import org.distillery.testing.TestArrays;

import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shared test helpers: random inputs, finite-difference gradients in double precision, and error
 * measures. Errors are max-norm relative: max_i |a_i - e_i| / max_i |e_i|.
 */
final class KernelTestSupport {
    private KernelTestSupport() {}

    /** Finite-difference step for central differences in double. */
    static final double FD_STEP = 1e-5;
    /** Bound on the relative error of an analytic gradient against central differences (double). */
    static final double FD_TOL = 1e-6;
    /** Bound on the relative error of a fast fp32 kernel against its double twin. */
    static final double FP32_TOL = 1e-5;
    /** Row lengths around the vector width (16 lanes with AVX-512, 8 with AVX2). */
    static final int[] ODD_LENGTHS = {1, 3, 7, 8, 15, 16, 17, 31, 33, 100};

    /** Largest FD relative error seen per (kernel, argument), printed by the test classes. */
    static final Map<String, Double> FD_ERRORS = new TreeMap<>();

    static double[] randn(Random rnd, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextGaussian() * scale;
        return a;
    }

    /** Rounds every value to fp32, so the fp32 kernel and the double twin see identical inputs. */
    static double[] f32(double[] a) {
        double[] b = new double[a.length];
        for (int i = 0; i < a.length; i++) b[i] = (float) a[i];
        return b;
    }

    static double[] randnF32(Random rnd, int n, double scale) { return TestArrays.randnF32(rnd, n, scale); }

    static double relErr(double[] expected, double[] actual) { return TestArrays.maxRelError(expected, actual); }

    static void assertRel(String what, double[] expected, double[] actual, double tol) {
        double e = relErr(expected, actual);
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }

    /** Central differences of {@code loss} w.r.t. every element of {@code x} (x is restored). */
    static double[] numericGrad(double[] x, ToDoubleFunction<double[]> loss) {
        return TestArrays.centralDifferences(x, FD_STEP, loss);
    }

    /** Checks an analytic gradient against central differences and records the error. */
    static void assertFd(String what, double[] x, ToDoubleFunction<double[]> loss, double[] analytic) {
        double[] num = numericGrad(x, loss);
        double e = relErr(num, analytic);
        synchronized (FD_ERRORS) {
            FD_ERRORS.merge(what, e, Math::max);
        }
        assertTrue(e < FD_TOL, what + ": FD relative error " + e + " >= " + FD_TOL);
    }

    /** sum_i a_i w_i: the scalar test loss whose gradient w.r.t. a is w. */
    static double dot(double[] a, double[] w) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * w[i];
        return s;
    }

    static void printFdErrors(String prefix) {
        synchronized (FD_ERRORS) {
            FD_ERRORS.forEach((k, v) -> {
                if (k.startsWith(prefix)) System.out.printf("FD max relative error %-40s %.2e%n", k, v);
            });
        }
    }
}
