package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.testing.TestArrays;
import org.junit.jupiter.api.Test;

/**
 * {@link HintonLoss}: the double twin against central differences, the fp32 path against the twin, and
 * closed forms (alpha = 1 is the plain cross-entropy; identical logits leave only the hard term; the
 * high-temperature limit of the T^2-scaled soft gradient is logit matching, and without T^2 it vanishes
 * as 1/T^2).
 */
class HintonLossTest {
    private static final int IGN = -100;

    private static double[] randn(Random r, int n, double scale) {
        return TestArrays.randnF32(r, n, scale);
    }

    private static double[] centralDifferences(double[] x, ToDoubleFunction<double[]> f) {
        return TestArrays.centralDifferences(x, 1e-5, f);
    }

    private static double maxRel(double[] expected, double[] actual) {
        return TestArrays.maxRelError(expected, actual);
    }

    @Test
    void referenceGradientMatchesFiniteDifferences() {
        Random rnd = new Random(50);
        int n = 4, v = 6;
        int[] labels = {1, IGN, 5, 0};
        boolean[] rows = {true, true, false, true};
        double[] t = randn(rnd, n * v, 2.0);
        for (HintonLoss loss : new HintonLoss[] {new HintonLoss(0.5, 4.0), new HintonLoss(0.1, 20.0, false),
                new HintonLoss(0.0, 2.0), new HintonLoss(1.0, 3.0)}) {
            double[] s = randn(rnd, n * v, 2.0), ds = new double[n * v];
            loss.forwardBackwardReference(s, t, n, v, labels, rows, ds);
            double[] fd = centralDifferences(s, ss -> loss.forwardBackwardReference(ss, t, n, v, labels, rows,
                    new double[n * v]));
            double err = maxRel(fd, ds);
            assertTrue(err < 1e-6, loss + ": finite-difference relative error " + err);
        }
    }

    @Test
    void fp32PathMatchesDoubleTwin() {
        Random rnd = new Random(51);
        for (int v : new int[] {10, 33, 256}) {
            int n = 6;
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = rnd.nextInt(v);
            labels[2] = IGN;
            boolean[] rows = {true, true, true, false, true, true};
            for (HintonLoss loss : new HintonLoss[] {new HintonLoss(0.3, 2.5), new HintonLoss(0.0, 20.0),
                    new HintonLoss(0.7, 8.0, false)}) {
                double[] s = randn(rnd, n * v, 3.0), t = randn(rnd, n * v, 3.0), ds = new double[n * v];
                double ref = loss.forwardBackwardReference(s, t, n, v, labels, rows, ds);
                FloatTensor d = FloatTensor.zeros(n, v).fill(5f);          // overwritten, not accumulated
                double got = loss.forwardBackward(FloatTensor.of(s, n, v), FloatTensor.of(t, n, v), labels, rows, d);
                assertEquals(ref, got, 1e-5 * Math.abs(ref), loss + " V=" + v);
                double err = maxRel(ds, d.toDoubleArray());
                assertTrue(err < 1e-5, loss + " V=" + v + ": gradient relative error " + err);
            }
        }
    }

    @Test
    void closedForms() {
        Random rnd = new Random(52);
        int n = 3, v = 8;
        int[] labels = {2, 7, 0};
        double[] s = randn(rnd, n * v, 2.0), t = randn(rnd, n * v, 2.0);
        FloatTensor st = FloatTensor.of(s, n, v), tt = FloatTensor.of(t, n, v), d = FloatTensor.zeros(n, v);

        // alpha = 1: the mean cross-entropy with the hard labels, whatever the teacher
        double ce = 0;
        for (int i = 0; i < n; i++) {
            double m = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < v; j++) m = Math.max(m, s[i * v + j]);
            for (int j = 0; j < v; j++) z += Math.exp(s[i * v + j] - m);
            ce += Math.log(z) + m - s[i * v + labels[i]];
        }
        ce /= n;
        assertEquals(ce, new HintonLoss(1.0, 7.0).forwardBackward(st, tt, labels, null, d), 1e-6 * ce);

        // student = teacher: the soft term is exactly 0, loss = alpha * CE
        HintonLoss half = new HintonLoss(0.25, 4.0);
        assertEquals(0.25 * ce, half.forwardBackward(st, st, labels, null, d), 1e-6 * ce);
        assertEquals(0.0, half.lastSoftLoss(), 0.0);
        assertEquals(ce, half.lastHardLoss(), 1e-6 * ce);
    }

    @Test
    void highTemperatureLimitIsLogitMatchingAndTheSquaredFactorKeepsItsScale() {
        Random rnd = new Random(53);
        int n = 2, v = 10;
        double[] s = randn(rnd, n * v, 1.0), t = randn(rnd, n * v, 1.0);
        for (double[] z : new double[][] {s, t}) {                    // zero-mean rows (Hinton et al.'s assumption)
            for (int i = 0; i < n; i++) {
                double mean = 0;
                for (int j = 0; j < v; j++) mean += z[i * v + j] / v;
                for (int j = 0; j < v; j++) z[i * v + j] -= mean;
            }
        }
        double[] matching = new double[n * v];                        // (s - t) / (V n): eq. 3 of the paper
        for (int i = 0; i < n * v; i++) matching[i] = (s[i] - t[i]) / (v * n);
        double temperature = 200;
        FloatTensor d = FloatTensor.zeros(n, v);
        new HintonLoss(0.0, temperature).forwardBackward(FloatTensor.of(s, n, v), FloatTensor.of(t, n, v), null, null, d);
        double err = maxRel(matching, d.toDoubleArray());
        assertTrue(err < 2e-2, "T^2-scaled soft gradient at T=200 vs logit matching: relative error " + err);

        double[] unscaled = new double[n * v];
        new HintonLoss(0.0, temperature, false).forwardBackwardReference(s, t, n, v, null, null, unscaled);
        for (int i = 0; i < n * v; i++) unscaled[i] *= temperature * temperature;
        assertTrue(maxRel(matching, unscaled) < 2e-2, "without T^2 the gradient is T^2 times smaller");
    }

    @Test
    void badInputIsRejectedWithTheArgumentNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HintonLoss(0.5, 0));
        assertEquals("temperature: must be a finite number > 0 but was 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HintonLoss(0.5, -2));
        assertEquals("temperature: must be a finite number > 0 but was -2.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HintonLoss(1.5, 2));
        assertEquals("alpha: the hard-label weight must be in [0, 1] but was 1.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HintonLoss(Double.NaN, 2));
        assertEquals("alpha: the hard-label weight must be in [0, 1] but was NaN", e.getMessage());
        FloatTensor a = FloatTensor.zeros(2, 3);
        e = assertThrows(IllegalArgumentException.class,
                () -> new HintonLoss(0.5, 2).forwardBackward(a, a, null, null, a));
        assertEquals("labels: must be given when alpha = 0.5 > 0 (the hard-label term); use alpha = 0 for soft targets"
                + " only", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new HintonLoss(0, 2).forwardBackward(a, FloatTensor.zeros(2, 4), null, null, a));
        assertEquals("teacher: logits [2, 4] do not match the student's [2, 3] (same rows and vocabulary needed)",
                e.getMessage());
    }
}
