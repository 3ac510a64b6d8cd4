package org.distillery.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;

/**
 * Structured pruning of a {@link Gpt}: whole attention heads, FFN neurons or layers ({@link Structure}) are
 * removed, and the result is a new model with physically smaller tensors (it saves and loads as a normal
 * model directory). Heads removed from layer l go into the config's {@code pruned_heads} (original indices,
 * Hugging Face's convention), uneven MLP widths into {@code n_inner_per_layer}, removed layers shrink
 * {@code n_layer} (the later blocks are renumbered); see {@link Gpt2Config}.
 *
 * <p>Removing a unit computes exactly what zeroing its parameters computed before ({@link Structure#zero}: a
 * head whose c_proj columns are 0 adds nothing to the residual stream; a neuron whose c_proj column is 0
 * likewise; a layer whose parameters are 0 adds 0 on both branches), which the tests check on the logits.
 *
 * <p>Selection ({@link #select}): units are ranked by a {@link StructureImportance} score; {@link
 * MagnitudePruning.Scope#LAYER} removes round(f * n_l) of the n_l units of every layer, {@link
 * MagnitudePruning.Scope#GLOBAL} removes the round(f * total) lowest-scoring units of the whole model
 * (layers: always global). At least one head and one neuron must remain in every layer and one layer in the
 * model; a selection that would remove them all is refused with a message naming the layer.
 */
public final class StructuredPruning {
    private StructuredPruning() {}

    /**
     * A structured pruning run.
     *
     * @param model           the new, smaller model
     * @param structure       what was removed
     * @param removed         per layer of the source model, the (source) indices of the units removed (for
     *                        {@link Structure#LAYER}: {@code removed[l]} is {0} or empty)
     * @param scores          the importance scores the selection used, [layer][unit]
     * @param parametersBefore parameter count of the source model
     * @param parametersAfter  parameter count of the new model
     */
    public record Result(Gpt model, Structure structure, int[][] removed, double[][] scores, long parametersBefore,
                         long parametersAfter) {}

    /**
     * Scores the units of {@code model} by {@code criterion} on {@code windows}, removes the fraction {@code f}
     * with the lowest scores and returns the new model (the source is not changed).
     */
    public static Result prune(Gpt model, Structure structure, StructureImportance.Criterion criterion, double f,
                               MagnitudePruning.Scope scope, List<int[]> windows) {
        MagnitudePruning.checkSparsity(f);
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        PruningMask.requireFinite(model.parameters(), org.distillery.quant.LinearLayers.names(model));
        double[][] scores = StructureImportance.scores(model, structure, criterion, windows);
        int[][] removed = select(scores, f, scope, structure);
        Gpt out = remove(model, structure, removed);
        return new Result(out, structure, removed, scores, model.parameterCount(), out.parameterCount());
    }

    /**
     * The units to remove: per layer, the ascending indices of the lowest-scoring units (ties: lower index first).
     *
     * @throws IllegalArgumentException when every head or neuron of a layer, or every layer, would go
     */
    public static int[][] select(double[][] scores, double f, MagnitudePruning.Scope scope, Structure structure) {
        MagnitudePruning.checkSparsity(f);
        if (scores == null || scope == null || structure == null) {
            throw new IllegalArgumentException("scores, scope, structure: must not be null");
        }
        int layers = scores.length;
        boolean[][] keep = new boolean[layers][];
        for (int l = 0; l < layers; l++) {
            keep[l] = new boolean[scores[l].length];
            Arrays.fill(keep[l], true);
        }
        String unit = structure == Structure.HEAD ? "heads" : structure == Structure.NEURON ? "neurons" : "layers";
        if (scope == MagnitudePruning.Scope.LAYER && structure != Structure.LAYER) {
            for (int l = 0; l < layers; l++) {
                int k = Ranking.count(f, scores[l].length);
                if (k >= scores[l].length) {
                    throw new IllegalArgumentException("sparsity " + f + " removes round(" + f + " x " + scores[l].length + ") = "
                            + k + " of the " + scores[l].length + " " + unit + " of layer " + l + "; at least one must remain"
                            + " (use a sparsity below " + maxFraction(scores[l].length) + ")");
                }
                Ranking.pruneSmallest(scores[l], 0, scores[l].length, k, keep[l]);
            }
        } else {
            int total = 0;
            for (double[] s : scores) total += s.length;
            double[] all = new double[total];
            int off = 0;
            for (double[] s : scores) {
                System.arraycopy(s, 0, all, off, s.length);
                off += s.length;
            }
            boolean[] k = new boolean[total];
            Arrays.fill(k, true);
            int count = Ranking.count(f, total);
            if (count >= total) {
                throw new IllegalArgumentException("sparsity " + f + " removes all " + total + " " + unit + "; at least one must"
                        + " remain (use a sparsity below " + maxFraction(total) + ")");
            }
            Ranking.pruneSmallest(all, 0, total, count, k);
            off = 0;
            for (int l = 0; l < layers; l++) {
                System.arraycopy(k, off, keep[l], 0, scores[l].length);
                off += scores[l].length;
                if (structure != Structure.LAYER && !anyTrue(keep[l])) {
                    throw new IllegalArgumentException("sparsity " + f + " (global) removes all " + scores[l].length + " " + unit
                            + " of layer " + l + "; at least one must remain in every layer (use a lower sparsity or"
                            + " layer-wise selection)");
                }
            }
        }
        int[][] removed = new int[layers][];
        for (int l = 0; l < layers; l++) {
            List<Integer> r = new ArrayList<>();
            for (int i = 0; i < keep[l].length; i++) if (!keep[l][i]) r.add(i);
            removed[l] = r.stream().mapToInt(Integer::intValue).toArray();
        }
        return removed;
    }

    /** The largest fraction f &lt; 1 with round(f n) &lt; n, rounded down to 3 decimals: (n - 0.5) / n. */
    private static String maxFraction(int n) {
        return String.format(java.util.Locale.ROOT, "%.3f", Math.floor((n - 0.5) / n * 1000) / 1000);
    }

    private static boolean anyTrue(boolean[] b) {
        for (boolean x : b) if (x) return true;
        return false;
    }

    /** A new model without the given units ({@code which[l]}: indices in layer l of {@code model}). */
    public static Gpt remove(Gpt model, Structure structure, int[][] which) {
        return switch (structure) {
            case HEAD -> removeHeads(model, which);
            case NEURON -> removeNeurons(model, which);
            case LAYER -> {
                List<Integer> layers = new ArrayList<>();
                for (int l = 0; l < which.length; l++) if (which[l].length > 0) layers.add(l);
                yield removeLayers(model, layers.stream().mapToInt(Integer::intValue).toArray());
            }
        };
    }

    /** A new model without heads {@code heads[l]} (current indices) of each layer l. */
    public static Gpt removeHeads(Gpt model, int[][] heads) {
        Gpt2Config c = model.config();
        int layers = c.nLayer();
        checkPerLayer(heads, layers, "heads");
        int[][] prunedOriginal = new int[layers][];
        int[][] keptCurrent = new int[layers][];
        int[] inner = new int[layers];
        for (int l = 0; l < layers; l++) {
            int count = c.headCount(l);
            TreeSet<Integer> drop = indexSet(heads[l], count, "heads", l);
            int[] original = keptOriginalHeads(c, l);                 // current index -> original index
            TreeSet<Integer> pruned = new TreeSet<>();
            for (int h : c.prunedHeads(l)) pruned.add(h);
            for (int h : drop) pruned.add(original[h]);
            prunedOriginal[l] = pruned.stream().mapToInt(Integer::intValue).toArray();
            keptCurrent[l] = complement(drop, count);
            inner[l] = c.innerSize(l);
        }
        Gpt out = newModel(model, c.withStructure(layers, prunedOriginal, inner));
        int hs = c.headSize(), e = c.nEmbd();
        for (Map.Entry<String, FloatTensor> en : out.parameters().entrySet()) {
            String name = en.getKey();
            FloatTensor src = model.parameters().get(name), dst = en.getValue();
            int l = layerOf(name);
            if (l >= 0 && name.endsWith("attn.c_attn.weight")) {
                copyRows(src, dst, qkvRows(keptCurrent[l], hs, c.attentionWidth(l)), e);
            } else if (l >= 0 && name.endsWith("attn.c_attn.bias")) {
                copyRows(src, dst, qkvRows(keptCurrent[l], hs, c.attentionWidth(l)), 1);
            } else if (l >= 0 && name.endsWith("attn.c_proj.weight")) {
                copyCols(src, dst, headCols(keptCurrent[l], hs));
            } else {
                dst.copyFrom(src.toFloatArray());
            }
        }
        return out;
    }

    /** A new model without neurons {@code neurons[l]} of each layer's MLP. */
    public static Gpt removeNeurons(Gpt model, int[][] neurons) {
        Gpt2Config c = model.config();
        int layers = c.nLayer();
        checkPerLayer(neurons, layers, "neurons");
        int[][] pruned = new int[layers][];
        int[][] kept = new int[layers][];
        int[] inner = new int[layers];
        for (int l = 0; l < layers; l++) {
            TreeSet<Integer> drop = indexSet(neurons[l], c.innerSize(l), "neurons", l);
            kept[l] = complement(drop, c.innerSize(l));
            inner[l] = kept[l].length;
            pruned[l] = c.prunedHeads(l);
        }
        Gpt out = newModel(model, c.withStructure(layers, pruned, inner));
        int e = c.nEmbd();
        for (Map.Entry<String, FloatTensor> en : out.parameters().entrySet()) {
            String name = en.getKey();
            FloatTensor src = model.parameters().get(name), dst = en.getValue();
            int l = layerOf(name);
            if (l >= 0 && name.endsWith("mlp.c_fc.weight")) {
                copyRows(src, dst, kept[l], e);
            } else if (l >= 0 && name.endsWith("mlp.c_fc.bias")) {
                copyRows(src, dst, kept[l], 1);
            } else if (l >= 0 && name.endsWith("mlp.c_proj.weight")) {
                copyCols(src, dst, kept[l]);
            } else {
                dst.copyFrom(src.toFloatArray());
            }
        }
        return out;
    }

    /** A new model without the blocks {@code layers} (the others keep their order and are renumbered). */
    public static Gpt removeLayers(Gpt model, int[] layers) {
        Gpt2Config c = model.config();
        TreeSet<Integer> drop = indexSet(layers, c.nLayer(), "layers", -1);
        int[] kept = complement(drop, c.nLayer());
        if (kept.length == 0) {
            throw new IllegalArgumentException("layers: removing all " + c.nLayer() + " layers; at least one must remain");
        }
        int[][] pruned = new int[kept.length][];
        int[] inner = new int[kept.length];
        for (int i = 0; i < kept.length; i++) {
            pruned[i] = c.prunedHeads(kept[i]);
            inner[i] = c.innerSize(kept[i]);
        }
        Gpt out = newModel(model, c.withStructure(kept.length, pruned, inner));
        for (Map.Entry<String, FloatTensor> en : out.parameters().entrySet()) {
            String name = en.getKey();
            int l = layerOf(name);
            String srcName = l < 0 ? name : "h." + kept[l] + name.substring(name.indexOf('.', 2));
            en.getValue().copyFrom(model.parameters().get(srcName).toFloatArray());
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------

    private static Gpt newModel(Gpt model, Gpt2Config config) {
        Gpt out = new Gpt(config, model.maxBatch(), model.maxSequenceLength(), 0);      // every parameter is copied over
        if (!model.isTraining()) out.eval();
        return out;
    }

    /** The original head index of each current head of layer l (the heads not in pruned_heads, in order). */
    static int[] keptOriginalHeads(Gpt2Config c, int l) {
        TreeSet<Integer> pruned = new TreeSet<>();
        for (int h : c.prunedHeads(l)) pruned.add(h);
        return complement(pruned, c.nHead());
    }

    private static void checkPerLayer(int[][] which, int layers, String what) {
        if (which == null || which.length != layers) {
            throw new IllegalArgumentException(what + ": need one index list per layer (" + layers + ")");
        }
    }

    private static TreeSet<Integer> indexSet(int[] idx, int count, String what, int layer) {
        TreeSet<Integer> s = new TreeSet<>();
        String where = layer >= 0 ? " of layer " + layer : "";
        for (int i : idx == null ? new int[0] : idx) {
            if (i < 0 || i >= count || !s.add(i)) {
                throw new IllegalArgumentException(what + ": index " + i + where + " is not a distinct index in [0, " + count + ")");
            }
        }
        if (!what.equals("layers") && s.size() == count) {
            throw new IllegalArgumentException(what + ": removing all " + count + " " + what + where + "; at least one must remain");
        }
        return s;
    }

    private static int[] complement(java.util.Set<Integer> drop, int count) {
        int[] out = new int[count - drop.size()];
        int j = 0;
        for (int i = 0; i < count; i++) if (!drop.contains(i)) out[j++] = i;
        return out;
    }

    /** The layer of a block parameter {@code h.L.*}, or -1. */
    private static int layerOf(String name) {
        if (!name.startsWith("h.")) return -1;
        return Integer.parseInt(name.substring(2, name.indexOf('.', 2)));
    }

    /** Rows of c_attn [3A, E] of the kept heads: Q block, then K, then V, heads in order. */
    private static int[] qkvRows(int[] keptHeads, int hs, int a) {
        int[] rows = new int[3 * keptHeads.length * hs];
        int j = 0;
        for (int p = 0; p < 3; p++) {
            for (int h : keptHeads) for (int i = 0; i < hs; i++) rows[j++] = p * a + h * hs + i;
        }
        return rows;
    }

    private static int[] headCols(int[] keptHeads, int hs) {
        int[] cols = new int[keptHeads.length * hs];
        int j = 0;
        for (int h : keptHeads) for (int i = 0; i < hs; i++) cols[j++] = h * hs + i;
        return cols;
    }

    /** dst [rows.length, width] = src[rows, :] ([*, width] row-major; width 1 for vectors). */
    private static void copyRows(FloatTensor src, FloatTensor dst, int[] rows, int width) {
        float[] s = src.toFloatArray();
        float[] d = new float[rows.length * width];
        for (int r = 0; r < rows.length; r++) System.arraycopy(s, rows[r] * width, d, r * width, width);
        dst.copyFrom(d);
    }

    /** dst [R, cols.length] = src[:, cols] for src [R, C]. */
    private static void copyCols(FloatTensor src, FloatTensor dst, int[] cols) {
        float[] s = src.toFloatArray();
        int r = src.dim(0), w = src.dim(1);
        float[] d = new float[r * cols.length];
        for (int i = 0; i < r; i++) for (int j = 0; j < cols.length; j++) d[i * cols.length + j] = s[i * w + cols[j]];
        dst.copyFrom(d);
    }
}
