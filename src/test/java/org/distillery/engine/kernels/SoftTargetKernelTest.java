package org.distillery.engine.kernels;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SoftTargetKernelTest {

    @AfterAll
    static void report() { printFdErrors("SoftTarget"); }

    @Test
    void referenceGradientMatchesFiniteDifferences() {
        Random rnd = new Random(40);
        int n = 4, v = 7;
        boolean[] keep = {true, false, true, true};
        double[] t = randn(rnd, n * v, 2.0);
        for (double temperature : new double[] {0.5, 1, 3, 20}) {
            double[] s = randn(rnd, n * v, 2.0), ds = new double[n * v];
            SoftTargetKernel.forwardBackwardReference(s, t, n, v, temperature, keep, 1.0, ds);
            assertFd("SoftTarget ds (T=" + temperature + ")", s,
                    ss -> SoftTargetKernel.forwardBackwardReference(ss, t, n, v, temperature, keep, 0, null), ds);
            for (int j = 0; j < v; j++) assertEquals(0.0, ds[v + j], 0.0, "row outside keep gets no gradient");
        }
    }

    @Test
    void fastKernelMatchesDoubleTwinAndAccumulates() {
        Random rnd = new Random(41);
        for (int v : new int[] {2, 5, 16, 17, 33, 100, 1000}) {
            for (double temperature : new double[] {1, 2.5, 20}) {
                int n = 5;
                boolean[] keep = {true, true, false, true, true};
                double[] s = randnF32(rnd, n * v, 3.0), t = randnF32(rnd, n * v, 3.0);
                double[] ds = new double[n * v];
                double ref = SoftTargetKernel.forwardBackwardReference(s, t, n, v, temperature, keep, 0.7, ds);
                FloatTensor d = FloatTensor.zeros(n, v);
                double fast = SoftTargetKernel.forwardBackward(FloatTensor.of(s, n, v), FloatTensor.of(t, n, v), temperature,
                        keep, 0.7, d, FloatTensor.zeros(3, v));
                assertEquals(ref, fast, 1e-5 * Math.abs(ref), "loss V=" + v + " T=" + temperature);
                assertRel("gradient, V=" + v + " T=" + temperature, ds, d.toDoubleArray(), FP32_TOL);
                // a second call adds the same gradient again (accumulation, as the distillation loop needs)
                SoftTargetKernel.forwardBackward(FloatTensor.of(s, n, v), FloatTensor.of(t, n, v), temperature, keep, 0.7, d,
                        FloatTensor.zeros(3, v));
                double[] twice = ds.clone();
                for (int i = 0; i < twice.length; i++) twice[i] *= 2;
                assertRel("gradient accumulated twice, V=" + v + " T=" + temperature, twice, d.toDoubleArray(), FP32_TOL);
            }
        }
    }

    @Test
    void identicalLogitsGiveExactlyZeroAndTwoClassClosedForm() {
        Random rnd = new Random(42);
        int n = 3, v = 9;
        double[] z = randnF32(rnd, n * v, 4.0);
        FloatTensor d = FloatTensor.zeros(n, v);
        assertEquals(0.0, SoftTargetKernel.forwardBackward(FloatTensor.of(z, n, v), FloatTensor.of(z, n, v), 3.0, null,
                1.0, d, FloatTensor.zeros(3 * v)), 0.0);
        for (double g : d.toDoubleArray()) assertEquals(0.0, g, 1e-9);

        // two classes: p = sigmoid((t1 - t0)/T), q = sigmoid((s1 - s0)/T); KL = p log(p/q) + (1-p) log((1-p)/(1-q))
        double t0 = 0.3, t1 = 1.9, s0 = -0.4, s1 = 0.2, temperature = 2.0;
        double p = 1 / (1 + Math.exp(-(t1 - t0) / temperature)), q = 1 / (1 + Math.exp(-(s1 - s0) / temperature));
        double kl = p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
        FloatTensor g = FloatTensor.zeros(1, 2);
        double got = SoftTargetKernel.forwardBackward(FloatTensor.of(new double[] {s0, s1}, 1, 2),
                FloatTensor.of(new double[] {t0, t1}, 1, 2), temperature, null, 1.0, g, FloatTensor.zeros(6));
        assertEquals(kl, got, 2e-7, "fp32 logits: absolute error of a few float ulps of the O(1) terms");
        assertEquals((q - p) / temperature, g.get(1), 1e-7, "d/ds1 = (q1 - p1) / T");
        assertEquals((p - q) / temperature, g.get(0), 1e-7, "d/ds0 = (q0 - p0) / T");
    }

    @Test
    void rejectsBadArgumentsNamingThem() {
        FloatTensor a = FloatTensor.zeros(2, 3), sc = FloatTensor.zeros(9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SoftTargetKernel.forwardBackward(a, a, 0, null, 0, null, sc));
        assertEquals("temperature: must be a finite number > 0 but was 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SoftTargetKernel.forwardBackward(a, a, Double.NaN, null, 0, null, sc));
        assertEquals("temperature: must be a finite number > 0 but was NaN", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SoftTargetKernel.forwardBackward(a, FloatTensor.zeros(2, 4), 1, null, 0, null, sc));
        assertTrue(e.getMessage().startsWith("teacher: expected shape [2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SoftTargetKernel.forwardBackward(a, a, 1, new boolean[3], 0, null, sc));
        assertEquals("keep: length 3 but the inputs have 2 rows", e.getMessage());
        assertEquals(0.0, SoftTargetKernel.forwardBackward(a, a, 1, new boolean[2], 1, a, sc), "no row kept");
    }
}
