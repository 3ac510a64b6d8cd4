package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class DropoutKernelTest {

    @AfterAll
    static void report() { printFdErrors("Dropout"); }

    @Test
    void referenceGradientMatchesFiniteDifferences() {
        Random rnd = new Random(50);
        int n = 30;
        double p = 0.3;
        long seed = 1234;
        double[] x = randn(rnd, n, 1.0), w = randn(rnd, n, 1.0), dx = new double[n];
        DropoutKernel.forwardReference(w, p, seed, dx);                      // backward = the same masked scaling
        assertFd("Dropout dx", x, xx -> {
            double[] y = new double[n];
            DropoutKernel.forwardReference(xx, p, seed, y);
            return dot(y, w);
        }, dx);
    }

    @Test
    void fastMatchesTwinAndBackwardUsesTheForwardMask() {
        Random rnd = new Random(51);
        for (int n : ODD_LENGTHS) {
            double p = 0.25;
            long seed = 99 + n;
            double[] x = randnF32(rnd, n, 1.0), dy = randnF32(rnd, n, 1.0);
            double[] y = new double[n];
            DropoutKernel.forwardReference(x, p, seed, y);
            FloatTensor ty = FloatTensor.zeros(n), tdx = FloatTensor.zeros(n);
            DropoutKernel.forward(FloatTensor.of(x, n), ty, p, seed);
            assertRel("y n=" + n, y, ty.toDoubleArray(), 1e-7);
            DropoutKernel.backward(FloatTensor.of(dy, n), tdx, p, seed);
            for (int i = 0; i < n; i++) {
                boolean kept = DropoutKernel.keep(seed, i, p);
                assertEquals(kept ? (float) (dy[i] / (1 - p)) : 0f, tdx.get(i), 1e-6, "dx[" + i + "]");
                assertEquals(kept, ty.get(i) != 0f || x[i] == 0, "mask[" + i + "] forward vs backward");
            }
        }
    }

    @Test
    void maskIsReproducibleFromTheSeedAndKeepsAboutOneMinusP() {
        int n = 100_000;
        double p = 0.1;
        FloatTensor x = FloatTensor.zeros(n).fill(1f), a = FloatTensor.zeros(n), b = FloatTensor.zeros(n),
                c = FloatTensor.zeros(n);
        DropoutKernel.forward(x, a, p, 7L);
        DropoutKernel.forward(x, b, p, 7L);
        DropoutKernel.forward(x, c, p, 8L);
        int kept = 0, differ = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(a.get(i), b.get(i), 0f, "same seed, same mask");
            if (a.get(i) != 0f) {
                kept++;
                assertEquals(1f / 0.9f, a.get(i), 1e-6f, "kept values scaled by 1/(1-p)");
            }
            if ((a.get(i) == 0f) != (c.get(i) == 0f)) differ++;
        }
        double sd = Math.sqrt(n * p * (1 - p));
        assertEquals(n * (1 - p), kept, 5 * sd, "kept count");
        assertTrue(differ > n * 0.1, "another seed gives another mask (" + differ + " differences)");
    }

    @Test
    void pZeroIsTheIdentity() {
        Random rnd = new Random(52);
        double[] x = randnF32(rnd, 37, 1.0);
        FloatTensor y = FloatTensor.zeros(37), dx = FloatTensor.zeros(37);
        DropoutKernel.forward(FloatTensor.of(x, 37), y, 0.0, 5L);
        DropoutKernel.backward(FloatTensor.of(x, 37), dx, 0.0, 5L);
        assertArrayEquals(x, y.toDoubleArray(), 0.0);
        assertArrayEquals(x, dx.toDoubleArray(), 0.0);
    }

    @Test
    void rejectsPOutsideZeroOne() {
        FloatTensor x = FloatTensor.zeros(4), y = FloatTensor.zeros(4);
        for (double p : new double[]{-0.1, 1.0, 1.5, Double.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DropoutKernel.forward(x, y, p, 1L));
            assertTrue(e.getMessage().startsWith("p:") && e.getMessage().contains("[0, 1)"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> DropoutKernel.forward(x, FloatTensor.zeros(5), 0.1, 1L));
    }
}
