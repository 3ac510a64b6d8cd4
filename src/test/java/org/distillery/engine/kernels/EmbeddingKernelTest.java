package org.distillery.engine.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.engine.kernels.KernelTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class EmbeddingKernelTest {

    @AfterAll
    static void report() { printFdErrors("Embedding"); }

    @Test
    void referenceScatterAddMatchesFiniteDifferencesWithRepeatedIds() {
        Random rnd = new Random(60);
        int v = 5, maxT = 4, c = 3, t = 3;
        int[] ids = {3, 1, 3, 3, 0, 1};                                       // B = 2, id 3 three times
        double[] wte = randn(rnd, v * c, 1.0), wpe = randn(rnd, maxT * c, 1.0), w = randn(rnd, ids.length * c, 1.0);
        double[] dwte = new double[v * c], dwpe = new double[maxT * c];
        EmbeddingKernel.backwardReference(w, ids, t, c, dwte, dwpe);
        assertFd("Embedding dwte (repeated ids)", wte, ee -> {
            double[] out = new double[ids.length * c];
            EmbeddingKernel.forwardReference(ids, t, ee, wpe, c, out);
            return dot(out, w);
        }, dwte);
        assertFd("Embedding dwpe", wpe, pp -> {
            double[] out = new double[ids.length * c];
            EmbeddingKernel.forwardReference(ids, t, wte, pp, c, out);
            return dot(out, w);
        }, dwpe);
        for (int j = 0; j < c; j++) {
            assertEquals(0.0, dwte[2 * c + j], 0.0, "unused id 2 gets no gradient");
            assertEquals(0.0, dwpe[3 * c + j], 0.0, "unused position 3 gets no gradient");
        }
    }

    @Test
    void fastKernelMatchesDoubleTwin() {
        Random rnd = new Random(61);
        for (int c : new int[]{1, 7, 16, 17, 33}) {
            int v = 11, maxT = 6, t = 5, b = 3;
            int[] ids = new int[b * t];
            for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(4);   // many repeats
            double[] wte = randnF32(rnd, v * c, 1.0), wpe = randnF32(rnd, maxT * c, 1.0);
            double[] dout = randnF32(rnd, ids.length * c, 1.0);
            double[] dwte0 = randnF32(rnd, v * c, 1.0), dwpe0 = randnF32(rnd, maxT * c, 1.0);
            double[] out = new double[ids.length * c], dwte = dwte0.clone(), dwpe = dwpe0.clone();
            EmbeddingKernel.forwardReference(ids, t, wte, wpe, c, out);
            EmbeddingKernel.backwardReference(dout, ids, t, c, dwte, dwpe);

            FloatTensor twte = FloatTensor.of(wte, v, c), twpe = FloatTensor.of(wpe, maxT, c);
            FloatTensor tout = FloatTensor.zeros(ids.length, c);
            EmbeddingKernel.forward(ids, t, twte, twpe, tout);
            FloatTensor tdwte = FloatTensor.of(dwte0, v, c), tdwpe = FloatTensor.of(dwpe0, maxT, c);
            EmbeddingKernel.backward(FloatTensor.of(dout, ids.length, c), ids, t, tdwte, tdwpe);
            String at = " C=" + c;
            assertRel("out" + at, out, tout.toDoubleArray(), 1e-7);
            assertRel("dwte" + at, dwte, tdwte.toDoubleArray(), 1e-6);
            assertRel("dwpe" + at, dwpe, tdwpe.toDoubleArray(), 1e-6);
        }
    }

    @Test
    void rejectsBadIdsAndShapes() {
        FloatTensor wte = FloatTensor.zeros(5, 4), wpe = FloatTensor.zeros(8, 4), out = FloatTensor.zeros(6, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forward(new int[]{0, 1, 2, 3, 9, 4}, 3, wte, wpe, out));
        assertTrue(e.getMessage().contains("token id 9") && e.getMessage().contains("position 4")
                && e.getMessage().contains("vocab size 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.backward(out, new int[]{0, 1, -2, 3, 1, 4}, 3, wte, wpe));
        assertTrue(e.getMessage().contains("token id -2") && e.getMessage().contains("position 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forward(new int[18], 9, wte, wpe, FloatTensor.zeros(18, 4)));
        assertTrue(e.getMessage().contains("exceeds") && e.getMessage().contains("[8, 4]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forward(new int[6], 3, wte, FloatTensor.zeros(8, 3), out));
        assertTrue(e.getMessage().contains("wpe") && e.getMessage().contains("[8, 3]") && e.getMessage().contains("[5, 4]"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forward(new int[6], 3, wte, wpe, FloatTensor.zeros(6, 5)));
        assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[6, 4]") && e.getMessage().contains("[6, 5]"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forward(new int[7], 3, wte, wpe, FloatTensor.zeros(7, 4)));
    }

    @Test
    void tableAddMatchesFiniteDifferencesAndFastMatchesTwin() {
        Random rnd = new Random(61);
        int r = 3, c = 19;
        int[] ids = {2, 0, 2, 2, 1, 0, 0};                                    // repeated rows
        double[] table = randnF32(rnd, r * c, 1.0), base = randnF32(rnd, ids.length * c, 1.0);
        double[] w = randnF32(rnd, ids.length * c, 1.0), dtable = new double[r * c];
        EmbeddingKernel.backwardAddReference(w, ids, c, dtable);
        assertFd("Embedding table add dtable", table, tt -> {
            double[] out = base.clone();
            EmbeddingKernel.forwardAddReference(ids, tt, c, out);
            return dot(out, w);
        }, dtable);
        double[] out = base.clone();
        EmbeddingKernel.forwardAddReference(ids, table, c, out);
        FloatTensor tOut = FloatTensor.of(base, ids.length, c), tTable = FloatTensor.of(table, r, c);
        EmbeddingKernel.forwardAdd(ids, tTable, tOut);
        assertRel("table add out", out, tOut.toDoubleArray(), FP32_TOL);
        FloatTensor tD = FloatTensor.of(new double[r * c], r, c);
        tD.set(0, 1f);                                                        // accumulates onto existing values
        double[] expect = dtable.clone();
        expect[0] += 1;
        EmbeddingKernel.backwardAdd(FloatTensor.of(w, ids.length, c), ids, tD);
        assertRel("table add dtable", expect, tD.toDoubleArray(), FP32_TOL);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingKernel.forwardAdd(new int[] {0, 3, 0, 0, 0, 0, 0}, tTable, tOut));
        assertTrue(e.getMessage().contains("token id 3") && e.getMessage().contains("position 1"), e.getMessage());
    }
}
