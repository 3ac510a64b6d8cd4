package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class LinearKernelTest {

    @AfterAll
    static void report() { printFdErrors("Linear"); }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(70);
        int n = 3, in = 4, out = 5;
        double[] x = randn(rnd, n * in, 1.0), wt = randn(rnd, out * in, 1.0), b = randn(rnd, out, 1.0);
        double[] w = randn(rnd, n * out, 1.0);
        double[] dx = new double[n * in], dw = new double[out * in], db = new double[out];
        LinearKernel.backwardReference(w, x, wt, n, in, out, dx, dw, db);
        assertFd("Linear dx", x, xx -> loss(xx, wt, b, n, in, out, w), dx);
        assertFd("Linear dW", wt, ww -> loss(x, ww, b, n, in, out, w), dw);
        assertFd("Linear db", b, bb -> loss(x, wt, bb, n, in, out, w), db);
    }

    private static double loss(double[] x, double[] wt, double[] b, int n, int in, int out, double[] w) {
        double[] y = new double[n * out];
        LinearKernel.forwardReference(x, wt, b, n, in, out, y);
        return dot(y, w);
    }

    @Test
    void fastKernelMatchesDoubleTwin() {
        Random rnd = new Random(71);
        int[][] shapes = {{5, 7, 3}, {17, 33, 16}, {8, 16, 48}, {1, 1, 1}};
        for (int[] s : shapes) {
            for (boolean withBias : new boolean[]{true, false}) {
                int n = s[0], in = s[1], out = s[2];
                double[] x = randnF32(rnd, n * in, 1.0), wt = randnF32(rnd, out * in, 1.0), b = randnF32(rnd, out, 1.0);
                double[] dy = randnF32(rnd, n * out, 1.0), dw0 = randnF32(rnd, out * in, 1.0), db0 = randnF32(rnd, out, 1.0);
                double[] y = new double[n * out], dx = new double[n * in], dw = dw0.clone(), db = db0.clone();
                LinearKernel.forwardReference(x, wt, withBias ? b : null, n, in, out, y);
                LinearKernel.backwardReference(dy, x, wt, n, in, out, dx, dw, withBias ? db : null);

                FloatTensor tx = FloatTensor.of(x, n, in), tw = FloatTensor.of(wt, out, in), tb = FloatTensor.of(b, out);
                FloatTensor ty = FloatTensor.zeros(n, out).fill(42f);                 // overwritten, not accumulated
                LinearKernel.forward(tx, tw, withBias ? tb : null, ty);
                FloatTensor tdx = FloatTensor.zeros(n, in).fill(42f), tdw = FloatTensor.of(dw0, out, in),
                        tdb = FloatTensor.of(db0, out);
                LinearKernel.backward(FloatTensor.of(dy, n, out), tx, tw, tdx, tdw, withBias ? tdb : null);
                String at = " " + n + "x" + in + "->" + out + (withBias ? " bias" : "");
                assertRel("y" + at, y, ty.toDoubleArray(), FP32_TOL);
                assertRel("dx" + at, dx, tdx.toDoubleArray(), FP32_TOL);
                assertRel("dW (accumulated)" + at, dw, tdw.toDoubleArray(), FP32_TOL);
                if (withBias) assertRel("db (accumulated)" + at, db, tdb.toDoubleArray(), FP32_TOL);
            }
        }
    }

    @Test
    void rejectsShapeMismatchNamingBothShapes() {
        FloatTensor x = FloatTensor.zeros(5, 7), w = FloatTensor.zeros(3, 6), y = FloatTensor.zeros(5, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LinearKernel.forward(x, w, null, y));
        assertTrue(e.getMessage().startsWith("w:") && e.getMessage().contains("[3, 6]") && e.getMessage().contains("[5, 7]"),
                e.getMessage());
        FloatTensor w2 = FloatTensor.zeros(3, 7);
        e = assertThrows(IllegalArgumentException.class, () -> LinearKernel.forward(x, w2, null, FloatTensor.zeros(5, 4)));
        assertTrue(e.getMessage().startsWith("y:") && e.getMessage().contains("[5, 3]") && e.getMessage().contains("[5, 4]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LinearKernel.forward(x, w2, FloatTensor.zeros(4), y));
        assertTrue(e.getMessage().startsWith("bias:") && e.getMessage().contains("[3]") && e.getMessage().contains("[4]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LinearKernel.backward(FloatTensor.zeros(5, 3), x, w2,
                FloatTensor.zeros(5, 7), FloatTensor.zeros(7, 3), null));
        assertTrue(e.getMessage().startsWith("dw:") && e.getMessage().contains("[3, 7]") && e.getMessage().contains("[7, 3]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LinearKernel.forward(FloatTensor.zeros(1, 5, 7), w2, null, y));
        assertTrue(e.getMessage().startsWith("x:") && e.getMessage().contains("rank-2"), e.getMessage());
    }
}
