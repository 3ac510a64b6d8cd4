package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class SoftmaxKernelTest {

    @AfterAll
    static void report() { printFdErrors("Softmax"); }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(20);
        for (boolean causal : new boolean[]{false, true}) {
            int len = 4, r = 2 * len;
            double[] x = randn(rnd, r * len, 1.5), w = randn(rnd, r * len, 1.0);
            double[] y = new double[r * len], dx = new double[r * len];
            SoftmaxKernel.forwardReference(x, r, len, causal, y);
            SoftmaxKernel.backwardReference(w, y, r, len, dx);
            assertFd("Softmax dx" + (causal ? " causal" : ""), x, xx -> {
                double[] yy = new double[r * len];
                SoftmaxKernel.forwardReference(xx, r, len, causal, yy);
                return dot(yy, w);
            }, dx);
        }
    }

    @Test
    void fastKernelMatchesDoubleTwinAndRowsSumToOne() {
        Random rnd = new Random(21);
        for (boolean causal : new boolean[]{false, true}) {
            for (int len : ODD_LENGTHS) {
                int r = 2 * len;
                double[] x = randnF32(rnd, r * len, 3.0), dout = randnF32(rnd, r * len, 1.0);
                for (int i = 0; i < x.length; i++) x[i] = (float) (x[i] + 500.0);  // exp(500) overflows: tests the max shift
                double[] y = new double[r * len], dx = new double[r * len];
                SoftmaxKernel.forwardReference(x, r, len, causal, y);
                SoftmaxKernel.backwardReference(dout, y, r, len, dx);
                FloatTensor ty = FloatTensor.zeros(r, len), tdx = FloatTensor.zeros(r, len);
                SoftmaxKernel.forward(FloatTensor.of(x, r, len), ty, causal);
                SoftmaxKernel.backward(FloatTensor.of(dout, r, len), ty, tdx);
                String at = " len=" + len + (causal ? " causal" : "");
                double[] fy = ty.toDoubleArray();
                assertRel("y" + at, y, fy, FP32_TOL);
                assertRel("dx" + at, dx, tdx.toDoubleArray(), FP32_TOL);
                for (int i = 0; i < r; i++) {
                    double s = 0;
                    for (int j = 0; j < len; j++) {
                        s += fy[i * len + j];
                        if (causal && j > i % len) assertEquals(0.0, fy[i * len + j], 0.0, "masked entry" + at);
                    }
                    assertEquals(1.0, s, 1e-5, "row sum" + at);
                }
            }
        }
    }

    @Test
    void rejectsCausalWithNonSquareBlocksAndShapeMismatch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SoftmaxKernel.forward(FloatTensor.zeros(5, 4), FloatTensor.zeros(5, 4), true));
        assertTrue(e.getMessage().contains("square"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SoftmaxKernel.forward(FloatTensor.zeros(4, 4), FloatTensor.zeros(4, 5), false));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[4, 4]") && e.getMessage().contains("[4, 5]"),
                e.getMessage());
    }
}
