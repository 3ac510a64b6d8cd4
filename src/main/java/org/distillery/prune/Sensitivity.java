package org.distillery.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Per-layer pruning sensitivity: every linear layer is pruned alone (magnitude, layer-wise) at each of a grid
 * of sparsities, the others left dense, and the change of perplexity against the dense model is recorded
 * ({@link #analyze}); the weights are restored after each measurement. From it, {@link #allocate} derives a
 * per-layer sparsity for a global target:
 * <pre>
 *   greedy marginal cost on the measured grid 0 = g_0 &lt; g_1 &lt; ... &lt; g_K (layer effects assumed additive):
 *   start every layer at g_0; repeatedly raise the layer whose next grid step costs the least perplexity per
 *   pruned weight, (d_l(g_{i+1}) - d_l(g_i)) / (p_l (g_{i+1} - g_i)), d_l = measured change, p_l = its weights;
 *   the step that reaches the target weight count sum_l p_l s = target * sum_l p_l is taken in part
 *   (linear between grid points), so the parameter-weighted mean sparsity equals the target exactly.
 * </pre>
 * Less sensitive layers thus end up sparser; no layer exceeds the largest grid sparsity.
 */
public final class Sensitivity {
    private Sensitivity() {}

    /**
     * A sensitivity scan.
     *
     * @param layers     the layer names, in order
     * @param parameters weights per layer
     * @param sparsities the grid, ascending, each in (0, 1)
     * @param delta      perplexity change [layer][sparsity] (pruned alone minus dense)
     * @param dense      the dense model's perplexity
     */
    public record Result(List<String> layers, long[] parameters, double[] sparsities, double[][] delta, double dense) {
        public Result {
            if (layers == null || parameters == null || sparsities == null || delta == null) {
                throw new IllegalArgumentException("layers, parameters, sparsities, delta: must not be null");
            }
            if (parameters.length != layers.size() || delta.length != layers.size()) {
                throw new IllegalArgumentException("parameters, delta: need one entry per layer (" + layers.size() + ")");
            }
            for (int i = 0; i < sparsities.length; i++) {
                if (!(sparsities[i] > 0 && sparsities[i] < 1) || i > 0 && sparsities[i] <= sparsities[i - 1]) {
                    throw new IllegalArgumentException("sparsities: " + Arrays.toString(sparsities) + " must be ascending in (0, 1)");
                }
            }
            for (double[] d : delta) {
                if (d.length != sparsities.length) throw new IllegalArgumentException("delta: need one value per sparsity");
            }
            layers = List.copyOf(layers);
        }

        /**
         * The scan as a table: columns {@code layer}, {@code parameters}, then one per sparsity named
         * {@code s=0.50} with the perplexity change; the table's name carries the dense perplexity.
         */
        public Table table() {
            StringColumn name = StringColumn.create("layer", layers);
            LongColumn count = LongColumn.create("parameters", parameters);
            Table t = Table.create(String.format(Locale.ROOT, "Perplexity change, each layer pruned alone (dense %.4f)", dense))
                    .addColumns(name, count);
            for (int j = 0; j < sparsities.length; j++) {
                double[] col = new double[layers.size()];
                for (int l = 0; l < col.length; l++) col[l] = delta[l][j];
                t.addColumns(DoubleColumn.create(String.format(Locale.ROOT, "s=%.2f", sparsities[j]), col));
            }
            return t;
        }
    }

    /**
     * Prunes each linear layer of {@code model} alone by magnitude at every sparsity of {@code sparsities} and
     * measures the perplexity on {@code tokens} ({@link Perplexity#evaluate}: non-overlapping windows of
     * {@code contextLength}, batches of {@code batchSize}). The model is left as it was.
     */
    public static Result analyze(Gpt model, int[] tokens, int contextLength, int batchSize, double[] sparsities) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        double[] grid = sparsities == null ? null : sparsities.clone();
        if (grid == null || grid.length == 0) throw new IllegalArgumentException("sparsities: need at least one");
        List<String> names = LinearLayers.names(model);
        long[] params = new long[names.size()];
        double dense = Perplexity.evaluate(model, tokens, contextLength, batchSize).perplexity();
        double[][] delta = new double[names.size()][grid.length];
        for (int l = 0; l < names.size(); l++) {
            String n = names.get(l);
            FloatTensor w = model.parameters().get(n);
            params[l] = w.size();
            float[] saved = w.toFloatArray();
            try {
                for (int j = 0; j < grid.length; j++) {
                    MagnitudePruning.checkSparsity(grid[j]);
                    MagnitudePruning.mask(model.parameters(), Map.of(n, grid[j])).apply(model.parameters());
                    delta[l][j] = Perplexity.evaluate(model, tokens, contextLength, batchSize).perplexity() - dense;
                    w.copyFrom(saved);
                }
            } finally {
                w.copyFrom(saved);
            }
        }
        return new Result(names, params, grid, delta, dense);
    }

    /**
     * Per-layer sparsities with parameter-weighted mean {@code target} by the greedy marginal-cost rule (class
     * comment), by layer name in the scan's order.
     *
     * @throws IllegalArgumentException for a target outside [0, largest grid sparsity]
     */
    public static Map<String, Double> allocate(Result scan, double target) {
        if (scan == null) throw new IllegalArgumentException("scan: must not be null");
        double[] g = new double[scan.sparsities().length + 1];              // grid with 0 first
        System.arraycopy(scan.sparsities(), 0, g, 1, scan.sparsities().length);
        double max = g[g.length - 1];
        if (!(target >= 0 && target <= max)) {
            throw new IllegalArgumentException("target " + target + " is outside [0, " + max + "] (the scan's largest sparsity)");
        }
        int layers = scan.layers().size();
        long total = 0;
        for (long p : scan.parameters()) total += p;
        double need = target * total;                                        // weights to prune
        int[] level = new int[layers];
        double[] s = new double[layers];
        double pruned = 0;
        while (need - pruned > 1e-9 * total) {
            int best = -1;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int l = 0; l < layers; l++) {
                int i = level[l];
                if (i + 1 >= g.length) continue;
                double d0 = i == 0 ? 0 : scan.delta()[l][i - 1], d1 = scan.delta()[l][i];
                double cost = (d1 - d0) / (scan.parameters()[l] * (g[i + 1] - g[i]));
                if (cost < bestCost) {
                    bestCost = cost;
                    best = l;
                }
            }
            int i = level[best];
            double step = scan.parameters()[best] * (g[i + 1] - g[i]);
            if (pruned + step >= need) {                                     // the last step, in part
                s[best] = g[i] + (need - pruned) / scan.parameters()[best];
                pruned = need;
            } else {
                level[best] = i + 1;
                s[best] = g[i + 1];
                pruned += step;
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) out.put(scan.layers().get(l), s[l]);
        return out;
    }

    /** The parameter-weighted mean sparsity of an allocation over the scan's layers. */
    public static double meanSparsity(Result scan, Map<String, Double> allocation) {
        double sum = 0, total = 0;
        List<String> names = new ArrayList<>(scan.layers());
        for (int l = 0; l < names.size(); l++) {
            sum += scan.parameters()[l] * allocation.get(names.get(l));
            total += scan.parameters()[l];
        }
        return sum / total;
    }
}
