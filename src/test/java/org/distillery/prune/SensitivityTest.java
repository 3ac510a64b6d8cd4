package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.eval.Perplexity;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.TinyBrownGpt;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/**
 * {@link Sensitivity} on the small Brown-trained GPT (first 4,096 validation bytes): the table's cells against a
 * direct measurement, the model left untouched, and the allocation rule (exact mean, hand example, ordering).
 */
class SensitivityTest {

    @Test
    void scansEveryLayerAloneAndAllocatesByMarginalCost() {
        TinyBrownGpt tiny = TinyBrownGpt.get();
        tiny.restore();
        int[] val = Arrays.copyOf(tiny.val, 4096);
        Map<String, float[]> before = new java.util.HashMap<>();
        tiny.model.parameters().forEach((n, p) -> before.put(n, p.toFloatArray()));
        Sensitivity.Result r = Sensitivity.analyze(tiny.model, val, TinyBrownGpt.T, TinyBrownGpt.B, new double[] {0.25, 0.5, 0.75});
        tiny.model.parameters().forEach((n, p) -> assertArrayEquals(before.get(n), p.toFloatArray(), n + " restored"));

        Table t = r.table();
        System.out.println(t.print());
        assertEquals(List.of("layer", "parameters", "s=0.25", "s=0.50", "s=0.75"), t.columnNames());
        assertEquals(LinearLayers.names(tiny.model), t.stringColumn("layer").asList());
        assertEquals(8, t.rowCount());
        assertEquals(64L * 256, t.longColumn("parameters").get(2));          // h.0.mlp.c_fc [256, 64]
        double dense = Perplexity.evaluate(tiny.model, val, TinyBrownGpt.T, TinyBrownGpt.B).perplexity();
        assertEquals(dense, r.dense(), 0.0);
        MagnitudePruning.mask(tiny.model.parameters(), Map.of("h.1.mlp.c_fc.weight", 0.5)).apply(tiny.model.parameters());
        double direct = Perplexity.evaluate(tiny.model, val, TinyBrownGpt.T, TinyBrownGpt.B).perplexity() - dense;
        tiny.restore();
        assertEquals(direct, t.doubleColumn("s=0.50").get(6), 0.0);
        for (int l = 0; l < 8; l++) assertTrue(r.delta()[l][2] > r.delta()[l][0], r.layers().get(l) + ": 75 % hurts more than 25 %");

        Map<String, Double> alloc = Sensitivity.allocate(r, 0.5);
        System.out.println("allocation at 50 %: " + alloc);
        assertEquals(0.5, Sensitivity.meanSparsity(r, alloc), 1e-12);
        for (double s : alloc.values()) assertTrue(s >= 0 && s <= 0.75);
        MagnitudePruning.mask(tiny.model.parameters(), alloc).apply(tiny.model.parameters());
        double allocated = Perplexity.evaluate(tiny.model, val, TinyBrownGpt.T, TinyBrownGpt.B).perplexity();
        tiny.restore();
        MagnitudePruning.prune(tiny.model, 0.5, MagnitudePruning.Scope.LAYER);
        double uniform = Perplexity.evaluate(tiny.model, val, TinyBrownGpt.T, TinyBrownGpt.B).perplexity();
        tiny.restore();
        System.out.printf("magnitude 50 %%: uniform per layer %.4f, sensitivity allocation %.4f (dense %.4f)%n", uniform, allocated, dense);
        assertTrue(allocated < uniform, allocated + " vs " + uniform);
    }

    /** Two layers of 100 and 300 weights, grid {0.5}: layer 1 costs 0.3 / 150 per weight, layer 0 1.0 / 50. */
    @Test
    void allocationRuleOnAHandExample() {
        Sensitivity.Result r = new Sensitivity.Result(List.of("a", "b"), new long[] {100, 300}, new double[] {0.5},
                new double[][] {{1.0}, {0.3}}, 10.0);
        assertEquals(Map.of("a", 0.0, "b", 100.0 / 300), Sensitivity.allocate(r, 0.25));     // b first, in part
        assertEquals(Map.of("a", 0.5, "b", 0.5), Sensitivity.allocate(r, 0.5));              // b whole, then a
        Map<String, Double> mid = Sensitivity.allocate(r, 0.45);
        assertEquals(0.5, mid.get("b"), 0.0);
        assertEquals(0.3, mid.get("a"), 1e-12);                                              // (180 - 150) / 100
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sensitivity.allocate(r, 0.6));
        assertEquals("target 0.6 is outside [0, 0.5] (the scan's largest sparsity)", e.getMessage());
    }
}
