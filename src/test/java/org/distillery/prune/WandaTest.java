package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.junit.jupiter.api.Test;

/**
 * Wanda: scores and masks against a hand computation, exact per-row sparsity and N:M, equality with per-row
 * magnitude when every input norm is equal, and the sequential whole-model driver against a by-hand replay.
 */
class WandaTest {

    /**
     * X [3, 4] in two batches: rows (1, 0, 1, 2), (2, 3, 0, 0), (2, 4, 0, 0): ||X_j|| = 3, 5, 1, 2.
     * W row 0 (0.5, -0.1, 2.0, -0.4): S = 1.5, 0.5, 2.0, 0.8 -> 50 % prunes columns 1, 3.
     * W row 1 (0.2, 0.15, 1.0, 0.25): S = 0.6, 0.75, 1.0, 0.5 -> prunes columns 3, 0 (magnitude alone: 1, 0).
     */
    @Test
    void scoresAndMaskMatchAHandComputation() {
        InputNorms norms = new InputNorms(4);
        norms.add(FloatTensor.of(new double[] {1, 0, 1, 2}, 1, 4));
        norms.add(FloatTensor.of(new double[] {2, 3, 0, 0, 2, 4, 0, 0}, 2, 4));
        assertEquals(3, norms.rows());
        assertArrayEquals(new double[] {3, 5, 1, 2}, norms.norms(), 0.0);
        float[] w = {0.5f, -0.1f, 2.0f, -0.4f, 0.2f, 0.15f, 1.0f, 0.25f};
        double[] s = Wanda.scores(w, 2, 4, norms.norms());
        double[] expected = {1.5, 0.5, 2.0, 0.8, 0.6, 0.75, 1.0, 0.5};
        for (int i = 0; i < s.length; i++) assertEquals(expected[i], s[i], 1e-7, "score " + i);   // fp32 weights
        boolean[] keep = Wanda.layerMask(w, 2, 4, norms.norms(), Wanda.Options.unstructured(0.5));
        assertArrayEquals(new boolean[] {true, false, true, false, false, true, true, false}, keep);
        FloatTensor wt = FloatTensor.of(SparseGptTest.toDouble(w), 2, 4);
        Wanda.pruneLayer(wt, norms, Wanda.Options.unstructured(0.5));
        assertArrayEquals(new float[] {0.5f, 0, 2.0f, 0, 0, 0.15f, 1.0f, 0}, wt.toFloatArray());
        boolean[] nm = Wanda.layerMask(w, 2, 4, norms.norms(), Wanda.Options.nm(new NmPattern(1, 2)));
        assertArrayEquals(new boolean[] {true, false, true, false, false, true, true, false}, nm, "1:2 on (S0,S1),(S2,S3)");
    }

    @Test
    void everyRowHasExactlyTheRequestedSparsityAndNmHolds() {
        LayerFixture f = new LayerFixture(20, 40, 100, 3);
        double[] n = f.norms();
        for (double s : new double[] {0.25, 0.5, 0.8}) {
            boolean[] keep = Wanda.layerMask(f.w, 20, 40, n, Wanda.Options.unstructured(s));
            for (int r = 0; r < 20; r++) {
                int pruned = 0;
                for (int j = 0; j < 40; j++) if (!keep[r * 40 + j]) pruned++;
                assertEquals(Math.round(s * 40), pruned, "row " + r + ", s = " + s);
            }
        }
        boolean[] keep = Wanda.layerMask(f.w, 20, 40, n, Wanda.Options.nm(NmPattern.TWO_FOUR));
        for (int g = 0; g < keep.length; g += 4) {
            int kept = 0;
            for (int j = g; j < g + 4; j++) if (keep[j]) kept++;
            assertEquals(2, kept);
        }
    }

    @Test
    void equalInputNormsGivePerRowMagnitude() {
        LayerFixture f = new LayerFixture(10, 32, 20, 4);
        double[] ones = new double[32];
        java.util.Arrays.fill(ones, 2.5);
        boolean[] keep = Wanda.layerMask(f.w, 10, 32, ones, Wanda.Options.unstructured(0.5));
        for (int r = 0; r < 10; r++) {
            double maxPruned = 0, minKept = Double.MAX_VALUE;
            for (int j = 0; j < 32; j++) {
                double a = Math.abs(f.w[r * 32 + j]);
                if (keep[r * 32 + j]) minKept = Math.min(minKept, a); else maxPruned = Math.max(maxPruned, a);
            }
            assertTrue(maxPruned <= minKept);
        }
    }

    /**
     * The whole-model driver: block 1's masks come from the inputs of the model whose block 0 is already pruned.
     * Replayed by hand: prune block 0 with the recorded masks, one forward per batch, Wanda on block 1's inputs.
     */
    @Test
    void sequentialDriverUsesInputsOfTheAlreadyPrunedBlocks() {
        Gpt g = StructuredPruningTest.model(21);
        Gpt replay = StructuredPruningTest.copy(g);
        List<int[]> windows = StructuredPruningTest.windows(4, 5);
        PruningResult r = Wanda.prune(g, windows, Wanda.Options.unstructured(0.5));
        assertEquals(LinearLayers.names(g), r.mask().names());
        assertEquals(12, r.layers().size());
        for (PrunedLayer l : r.layers()) {
            assertEquals(Math.round(0.5 * l.cols()) * l.rows(), l.pruned(), l.name());
            assertTrue(Double.isNaN(l.outputError()));
        }
        assertTrue(r.mask().holdsIn(g.parameters()));
        PruningMask block0 = new PruningMask();
        for (String k : SequentialCalibration.KINDS) {
            String n = "h.0." + k;
            block0.put(n, r.mask().shape(n)[0], r.mask().shape(n)[1], r.mask().keep(n));
        }
        block0.apply(replay.parameters());
        Map<String, InputNorms> norms = new java.util.LinkedHashMap<>();
        for (String k : SequentialCalibration.KINDS) norms.put("h.1." + k, new InputNorms(replay.parameters().get("h.1." + k).dim(1)));
        replay.train();
        for (int first = 0; first < windows.size(); first += 2) {
            int[] ids = new int[2 * StructuredPruningTest.T];
            for (int i = 0; i < 2; i++) System.arraycopy(windows.get(first + i), 0, ids, i * StructuredPruningTest.T, StructuredPruningTest.T);
            replay.forward(ids, null, 2, StructuredPruningTest.T);
            norms.forEach((n, acc) -> acc.add(replay.linearInput(n)));
        }
        List<String> differ = new ArrayList<>();
        norms.forEach((n, acc) -> {
            FloatTensor w = replay.parameters().get(n);
            boolean[] k = Wanda.layerMask(w.toFloatArray(), w.dim(0), w.dim(1), acc.norms(), Wanda.Options.unstructured(0.5));
            if (!java.util.Arrays.equals(k, r.mask().keep(n))) differ.add(n);
        });
        assertTrue(differ.isEmpty(), "masks differ from the replay: " + differ);
    }
}
