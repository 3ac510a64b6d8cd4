package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class GeluKernelTest {

    @AfterAll
    static void report() { printFdErrors("GELU"); }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(10);
        double[] x = randn(rnd, 40, 2.0), w = randn(rnd, 40, 1.0), dx = new double[40];
        GeluKernel.backwardReference(w, x, dx);
        assertFd("GELU dx", x, xx -> {
            double[] out = new double[xx.length];
            GeluKernel.forwardReference(xx, out);
            return dot(out, w);
        }, dx);
    }

    @Test
    void closedForms() {
        assertEquals(0.0, GeluKernel.geluReference(0.0), 0.0);
        assertEquals(0.5, GeluKernel.geluGradReference(0.0), 1e-15);
        assertEquals(10.0, GeluKernel.geluReference(10.0), 1e-12);
        assertEquals(0.0, GeluKernel.geluReference(-10.0), 1e-12);
        // the GPT-2 constant: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) at x = 1
        assertEquals(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)), GeluKernel.geluReference(1.0), 1e-15);
    }

    @Test
    void fastKernelMatchesDoubleTwinOnOddLengths() {
        Random rnd = new Random(11);
        for (int n : new int[]{1, 3, 7, 8, 15, 16, 17, 31, 33, 1000}) {
            double[] x = randnF32(rnd, n, 2.5), dout = randnF32(rnd, n, 1.0);
            double[] out = new double[n], dx = new double[n];
            GeluKernel.forwardReference(x, out);
            GeluKernel.backwardReference(dout, x, dx);
            FloatTensor tx = FloatTensor.of(x, n), tout = FloatTensor.zeros(n), tdx = FloatTensor.zeros(n);
            GeluKernel.forward(tx, tout);
            GeluKernel.backward(FloatTensor.of(dout, n), tx, tdx);
            // elementwise: |fast - ref| <= 1e-5 |ref| + 1e-6 (1 + tanh(u) cancels for x << 0 in fp32)
            double[] a = tout.toDoubleArray(), b = tdx.toDoubleArray();
            for (int i = 0; i < n; i++) {
                assertEquals(out[i], a[i], 1e-5 * Math.abs(out[i]) + 1e-6, "gelu(" + x[i] + ") n=" + n);
                assertEquals(dx[i], b[i], 1e-5 * Math.abs(dx[i]) + 1e-6, "dx at x=" + x[i] + " n=" + n);
            }
            assertRel("out n=" + n, out, a, FP32_TOL);
            assertRel("dx n=" + n, dx, b, FP32_TOL);
        }
    }

    @Test
    void inPlaceAndShapeMismatch() {
        double[] x = {-1, 0, 0.5, 2, 3};
        FloatTensor t = FloatTensor.of(x, 5);
        GeluKernel.forward(t, t);
        for (int i = 0; i < 5; i++) assertEquals(GeluKernel.geluReference(x[i]), t.get(i), 1e-6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GeluKernel.forward(FloatTensor.zeros(2, 3), FloatTensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 3]"),
                e.getMessage());
    }
}
