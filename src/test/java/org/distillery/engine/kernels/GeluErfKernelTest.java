package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class GeluErfKernelTest {

    @AfterAll
    static void report() { printFdErrors("GELU-erf"); }

    @Test
    void erfReferenceMatchesKnownValues() {
        // values of erf / erfc to 16 digits (e.g. A&S table 7.1; CPython math.erf agrees)
        assertEquals(0.5204998778130465, GeluErfKernel.erfReference(0.5), 1e-15);
        assertEquals(0.8427007929497149, GeluErfKernel.erfReference(1.0), 1e-15);
        assertEquals(-0.8427007929497149, GeluErfKernel.erfReference(-1.0), 1e-15);
        assertEquals(0.0, GeluErfKernel.erfReference(0.0), 0.0);
        assertEquals(2.2090496998585438e-05, GeluErfKernel.erfcReference(3.0), 1e-13 * 2.2e-5);
        assertEquals(1.5374597944280351e-12, GeluErfKernel.erfcReference(5.0), 1e-13 * 1.5e-12);
        assertEquals(2.0 - 1.5374597944280351e-12, GeluErfKernel.erfcReference(-5.0), 1e-15);
        // continuity at the switch between series and continued fraction
        assertEquals(GeluErfKernel.erfReference(2.5 - 1e-12), GeluErfKernel.erfReference(2.5), 1e-14);
    }

    @Test
    void closedForms() {
        assertEquals(0.0, GeluErfKernel.geluReference(0.0), 0.0);
        assertEquals(0.5, GeluErfKernel.geluGradReference(0.0), 1e-15);
        assertEquals(0.5 * (1 + 0.8427007929497149), GeluErfKernel.geluReference(Math.sqrt(2)) / Math.sqrt(2), 1e-15);
        assertEquals(10.0, GeluErfKernel.geluReference(10.0), 1e-12);
        assertEquals(0.0, GeluErfKernel.geluReference(-10.0), 1e-20);
        // the tanh form (GPT-2) differs by up to ~4.7e-4: the two kernels are not interchangeable
        double maxDiff = 0;
        for (double x = -6; x <= 6; x += 1e-3) {
            maxDiff = Math.max(maxDiff, Math.abs(GeluErfKernel.geluReference(x) - GeluKernel.geluReference(x)));
        }
        assertTrue(maxDiff > 4e-4 && maxDiff < 5e-4, "erf vs tanh form " + maxDiff);
    }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(12);
        double[] x = randn(rnd, 40, 2.0), w = randn(rnd, 40, 1.0), dx = new double[40];
        GeluErfKernel.backwardReference(w, x, dx);
        assertFd("GELU-erf dx", x, xx -> {
            double[] out = new double[xx.length];
            GeluErfKernel.forwardReference(xx, out);
            return dot(out, w);
        }, dx);
    }

    /** Dense grid over [-14, 14]: the fp32 kernel against the double twin, absolute and relative. */
    @Test
    void fastKernelIsAccurateOnADenseGrid() {
        int n = 280001;
        double[] x = new double[n], ones = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (-14 + 1e-4 * i);
            ones[i] = 1;
        }
        FloatTensor tx = FloatTensor.of(x, n), out = FloatTensor.zeros(n), dx = FloatTensor.zeros(n);
        GeluErfKernel.forward(tx, out);
        GeluErfKernel.backward(FloatTensor.of(ones, n), tx, dx);
        double worstAbs = 0, worstRel = 0, worstRelNear = 0, worstGrad = 0;
        for (int i = 0; i < n; i++) {
            double ref = GeluErfKernel.geluReference(x[i]);
            double err = Math.abs(out.get(i) - ref);
            worstAbs = Math.max(worstAbs, err);
            if (Math.abs(ref) > 1e-30) worstRel = Math.max(worstRel, err / Math.abs(ref));
            if (x[i] >= -4 && ref != 0) worstRelNear = Math.max(worstRelNear, err / Math.abs(ref));
            worstGrad = Math.max(worstGrad, Math.abs(dx.get(i) - GeluErfKernel.geluGradReference(x[i])));
        }
        System.out.printf("GELU-erf fp32 on [-14, 14]: max abs err %.2e (x Phi), max rel err %.2e (%.2e for x >= -4),"
                + " max abs err of gelu' %.2e%n", worstAbs, worstRel, worstRelNear, worstGrad);
        assertTrue(worstAbs < 2e-6, "abs " + worstAbs);           // |x| up to 14: 1 ulp of 14 is 9.5e-7
        assertTrue(worstRelNear < 1e-6, "rel for x >= -4: " + worstRelNear);
        assertTrue(worstRel < 1e-5, "rel " + worstRel);         // the far tail: exp amplifies the rounding of x^2/2
        assertTrue(worstGrad < 5e-7, "grad " + worstGrad);
    }

    @Test
    void fastKernelMatchesDoubleTwinOnOddLengths() {
        Random rnd = new Random(13);
        for (int n : ODD_LENGTHS) {
            double[] x = randnF32(rnd, n, 2.5), dout = randnF32(rnd, n, 1.0);
            double[] out = new double[n], dx = new double[n];
            GeluErfKernel.forwardReference(x, out);
            GeluErfKernel.backwardReference(dout, x, dx);
            FloatTensor tx = FloatTensor.of(x, n), tout = FloatTensor.zeros(n), tdx = FloatTensor.zeros(n);
            GeluErfKernel.forward(tx, tout);
            GeluErfKernel.backward(FloatTensor.of(dout, n), tx, tdx);
            double[] a = tout.toDoubleArray(), b = tdx.toDoubleArray();
            for (int i = 0; i < n; i++) {
                assertEquals(out[i], a[i], 1e-6 * Math.abs(out[i]) + 1e-7, "gelu(" + x[i] + ") n=" + n);
                assertEquals(dx[i], b[i], 1e-6 * Math.abs(dx[i]) + 1e-7, "dx at x=" + x[i] + " n=" + n);
            }
            assertRel("out n=" + n, out, a, FP32_TOL);
            assertRel("dx n=" + n, dx, b, FP32_TOL);
        }
    }

    /** The scalar tail performs the same operations as a vector lane, and results survive JIT compilation. */
    @Test
    void vectorLanesAndScalarTailAreBitIdenticalAndTierIndependent() {
        int lanes = VectorOps.LANES, n = 2 * lanes - 1;
        Random rnd = new Random(14);
        double[] x = new double[n];
        for (int i = 0; i < lanes; i++) x[i] = (float) (rnd.nextGaussian() * 4);
        for (int i = lanes; i < n; i++) x[i] = x[i - lanes];           // the tail repeats the first lanes
        double[] ones = new double[n];
        java.util.Arrays.fill(ones, 1.0);
        FloatTensor tx = FloatTensor.of(x, n), out = FloatTensor.zeros(n), dx = FloatTensor.zeros(n),
                d = FloatTensor.of(ones, n);
        GeluErfKernel.forward(tx, out);
        GeluErfKernel.backward(d, tx, dx);
        float[] cold = new float[2 * n];
        for (int i = 0; i < n; i++) {
            cold[i] = out.get(i);
            cold[n + i] = dx.get(i);
        }
        for (int i = lanes; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(out.get(i - lanes)), Float.floatToRawIntBits(out.get(i)), "forward lane vs tail");
            assertEquals(Float.floatToRawIntBits(dx.get(i - lanes)), Float.floatToRawIntBits(dx.get(i)), "backward lane vs tail");
        }
        FloatTensor big = FloatTensor.zeros(4096), bigOut = FloatTensor.zeros(4096);
        for (int r = 0; r < 2000; r++) {                                  // JIT-compile both loops
            GeluErfKernel.forward(big, bigOut);
            GeluErfKernel.backward(big, big, bigOut);
        }
        GeluErfKernel.forward(tx, out);
        GeluErfKernel.backward(d, tx, dx);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(cold[i]), Float.floatToRawIntBits(out.get(i)), "forward after JIT");
            assertEquals(Float.floatToRawIntBits(cold[n + i]), Float.floatToRawIntBits(dx.get(i)), "backward after JIT");
        }
    }

    @Test
    void extremesInPlaceAliasAndShapeMismatch() {
        double[] x = {-1e30, -50, -13, 0, 13, 50, 1e30, -1, 2};   // beyond +-13: within 1e-37 of 0 or x
        FloatTensor t = FloatTensor.of(x, x.length);
        GeluErfKernel.forward(t, t);
        for (int i = 0; i < x.length; i++) {
            double ref = GeluErfKernel.geluReference(x[i]);
            assertEquals(ref, t.get(i), 1e-6 * Math.abs(ref) + 1e-36, "gelu(" + x[i] + ")");
        }
        FloatTensor d = FloatTensor.zeros(3);
        IllegalArgumentException alias = assertThrows(IllegalArgumentException.class,
                () -> GeluErfKernel.backward(d, FloatTensor.zeros(3), d));
        assertTrue(alias.getMessage().contains("dx") && alias.getMessage().contains("dout"), alias.getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GeluErfKernel.forward(FloatTensor.zeros(2, 3), FloatTensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 3]"),
                e.getMessage());
    }
}
