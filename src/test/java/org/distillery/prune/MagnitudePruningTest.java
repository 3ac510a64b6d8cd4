package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.prune.MagnitudePruning.Scope;
import org.distillery.quant.LinearLayers;
import org.distillery.train.TrainConfig;
import org.junit.jupiter.api.Test;

/**
 * Magnitude pruning: exact counts and the magnitude order (layer-wise, global, N:M), the AGP schedule, and masks
 * that hold bit for bit through fine-tuning (gradient masking with a fresh AdamW), one-shot and gradual.
 */
class MagnitudePruningTest {
    static final int V = 40, T = 16, B = 4;

    static Gpt model() {
        return StructuredPruningTest.model(11).train();
    }

    static int[] tokens(int n, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i % 3 == 0) ? r.nextInt(V) : (t[i - 1] * 7 + 3) % V;   // learnable structure
        return t;
    }

    @Test
    void layerWiseMasksPruneEachLayersSmallestMagnitudes() {
        Gpt g = model();
        Map<String, float[]> original = new java.util.HashMap<>();
        g.parameters().forEach((n, p) -> original.put(n, p.toFloatArray()));
        PruningMask m = MagnitudePruning.prune(g, 0.3, Scope.LAYER);
        for (String n : LinearLayers.names(g)) {
            float[] w = g.parameters().get(n).toFloatArray(), w0 = original.get(n);
            assertEquals(Math.round(0.3 * w.length), m.pruned(n), n);
            double maxPruned = 0, minKept = Double.MAX_VALUE;
            boolean[] k = m.keep(n);
            for (int i = 0; i < w.length; i++) {
                if (k[i]) minKept = Math.min(minKept, Math.abs(w[i]));
                else {
                    assertEquals(0f, w[i], n);
                    maxPruned = Math.max(maxPruned, Math.abs(w0[i]));
                }
            }
            assertTrue(maxPruned <= minKept, n + ": pruned up to " + maxPruned + " but kept " + minKept);
        }
    }

    @Test
    void globalMasksShareOneThresholdAcrossLayers() {
        Gpt src = model();
        Map<String, FloatTensor> p = src.parameters();
        List<String> names = LinearLayers.names(src);
        PruningMask m = MagnitudePruning.mask(p, names, 0.6, Scope.GLOBAL);
        assertEquals(Math.round(0.6 * m.total()), m.pruned());
        double maxPruned = 0, minKept = Double.MAX_VALUE;
        for (String n : names) {
            boolean[] k = m.keep(n);
            for (int i = 0; i < k.length; i++) {
                double a = Math.abs(p.get(n).get(i));
                if (k[i]) minKept = Math.min(minKept, a); else maxPruned = Math.max(maxPruned, a);
            }
        }
        assertTrue(maxPruned <= minKept);
        // attn.c_proj was drawn like the others: per-layer sparsities differ around 0.6 but are not all equal
        assertTrue(m.layerSparsity().values().stream().distinct().count() > 1, m.layerSparsity().toString());
    }

    @Test
    void nmMasksKeepTheTwoLargestOfEveryFour() {
        Gpt src = model();
        float[] before = src.parameters().get("h.1.mlp.c_proj.weight").toFloatArray();
        PruningMask m = MagnitudePruning.prune(src, NmPattern.TWO_FOUR);
        assertEquals(0.5, m.sparsity(), 0.0);
        for (String n : LinearLayers.names(src)) {
            FloatTensor w = src.parameters().get(n);
            assertTrue(NmPattern.TWO_FOUR.holds(w.toFloatArray(), w.dim(0), w.dim(1)), n);
        }
        float[] after = src.parameters().get("h.1.mlp.c_proj.weight").toFloatArray();
        for (int g = 0; g < before.length; g += 4) {
            float minKept = Float.MAX_VALUE, maxPruned = 0;
            for (int j = g; j < g + 4; j++) {
                if (after[j] != 0) {
                    assertEquals(before[j], after[j], 0f);
                    minKept = Math.min(minKept, Math.abs(before[j]));
                } else {
                    maxPruned = Math.max(maxPruned, Math.abs(before[j]));
                }
            }
            assertTrue(maxPruned <= minKept, "group at " + g);
        }
    }

    @Test
    void agpScheduleIsCubic() {
        assertEquals(0.0, MagnitudePruning.agpSparsity(0, 4, 0, 0.8), 0.0);
        assertEquals(0.8 - 0.8 * 27.0 / 64, MagnitudePruning.agpSparsity(1, 4, 0, 0.8), 1e-15);
        assertEquals(0.7, MagnitudePruning.agpSparsity(2, 4, 0, 0.8), 1e-15);
        assertEquals(0.8, MagnitudePruning.agpSparsity(4, 4, 0, 0.8), 0.0);
        assertEquals(0.5 + (0.1 - 0.5) / 8, MagnitudePruning.agpSparsity(1, 2, 0.1, 0.5), 1e-15);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MagnitudePruning.prune(model(), 1.0, Scope.LAYER));
        assertEquals("sparsity 1.0 is out of range: accepted [0, 1)", e.getMessage());
    }

    private static TrainConfig finetune(Gpt g) {
        return TrainConfig.defaults(g.config()).withBatch(2, 12).withSteps(6, 1).withLr(3e-3, 1e-3).withSeed(5);
    }

    /** Gradient masking keeps the pruned weights at exactly 0 through AdamW steps (with weight decay and clipping). */
    @Test
    void prunedWeightsStayExactlyZeroDuringFineTuning() {
        Gpt g = model();
        int[] train = tokens(4000, 1);
        PruningMask m = MagnitudePruning.prune(g, 0.5, Scope.LAYER);
        Map<String, float[]> before = new java.util.HashMap<>();
        g.parameters().forEach((n, p) -> before.put(n, p.toFloatArray()));
        var steps = MaskedObjective.finetune(g, m, train, finetune(g));
        assertEquals(6, steps.size());
        long changed = 0;
        for (String n : m.names()) {
            float[] w = g.parameters().get(n).toFloatArray(), w0 = before.get(n);
            boolean[] k = m.keep(n);
            for (int i = 0; i < w.length; i++) {
                if (!k[i]) assertEquals(0, Float.floatToRawIntBits(w[i]), n + "[" + i + "] = " + w[i]);
                else if (w[i] != w0[i]) changed++;
            }
        }
        assertTrue(changed > 0.9 * (m.total() - m.pruned()), "fine-tuning moved the kept weights: " + changed);
        // the same steps without the mask move the pruned weights: the check above is not vacuous
        Gpt h = model();
        PruningMask m2 = MagnitudePruning.prune(h, 0.5, Scope.LAYER);
        MaskedObjective.finetune(h, null, train, finetune(h));
        assertTrue(!m2.holdsIn(h.parameters()), "unmasked fine-tuning revives pruned weights");
    }

    @Test
    void gradualPruningFollowsTheScheduleWithNestedMasksAndHoldsThem() {
        Gpt g = model();
        int[] train = tokens(4000, 2);
        var schedule = new MagnitudePruning.Gradual(0.0, 0.6, 3, 2, Scope.LAYER);
        List<MagnitudePruning.Step> steps = MagnitudePruning.gradual(g, train, finetune(g), schedule);
        assertEquals(4, steps.size());
        double[] targets = {0.0, 0.6 - 0.6 * 8.0 / 27, 0.6 - 0.6 / 27, 0.6};
        for (int t = 0; t <= 3; t++) {
            assertEquals(targets[t], steps.get(t).target(), 1e-12);
            assertEquals(targets[t], steps.get(t).sparsity(), 2e-3, "step " + t);   // per-layer rounding of round(s n)
            assertEquals(2, steps.get(t).finetuneLosses().size());
        }
        PruningMask fin = MagnitudePruning.finalMask(g);
        for (String n : fin.names()) {
            assertEquals(Math.round(0.6 * g.parameters().get(n).size()), fin.pruned(n), n + ": zeros after the last fine-tuning");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MagnitudePruning.Gradual(0.5, 0.3, 2, 1, Scope.LAYER));
        assertEquals("finalSparsity 0.3 is below initialSparsity 0.5; AGP only raises the sparsity", e.getMessage());
    }
}
