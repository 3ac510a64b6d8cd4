package org.distillery.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The chart's frontier against a naive O(n^2) dominance check, with ties and duplicates; the chart's series. */
class ParetoChartTest {
    /** Point i is on the frontier when no j is no worse in both and strictly better in one. */
    static int[] naive(List<ParetoChart.Point> p) {
        List<Integer> on = new ArrayList<>();
        for (int i = 0; i < p.size(); i++) {
            boolean dominated = false;
            for (int j = 0; j < p.size() && !dominated; j++) {
                ParetoChart.Point a = p.get(j), b = p.get(i);
                dominated = a.bytes() <= b.bytes() && a.perplexity() <= b.perplexity()
                        && (a.bytes() < b.bytes() || a.perplexity() < b.perplexity());
            }
            if (!dominated) on.add(i);
        }
        return on.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void frontierEqualsTheNaiveTwin() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(40);
            List<ParetoChart.Point> pts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long bytes = 1000 + 100L * r.nextInt(12);              // few distinct values: ties in bytes
                double ppl = 10 + r.nextInt(8) * 0.5;                   // and in perplexity, and duplicates
                pts.add(new ParetoChart.Point("r" + i, "pruned", bytes, ppl));
            }
            int[] got = ParetoChart.frontier(pts).clone();
            Arrays.sort(got);
            assertArrayEquals(naive(pts), got, "trial " + trial);
        }
    }

    @Test
    void aHandMadeCase() {
        List<ParetoChart.Point> pts = List.of(new ParetoChart.Point("a", "trained", 4000, 10),
                new ParetoChart.Point("b", "distilled", 2000, 12), new ParetoChart.Point("c", "pruned", 3000, 13),
                new ParetoChart.Point("d", "quantized", 500, 12.5), new ParetoChart.Point("e", "combined", 500, 12.5));
        assertArrayEquals(new int[] {3, 4, 1, 0}, ParetoChart.frontier(pts));
        var t = ParetoChart.table(pts);
        assertEquals(List.of(true, true, false, true, true), t.booleanColumn("on_frontier").asList());
        var chart = ParetoChart.chart(pts, List.of(), "t");
        assertEquals(List.of("trained (1)", "distilled (1)", "pruned (1)", "quantized (1)", "combined (1)", "Pareto frontier"),
                new ArrayList<>(chart.getSeriesMap().keySet()));
        // sizes in MB; 500 B to 4 kB spans 8x: a log axis with every tick labelled (ChartAxes); perplexity 10-13 stays linear
        assertArrayEquals(new double[] {500e-6, 500e-6, 2000e-6, 4000e-6}, chart.getSeriesMap().get("Pareto frontier").getXData(), 1e-18);
        assertTrue(chart.getStyler().isXAxisLogarithmic());
        assertFalse(chart.getStyler().isXAxisLogarithmicDecadeOnly());
        assertFalse(chart.getStyler().isYAxisLogarithmic());
        assertEquals("size on disk (deployable, MB) (log scale)", chart.getXAxisTitle());
    }
}
