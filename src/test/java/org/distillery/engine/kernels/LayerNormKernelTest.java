package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class LayerNormKernelTest {

    @AfterAll
    static void report() { printFdErrors("LayerNorm"); }

    @Test
    void referenceBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(1);
        int n = 3, c = 5;
        double eps = 1e-5;
        double[] x = randn(rnd, n * c, 1.0), gamma = randn(rnd, c, 1.0), beta = randn(rnd, c, 1.0);
        double[] w = randn(rnd, n * c, 1.0);                        // dL/dout for L = sum(out * w)
        double[] mean = new double[n], rstd = new double[n], out = new double[n * c];
        LayerNormKernel.forwardReference(x, gamma, beta, eps, n, c, out, mean, rstd);
        double[] dx = new double[n * c], dg = new double[c], db = new double[c];
        LayerNormKernel.backwardReference(w, x, mean, rstd, gamma, n, c, dx, dg, db);

        assertFd("LayerNorm dx", x, xx -> loss(xx, gamma, beta, eps, n, c, w), dx);
        assertFd("LayerNorm dgamma", gamma, gg -> loss(x, gg, beta, eps, n, c, w), dg);
        assertFd("LayerNorm dbeta", beta, bb -> loss(x, gamma, bb, eps, n, c, w), db);
    }

    private static double loss(double[] x, double[] g, double[] b, double eps, int n, int c, double[] w) {
        double[] out = new double[n * c];
        LayerNormKernel.forwardReference(x, g, b, eps, n, c, out, new double[n], new double[n]);
        return dot(out, w);
    }

    @Test
    void fastKernelMatchesDoubleTwinOnOddRowLengths() {
        Random rnd = new Random(2);
        // (C = 2 is left out: there xhat = +-1 for any x, dx is pure cancellation and has no fp32 accuracy)
        for (int c : new int[]{3, 7, 15, 16, 17, 33, 100}) {
            int n = 4;
            double[] x = f32(randn(rnd, n * c, 2.0)), gamma = randnF32(rnd, c, 1.0), beta = randnF32(rnd, c, 1.0);
            for (int i = 0; i < x.length; i++) x[i] = (float) (x[i] + 3.0);   // non-zero mean
            double[] dout = randnF32(rnd, n * c, 1.0);
            double[] dg0 = randnF32(rnd, c, 1.0), db0 = randnF32(rnd, c, 1.0); // accumulate onto these
            float eps = 1e-5f;

            double[] out = new double[n * c], mean = new double[n], rstd = new double[n];
            LayerNormKernel.forwardReference(x, gamma, beta, eps, n, c, out, mean, rstd);
            double[] dx = new double[n * c], dg = dg0.clone(), db = db0.clone();
            LayerNormKernel.backwardReference(dout, x, mean, rstd, gamma, n, c, dx, dg, db);

            FloatTensor tx = FloatTensor.of(x, n, c), tg = FloatTensor.of(gamma, c), tb = FloatTensor.of(beta, c);
            FloatTensor tout = FloatTensor.zeros(n, c), tmean = FloatTensor.zeros(n), trstd = FloatTensor.zeros(n);
            LayerNormKernel.forward(tx, tg, tb, eps, tout, tmean, trstd);
            FloatTensor tdx = FloatTensor.zeros(n, c), tdg = FloatTensor.of(dg0, c), tdb = FloatTensor.of(db0, c);
            LayerNormKernel.backward(FloatTensor.of(dout, n, c), tx, tmean, trstd, tg, tdx, tdg, tdb);

            String at = " (C=" + c + ")";
            assertRel("out" + at, out, tout.toDoubleArray(), FP32_TOL);
            assertRel("mean" + at, mean, tmean.toDoubleArray(), FP32_TOL);
            assertRel("rstd" + at, rstd, trstd.toDoubleArray(), FP32_TOL);
            assertRel("dx" + at, dx, tdx.toDoubleArray(), FP32_TOL);
            assertRel("dgamma" + at, dg, tdg.toDoubleArray(), FP32_TOL);
            assertRel("dbeta" + at, db, tdb.toDoubleArray(), FP32_TOL);
        }
    }

    @Test
    void unitGainZeroBiasGivesZeroMeanUnitVarianceRows() {
        Random rnd = new Random(3);
        int n = 5, c = 37;
        FloatTensor x = FloatTensor.of(randn(rnd, n * c, 4.0), n, c), out = FloatTensor.zeros(n, c);
        LayerNormKernel.forward(x, FloatTensor.zeros(c).fill(1f), FloatTensor.zeros(c), 1e-5f, out,
                FloatTensor.zeros(n), FloatTensor.zeros(n));
        double[] o = out.toDoubleArray();
        for (int i = 0; i < n; i++) {
            double m = 0, v = 0;
            for (int j = 0; j < c; j++) m += o[i * c + j];
            m /= c;
            for (int j = 0; j < c; j++) v += (o[i * c + j] - m) * (o[i * c + j] - m);
            v /= c;
            assertEquals(0.0, m, 1e-6, "row mean");
            assertEquals(1.0, v, 1e-4, "row variance (1 - eps/var)");
        }
    }

    @Test
    void rejectsNonPositiveEpsAndShapeMismatch() {
        FloatTensor x = FloatTensor.zeros(2, 4), g = FloatTensor.zeros(4), b = FloatTensor.zeros(4);
        FloatTensor out = FloatTensor.zeros(2, 4), m = FloatTensor.zeros(2), r = FloatTensor.zeros(2);
        for (float eps : new float[]{0f, -1e-5f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LayerNormKernel.forward(x, g, b, eps, out, m, r));
            assertTrue(e.getMessage().startsWith("eps"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LayerNormKernel.forward(x, FloatTensor.zeros(5), b, 1e-5f, out, m, r));
        assertTrue(e.getMessage().contains("gamma") && e.getMessage().contains("[4]") && e.getMessage().contains("[5]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> LayerNormKernel.forward(x, g, b, 1e-5f, FloatTensor.zeros(3, 4), m, r));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[2, 4]") && e.getMessage().contains("[3, 4]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> LayerNormKernel.forwardReference(new double[4], new double[4], new double[4], 0.0, 1, 4,
                        new double[4], new double[1], new double[1]));
    }
}
