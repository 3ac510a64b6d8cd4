package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class ReluKernelTest {

    @AfterAll
    static void report() { printFdErrors("ReLU"); }

    /** Inputs kept at |x| >= 0.05, away from the kink, so that central differences (step 1e-5) are exact there. */
    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(30);
        double[] x = randn(rnd, 40, 2.0), w = randn(rnd, 40, 1.0), dx = new double[40];
        for (int i = 0; i < x.length; i++) if (Math.abs(x[i]) < 0.05) x[i] = x[i] < 0 ? -0.05 - x[i] : 0.05 + x[i];
        ReluKernel.backwardReference(w, x, dx);
        assertFd("ReLU dx", x, xx -> {
            double[] out = new double[xx.length];
            ReluKernel.forwardReference(xx, out);
            return dot(out, w);
        }, dx);
    }

    @Test
    void closedForms() {
        assertEquals(0.0, ReluKernel.reluReference(-3.0), 0.0);
        assertEquals(2.5, ReluKernel.reluReference(2.5), 0.0);
        assertEquals(0.0, ReluKernel.reluGradReference(0.0), 0.0, "derivative at 0 is 0, as PyTorch");
        assertEquals(1.0, ReluKernel.reluGradReference(1e-30), 0.0);
    }

    /** ReLU is exact in fp32: the fast kernel equals the double twin bit for bit, on every length around the lane count. */
    @Test
    void fastKernelEqualsDoubleTwinOnOddLengths() {
        Random rnd = new Random(31);
        for (int n : ODD_LENGTHS) {
            double[] x = randnF32(rnd, n, 1.5), dout = randnF32(rnd, n, 1.0);
            if (n > 2) x[1] = 0.0;                                // the kink itself
            double[] out = new double[n], dx = new double[n];
            ReluKernel.forwardReference(x, out);
            ReluKernel.backwardReference(dout, x, dx);
            FloatTensor tx = FloatTensor.of(x, n), tout = FloatTensor.zeros(n), tdx = FloatTensor.zeros(n);
            ReluKernel.forward(tx, tout);
            ReluKernel.backward(FloatTensor.of(dout, n), tx, tdx);
            assertArrayEquals(out, tout.toDoubleArray(), 0.0, "out n=" + n);
            assertArrayEquals(dx, tdx.toDoubleArray(), 0.0, "dx n=" + n);
            // the forward output in place of x gives the same gradient
            FloatTensor tdx2 = FloatTensor.zeros(n);
            ReluKernel.backward(FloatTensor.of(dout, n), tout, tdx2);
            assertArrayEquals(dx, tdx2.toDoubleArray(), 0.0, "dx from y, n=" + n);
        }
    }

    @Test
    void inPlaceSpecialValuesAndShapeMismatch() {
        int n = 37;                                               // vector part and tail both see every case
        float[] special = {-0.0f, 0.0f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -1e-38f, 3f};
        FloatTensor t = FloatTensor.zeros(n);
        for (int i = 0; i < n; i++) t.set(i, special[i % special.length]);
        ReluKernel.forward(t, t);
        for (int i = 0; i < n; i++) {
            float v = special[i % special.length], expect = v < 0f ? 0f : v;
            assertEquals(Float.floatToRawIntBits(expect), Float.floatToRawIntBits(t.get(i)), "relu(" + v + ") at " + i);
        }
        FloatTensor d = FloatTensor.zeros(n).fill(2f);
        FloatTensor x = FloatTensor.zeros(n);
        for (int i = 0; i < n; i++) x.set(i, special[i % special.length]);
        ReluKernel.backward(d, x, d);
        for (int i = 0; i < n; i++) {
            float v = special[i % special.length];
            assertEquals(v > 0f ? 2f : 0f, d.get(i), 0f, "grad at x=" + v);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReluKernel.forward(FloatTensor.zeros(2, 3), FloatTensor.zeros(2, 4)));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 3]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ReluKernel.backward(FloatTensor.zeros(5), FloatTensor.zeros(6), FloatTensor.zeros(6)));
        assertTrue(e.getMessage().contains("dout") && e.getMessage().contains("[5]"), e.getMessage());
    }
}
