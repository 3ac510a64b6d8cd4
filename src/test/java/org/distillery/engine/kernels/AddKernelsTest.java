package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class AddKernelsTest {

    @AfterAll
    static void report() { printFdErrors("Add"); }

    @Test
    void biasGradientMatchesFiniteDifferences() {
        Random rnd = new Random(40);
        int n = 4, c = 5;
        double[] y0 = randn(rnd, n * c, 1.0), bias = randn(rnd, c, 1.0), w = randn(rnd, n * c, 1.0);
        double[] db = new double[c];
        AddKernels.biasGradAccumulateReference(w, n, c, db);
        assertFd("Add bias-gradient column sum", bias, bb -> {
            double[] y = y0.clone();
            AddKernels.biasAddReference(y, bb, n, c);
            return dot(y, w);
        }, db);
        double[] b = randn(rnd, n * c, 1.0);
        assertFd("Add residual d/da", y0, aa -> {
            double[] out = new double[n * c];
            AddKernels.residualAddReference(aa, b, out);
            return dot(out, w);
        }, w);
    }

    @Test
    void fastKernelsMatchDoubleTwinsOnOddRowLengths() {
        Random rnd = new Random(41);
        for (int c : ODD_LENGTHS) {
            int n = 3;
            double[] a = randnF32(rnd, n * c, 1.0), b = randnF32(rnd, n * c, 1.0), bias = randnF32(rnd, c, 1.0);
            double[] db0 = randnF32(rnd, c, 1.0);
            String at = " C=" + c;

            double[] out = new double[n * c];
            AddKernels.residualAddReference(a, b, out);
            FloatTensor ta = FloatTensor.of(a, n, c), tout = FloatTensor.zeros(n, c);
            AddKernels.residualAdd(ta, FloatTensor.of(b, n, c), tout);
            assertRel("residual" + at, out, tout.toDoubleArray(), 1e-7);

            AddKernels.accumulate(ta, FloatTensor.of(b, n, c));                 // a += b
            assertRel("accumulate" + at, out, ta.toDoubleArray(), 1e-7);

            double[] y = a.clone();
            AddKernels.biasAddReference(y, bias, n, c);
            FloatTensor ty = FloatTensor.of(a, n, c);
            AddKernels.biasAdd(ty, FloatTensor.of(bias, c));
            assertRel("bias add" + at, y, ty.toDoubleArray(), 1e-7);

            double[] db = db0.clone();
            AddKernels.biasGradAccumulateReference(a, n, c, db);
            FloatTensor tdb = FloatTensor.of(db0, c);
            AddKernels.biasGradAccumulate(FloatTensor.of(a, n, c), tdb);
            assertRel("bias grad" + at, db, tdb.toDoubleArray(), 1e-6);
        }
    }

    @Test
    void rejectsShapeMismatchNamingBothShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AddKernels.residualAdd(FloatTensor.zeros(2, 3), FloatTensor.zeros(3, 2), FloatTensor.zeros(2, 3)));
        assertTrue(e.getMessage().startsWith("b:") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 2]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> AddKernels.biasAdd(FloatTensor.zeros(2, 3), FloatTensor.zeros(4)));
        assertTrue(e.getMessage().startsWith("bias:") && e.getMessage().contains("[3]") && e.getMessage().contains("[4]"),
                e.getMessage());
    }

    @Test
    void rangeCopyAndAccumulate() {
        Random rnd = new Random(62);
        double[] a = randnF32(rnd, 40, 1.0), b = randnF32(rnd, 40, 1.0);
        FloatTensor ta = FloatTensor.of(a, 4, 10), tb = FloatTensor.of(b, 40);
        AddKernels.copyRange(ta, 3, tb, 20, 17);
        AddKernels.accumulateRange(tb, 1, ta, 21, 19);
        double[] expect = b.clone();
        System.arraycopy(a, 3, expect, 20, 17);
        for (int k = 0; k < 19; k++) expect[1 + k] = (float) expect[1 + k] + (float) a[21 + k];   // fp32 add
        assertArrayEquals(expect, tb.toDoubleArray(), 0.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AddKernels.copyRange(ta, 30, tb, 0, 11));
        assertTrue(e.getMessage().contains("src") && e.getMessage().contains("[30, 30 + 11)") && e.getMessage().contains("40"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AddKernels.accumulateRange(tb, -1, ta, 0, 2));
    }

    @Test
    void scaleMultipliesEveryElementExactlyAsScalarCode() {
        Random rnd = new Random(43);
        for (int n : ODD_LENGTHS) {
            double[] x = randnF32(rnd, n, 2.0);
            FloatTensor t = FloatTensor.of(x, n);
            AddKernels.scale(t, 0.3f);
            for (int i = 0; i < n; i++) assertEquals((float) x[i] * 0.3f, t.get(i), 0.0f, "n=" + n + " i=" + i);
        }
    }
}
