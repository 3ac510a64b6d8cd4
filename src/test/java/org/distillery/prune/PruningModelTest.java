package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.model.Gpt;
import org.distillery.prune.MagnitudePruning.Scope;
import org.distillery.prune.StructureImportance.Criterion;
import org.distillery.quant.Gptq;
import org.distillery.quant.TinyBrownGpt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pruners on the small Brown-trained GPT ({@link TinyBrownGpt}: bytes, 2 layers x 64, 4 heads, MLP 256,
 * context 64): validation perplexity (first 16,384 validation bytes) at 50 % unstructured and 2:4, every linear
 * layer, calibration 64 random training windows of 64 bytes (seed 0); and structured pruning by the three
 * importance criteria. The asserted orderings are the measured ones (printed). Measured (one and two BLAS threads,
 * within 0.004): dense 12.177; 50 %: magnitude 12.404 (global 12.344, per-row 12.314), Wanda 12.277-12.280,
 * SparseGPT 12.231; 2:4: magnitude 12.480, Wanda 12.458, SparseGPT 12.265.
 */
class PruningModelTest {
    static TinyBrownGpt tiny;
    static double dense;
    static List<int[]> calib;

    @BeforeAll
    static void model() {
        tiny = TinyBrownGpt.get();
        tiny.restore();
        dense = tiny.perplexity();
        calib = Gptq.calibrationWindows(tiny.train, 64, TinyBrownGpt.T, 0);
    }

    @AfterEach
    void restore() {
        tiny.restore();
    }

    private static double ppl(Gpt g) {
        return org.distillery.eval.Perplexity.evaluate(g, tiny.val, TinyBrownGpt.T, TinyBrownGpt.B).perplexity();
    }

    @Test
    void unstructuredAndTwoFourAtHalfSparsity() {
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("dense", dense);
        MagnitudePruning.prune(tiny.model, 0.5, Scope.LAYER);
        r.put("magnitude 50%", tiny.perplexity());
        tiny.restore();
        MagnitudePruning.prune(tiny.model, 0.5, Scope.GLOBAL);
        r.put("magnitude global 50%", tiny.perplexity());
        tiny.restore();
        for (String n : org.distillery.quant.LinearLayers.names(tiny.model)) {        // Wanda's grouping, |W| alone
            var t = tiny.model.parameters().get(n);
            double[] ones = new double[t.dim(1)];
            java.util.Arrays.fill(ones, 1);
            new PruningMask().put(n, t.dim(0), t.dim(1), Wanda.layerMask(t.toFloatArray(), t.dim(0), t.dim(1), ones,
                    Wanda.Options.unstructured(0.5))).apply(tiny.model.parameters());
        }
        r.put("magnitude per-row 50%", tiny.perplexity());
        tiny.restore();
        PruningResult w = Wanda.prune(tiny.model, calib, Wanda.Options.unstructured(0.5));
        assertEquals(0.5, w.mask().sparsity(), 0.0);
        r.put("Wanda 50%", tiny.perplexity());
        tiny.restore();
        PruningResult s = SparseGpt.prune(tiny.model, calib, SparseGpt.Options.unstructured(0.5));
        assertEquals(0.5, s.mask().sparsity(), 0.0);
        assertTrue(s.mask().holdsIn(tiny.model.parameters()));
        r.put("SparseGPT 50%", tiny.perplexity());
        tiny.restore();
        MagnitudePruning.prune(tiny.model, NmPattern.TWO_FOUR);
        r.put("magnitude 2:4", tiny.perplexity());
        tiny.restore();
        Wanda.prune(tiny.model, calib, Wanda.Options.nm(NmPattern.TWO_FOUR));
        r.put("Wanda 2:4", tiny.perplexity());
        tiny.restore();
        PruningResult s24 = SparseGpt.prune(tiny.model, calib, SparseGpt.Options.nm(NmPattern.TWO_FOUR));
        for (PrunedLayer l : s24.layers()) assertTrue(l.outputError() > 0 && l.outputError() < 0.5, l.toString());
        r.put("SparseGPT 2:4", tiny.perplexity());
        for (long seed = 1; seed <= 2; seed++) {                  // other calibration sets
            List<int[]> c = Gptq.calibrationWindows(tiny.train, 64, TinyBrownGpt.T, seed);
            tiny.restore();
            Wanda.prune(tiny.model, c, Wanda.Options.unstructured(0.5));
            r.put("Wanda 50% seed " + seed, tiny.perplexity());
            tiny.restore();
            SparseGpt.prune(tiny.model, c, SparseGpt.Options.unstructured(0.5));
            r.put("SparseGPT 50% seed " + seed, tiny.perplexity());
            assertTrue(r.get("SparseGPT 50% seed " + seed) < r.get("Wanda 50% seed " + seed), r.toString());
        }
        r.forEach((k, v) -> System.out.printf("TinyBrownGpt %-22s perplexity %.4f%n", k, v));

        // measured (see the class comment): SparseGPT far below magnitude; Wanda below per-row magnitude (its own
        // comparison group) and below layer-wise magnitude (12.28 against 12.40; on the earlier, less trained fixture
        // the two were level, 13.965 against 13.963)
        double mag = r.get("magnitude 50%"), wanda = r.get("Wanda 50%"), sg = r.get("SparseGPT 50%");
        assertTrue(dense < sg && sg < wanda && sg < mag, r.toString());
        assertTrue(sg - dense < 0.3 * (mag - dense), "SparseGPT well below magnitude: " + r);
        assertTrue(wanda < r.get("magnitude per-row 50%"), r.toString());
        assertTrue(wanda < mag + 0.05, "Wanda at or below layer-wise magnitude: " + r);
        double mag24 = r.get("magnitude 2:4"), wanda24 = r.get("Wanda 2:4"), sg24 = r.get("SparseGPT 2:4");
        assertTrue(sg24 < wanda24 && wanda24 < mag24, r.toString());
        assertTrue(sg24 > sg && wanda24 > wanda && mag24 > mag, "2:4 is harder than unstructured 50 %: " + r);
    }

    @Test
    void structuredPruningByImportance() {
        Map<String, Double> r = new LinkedHashMap<>();
        for (Structure st : Structure.values()) {
            double f = st == Structure.HEAD ? 0.25 : 0.5;
            for (Criterion c : Criterion.values()) {
                tiny.restore();
                StructuredPruning.Result res = StructuredPruning.prune(tiny.model, st, c, f, Scope.LAYER, calib);
                assertTrue(res.parametersAfter() < res.parametersBefore());
                r.put(st + " " + (int) (100 * f) + "% " + c, ppl(res.model()));
                if (c == Criterion.TAYLOR) {
                    System.out.printf("TinyBrownGpt %s %d%%: parameters %,d -> %,d%n", st, (int) (100 * f),
                            res.parametersBefore(), res.parametersAfter());
                }
            }
        }
        r.forEach((k, v) -> System.out.printf("TinyBrownGpt %-28s perplexity %.3f (dense %.3f)%n", k, v, dense));
        for (double v : r.values()) assertTrue(v > dense, r.toString());
        // data-aware criteria beat the weight norm on neurons, measured
        assertTrue(r.get("NEURON 50% TAYLOR") < r.get("NEURON 50% WEIGHT_NORM"), r.toString());
        assertTrue(r.get("NEURON 50% ACTIVATION") < r.get("NEURON 50% WEIGHT_NORM"), r.toString());
    }

    /** Magnitude 50 % then 40 masked fine-tuning steps: perplexity recovers part of the gap, zeros stay. */
    @Test
    void fineTuningRecoversPartOfTheGap() {
        PruningMask m = MagnitudePruning.prune(tiny.model, 0.5, Scope.LAYER);
        double pruned = tiny.perplexity();
        var cfg = org.distillery.train.TrainConfig.defaults(tiny.model.config()).withBatch(TinyBrownGpt.B, TinyBrownGpt.T)
                .withSteps(40, 4).withLr(2e-3, 2e-4).withSeed(9);
        MaskedObjective.finetune(tiny.model, m, tiny.train, cfg);
        double tuned = tiny.perplexity();
        System.out.printf("TinyBrownGpt magnitude 50%%: %.3f, after 40 masked fine-tuning steps %.3f (dense %.3f)%n", pruned, tuned, dense);
        assertTrue(m.holdsIn(tiny.model.parameters()));
        assertTrue(tuned < pruned, tuned + " vs " + pruned);
    }
}
