package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.prune.MagnitudePruning.Scope;
import org.distillery.prune.StructureImportance.Criterion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Structured pruning on a random GPT (vocabulary 40, context 12, E = 32, 3 layers of 4 heads, MLP 128): removing
 * heads, neurons and layers gives the logits that zeroing them gave (max |diff| &lt;= 1e-5), the smaller model
 * saves and loads with the same logits and is smaller (parameters, bytes); the importance scores match direct
 * computations; the selection rules and their errors.
 */
class StructuredPruningTest {
    static final int V = 40, T = 12, E = 32, L = 3, NH = 4, B = 2;

    static Gpt model(long seed) {
        Gpt g = new Gpt(Gpt2Config.of(V, T, E, L, NH), B, T, seed);
        Random r = new Random(seed + 1);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            FloatTensor p = e.getValue();
            boolean gain = e.getKey().contains("ln_") && e.getKey().endsWith(".weight");
            for (int i = 0; i < p.size(); i++) {
                double z = r.nextGaussian();
                p.set(i, (float) (gain ? 1 + 0.1 * z : e.getKey().endsWith(".bias") ? 0.05 * z : 0.15 * z));
            }
        }
        return g;
    }

    static int[] ids(long seed) {
        Random r = new Random(seed);
        int[] ids = new int[B * T];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(V);
        return ids;
    }

    static float[] logits(Gpt g, int[] ids) {
        g.eval().forward(ids, null, B, T);
        return g.logits().toFloatArray();
    }

    static Gpt copy(Gpt g) {
        Gpt c = new Gpt(g.config(), B, T, 0);
        g.parameters().forEach((n, p) -> c.parameters().get(n).copyFrom(p.toFloatArray()));
        return c;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static List<int[]> windows(int count, long seed) {
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < count; i++) w.add(ids(seed + i));
        List<int[]> out = new ArrayList<>();
        for (int[] x : w) out.add(java.util.Arrays.copyOf(x, T));
        return out;
    }

    @Test
    void removingHeadsEqualsZeroingThem(@TempDir Path dir) throws Exception {
        Gpt g = model(1);
        int[] ids = ids(3);
        float[] dense = logits(g, ids);
        int[][] heads = {{1}, {}, {0, 3}};
        Gpt zeroed = copy(g);
        Structure.HEAD.zero(zeroed, 0, 1);
        Structure.HEAD.zero(zeroed, 2, 0);
        Structure.HEAD.zero(zeroed, 2, 3);
        float[] want = logits(zeroed, ids);
        assertTrue(maxAbsDiff(dense, want) > 1e-2, "zeroing heads changes the logits: " + maxAbsDiff(dense, want));

        Gpt small = StructuredPruning.removeHeads(g, heads);
        double d = maxAbsDiff(want, logits(small, ids));
        System.out.printf("heads removed vs zeroed: max |logit diff| %.2e%n", d);
        assertTrue(d <= 1e-5, "max |diff| " + d);
        assertArrayEquals(new int[] {1}, small.config().prunedHeads(0));
        assertArrayEquals(new int[] {0, 3}, small.config().prunedHeads(2));
        assertArrayEquals(new int[] {3 * 24, E}, small.parameters().get("h.0.attn.c_attn.weight").shape());
        assertArrayEquals(new int[] {E, 16}, small.parameters().get("h.2.attn.c_proj.weight").shape());
        // 3 heads of 8: each head has 3*8 rows of E + 3*8 bias entries + 8 columns of E in c_proj = 4*8*32 + 24
        assertEquals(g.parameterCount() - 3L * (4 * 8 * E + 24), small.parameterCount());

        Path full = dir.resolve("full"), pruned = dir.resolve("pruned");
        g.save(full);
        small.save(pruned);
        Gpt loaded = Gpt.load(pruned, B, T);
        assertEquals(small.config(), loaded.config());
        assertArrayEquals(logits(small, ids), logits(loaded, ids), "saved and loaded: same logits");
        long saved = Files.size(pruned.resolve("model.safetensors")), before = Files.size(full.resolve("model.safetensors"));
        assertTrue(before - saved >= 4L * 3 * (4 * 8 * E + 24), before + " -> " + saved + " bytes");

        // pruning again: current head 1 of layer 0 is original head 2
        Gpt twice = StructuredPruning.removeHeads(small, new int[][] {{1}, {}, {}});
        assertArrayEquals(new int[] {1, 2}, twice.config().prunedHeads(0));
        Structure.HEAD.zero(zeroed, 0, 2);
        assertTrue(maxAbsDiff(logits(zeroed, ids), logits(twice, ids)) <= 1e-5);
    }

    @Test
    void removingNeuronsEqualsZeroingThem(@TempDir Path dir) {
        Gpt g = model(2);
        int[] ids = ids(4);
        int[][] neurons = {{0, 5, 127}, {}, new int[64]};
        for (int i = 0; i < 64; i++) neurons[2][i] = 2 * i;
        Gpt zeroed = copy(g);
        for (int l = 0; l < L; l++) for (int j : neurons[l]) Structure.NEURON.zero(zeroed, l, j);
        float[] want = logits(zeroed, ids);
        assertTrue(maxAbsDiff(logits(g, ids), want) > 1e-2);
        Gpt small = StructuredPruning.removeNeurons(g, neurons);
        double d = maxAbsDiff(want, logits(small, ids));
        System.out.printf("neurons removed vs zeroed: max |logit diff| %.2e%n", d);
        assertTrue(d <= 1e-5, "max |diff| " + d);
        assertEquals(List.of(125, 128, 64), List.of(small.config().innerSize(0), small.config().innerSize(1),
                small.config().innerSize(2)));
        assertEquals(g.parameterCount() - 67L * (2 * E + 1), small.parameterCount());
        small.save(dir);
        assertArrayEquals(logits(small, ids), logits(Gpt.load(dir, B, T), ids));
    }

    @Test
    void removingLayersEqualsZeroingThem(@TempDir Path dir) {
        Gpt g = model(3);
        int[] ids = ids(5);
        Gpt zeroed = copy(g);
        Structure.LAYER.zero(zeroed, 1, 0);
        float[] want = logits(zeroed, ids);
        Gpt small = StructuredPruning.removeLayers(g, new int[] {1});
        assertEquals(2, small.config().nLayer());
        double d = maxAbsDiff(want, logits(small, ids));
        assertTrue(d <= 1e-5, "max |diff| " + d);
        assertArrayEquals(g.parameters().get("h.2.mlp.c_fc.weight").toFloatArray(),
                small.parameters().get("h.1.mlp.c_fc.weight").toFloatArray(), "block 2 renumbered to 1");
        small.save(dir);
        assertArrayEquals(logits(small, ids), logits(Gpt.load(dir, B, T), ids));
        // a neuron and head pruned model keeps its structure when a layer goes
        Gpt mixed = StructuredPruning.removeLayers(StructuredPruning.removeNeurons(
                StructuredPruning.removeHeads(g, new int[][] {{}, {}, {2}}), new int[][] {{1}, {}, {}}), new int[] {1});
        assertEquals(127, mixed.config().innerSize(0));
        assertArrayEquals(new int[] {2}, mixed.config().prunedHeads(1));
    }

    @Test
    void weightNormScoresAreTheNormsOfTheUnitsParameters() {
        Gpt g = model(4);
        double[][] s = StructureImportance.scores(g, Structure.HEAD, Criterion.WEIGHT_NORM, null);
        // head 2 of layer 1 by hand: Q, K, V rows 16..23, 48..55, 80..87 of c_attn and its bias; c_proj columns 16..23
        float[] attn = g.parameters().get("h.1.attn.c_attn.weight").toFloatArray();
        float[] bias = g.parameters().get("h.1.attn.c_attn.bias").toFloatArray();
        float[] proj = g.parameters().get("h.1.attn.c_proj.weight").toFloatArray();
        double sq = 0;
        for (int p = 0; p < 3; p++) {
            for (int i = 0; i < 8; i++) {
                int row = p * E + 16 + i;
                for (int c = 0; c < E; c++) sq += attn[row * E + c] * (double) attn[row * E + c];
                sq += bias[row] * (double) bias[row];
            }
        }
        for (int r = 0; r < E; r++) for (int i = 16; i < 24; i++) sq += proj[r * E + i] * (double) proj[r * E + i];
        assertEquals(Math.sqrt(sq), s[1][2], 1e-12 * Math.sqrt(sq));
        double[][] n = StructureImportance.scores(g, Structure.NEURON, Criterion.WEIGHT_NORM, null);
        assertEquals(128, n[0].length);
        float[] fc = g.parameters().get("h.0.mlp.c_fc.weight").toFloatArray();
        float[] fcb = g.parameters().get("h.0.mlp.c_fc.bias").toFloatArray();
        float[] mp = g.parameters().get("h.0.mlp.c_proj.weight").toFloatArray();
        double q = fcb[7] * (double) fcb[7];
        for (int c = 0; c < E; c++) q += fc[7 * E + c] * (double) fc[7 * E + c] + mp[c * 128 + 7] * (double) mp[c * 128 + 7];
        assertEquals(Math.sqrt(q), n[0][7], 1e-12 * Math.sqrt(q));
    }

    /** Activation scores against the contributions computed directly from one forward's buffers (one batch). */
    @Test
    void activationScoresAreTheRmsContributions() {
        Gpt g = model(5);
        List<int[]> w = windows(B, 50);
        double[][] heads = StructureImportance.scores(g, Structure.HEAD, Criterion.ACTIVATION, w);
        double[][] neurons = StructureImportance.scores(g, Structure.NEURON, Criterion.ACTIVATION, w);
        double[][] layers = StructureImportance.scores(g, Structure.LAYER, Criterion.ACTIVATION, w);
        int[] batch = new int[B * T];
        for (int i = 0; i < B; i++) System.arraycopy(w.get(i), 0, batch, i * T, T);
        g.train().forward(batch, null, B, T);
        int n = B * T;
        float[] o = g.linearInput("h.1.attn.c_proj.weight").toFloatArray();       // [N, E]
        float[] wp = g.parameters().get("h.1.attn.c_proj.weight").toFloatArray();   // [E, E]
        double sq = 0;
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < E; r++) {
                double y = 0;
                for (int i = 8; i < 16; i++) y += wp[r * E + i] * (double) o[t * E + i];   // head 1's contribution
                sq += y * y;
            }
        }
        assertEquals(Math.sqrt(sq / n), heads[1][1], 1e-9 * heads[1][1]);
        float[] gl = g.linearInput("h.2.mlp.c_proj.weight").toFloatArray();        // [N, 128]
        float[] mp = g.parameters().get("h.2.mlp.c_proj.weight").toFloatArray();
        double s2 = 0;
        for (int t = 0; t < n; t++) for (int r = 0; r < E; r++) s2 += Math.pow(gl[t * 128 + 9] * (double) mp[r * 128 + 9], 2);
        assertEquals(Math.sqrt(s2 / n), neurons[2][9], 1e-9 * neurons[2][9]);
        // layer 0: block output minus block input = attention + MLP branch outputs
        Gpt zeroed = copy(g);
        Structure.LAYER.zero(zeroed, 0, 0);
        g.forward(batch, null, B, T);
        assertTrue(layers[0][0] > 0.1 && layers[1][0] > 0.1 && layers[2][0] > 0.1, java.util.Arrays.deepToString(layers));
        FloatTensor x0 = g.embed(batch, B, T);
        float[] in = x0.toFloatArray();
        float[] out = g.forwardBlock(0, x0, B, T).toFloatArray();
        double d = 0;
        for (int i = 0; i < in.length; i++) d += Math.pow(out[i] - (double) in[i], 2);
        assertEquals(Math.sqrt(d / n), layers[0][0], 1e-9 * layers[0][0]);
    }

    /** Taylor scores against sum |w dL/dw| from one explicit forward/backward (one batch of windows). */
    @Test
    void taylorScoresAreSumsOfWeightTimesGradient() {
        Gpt g = model(6);
        List<int[]> w = windows(B, 70);
        double[][] heads = StructureImportance.scores(g, Structure.HEAD, Criterion.TAYLOR, w);
        double[][] layers = StructureImportance.scores(g, Structure.LAYER, Criterion.TAYLOR, w);
        int[] batch = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < B; i++) System.arraycopy(w.get(i), 0, batch, i * T, T);
        for (int i = 0; i < batch.length; i++) targets[i] = (i + 1) % T == 0 ? Gpt.IGNORE_INDEX : batch[i + 1];
        g.train().zeroGrad();
        g.forward(batch, targets, B, T);
        g.backward();
        float[] p = g.parameters().get("h.0.attn.c_proj.weight").toFloatArray();
        float[] gr = g.gradients().get("h.0.attn.c_proj.weight").toFloatArray();
        float[] a = g.parameters().get("h.0.attn.c_attn.weight").toFloatArray();
        float[] ga = g.gradients().get("h.0.attn.c_attn.weight").toFloatArray();
        float[] ab = g.parameters().get("h.0.attn.c_attn.bias").toFloatArray();
        float[] gab = g.gradients().get("h.0.attn.c_attn.bias").toFloatArray();
        double s = 0;
        for (int r = 0; r < E; r++) for (int i = 24; i < 32; i++) s += Math.abs(p[r * E + i] * (double) gr[r * E + i]);
        for (int part = 0; part < 3; part++) {
            for (int i = 24; i < 32; i++) {
                int row = part * E + i;
                for (int c = 0; c < E; c++) s += Math.abs(a[row * E + c] * (double) ga[row * E + c]);
                s += Math.abs(ab[row] * (double) gab[row]);
            }
        }
        assertEquals(s, heads[0][3], 1e-9 * s);
        double all = 0;
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            if (!e.getKey().startsWith("h.2.")) continue;
            float[] v = e.getValue().toFloatArray(), gv = g.gradients().get(e.getKey()).toFloatArray();
            for (int i = 0; i < v.length; i++) all += Math.abs(v[i] * (double) gv[i]);
        }
        assertEquals(all, layers[2][0], 1e-9 * all);
    }

    @Test
    void selectionIsLayerWiseOrGlobalAndRefusesEmptyLayers() {
        double[][] s = {{0.5, 0.1, 0.9, 0.3}, {0.05, 0.02, 0.8, 0.6}, {2.0, 1.0, 3.0, 4.0}};
        int[][] layer = StructuredPruning.select(s, 0.5, Scope.LAYER, Structure.HEAD);
        assertArrayEquals(new int[][] {{1, 3}, {0, 1}, {0, 1}}, layer);
        int[][] global = StructuredPruning.select(s, 0.5, Scope.GLOBAL, Structure.HEAD);    // 6 lowest of 12
        assertArrayEquals(new int[][] {{0, 1, 3}, {0, 1, 3}, {}}, global);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StructuredPruning.select(s, 0.75, Scope.GLOBAL, Structure.HEAD));
        assertEquals("sparsity 0.75 (global) removes all 4 heads of layer 0; at least one must remain in every layer (use a"
                + " lower sparsity or layer-wise selection)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StructuredPruning.select(s, 0.9, Scope.LAYER, Structure.HEAD));
        assertEquals("sparsity 0.9 removes round(0.9 x 4) = 4 of the 4 heads of layer 0; at least one must remain (use a"
                + " sparsity below 0.875)", e.getMessage());
        int[][] layers = StructuredPruning.select(new double[][] {{3}, {1}, {2}}, 0.34, Scope.LAYER, Structure.LAYER);
        assertArrayEquals(new int[][] {{}, {0}, {}}, layers);
        e = assertThrows(IllegalArgumentException.class, () -> StructuredPruning.removeHeads(model(7), new int[][] {{0, 1, 2, 3}, {}, {}}));
        assertEquals("heads: removing all 4 heads of layer 0; at least one must remain", e.getMessage());
    }

    /** The end-to-end entry point: Taylor-scored heads, global, 25 %: the removed heads are the lowest scores. */
    @Test
    void pruneRemovesTheLowestScoringUnits() {
        Gpt g = model(8);
        List<int[]> w = windows(4, 90);
        StructuredPruning.Result r = StructuredPruning.prune(g, Structure.HEAD, Criterion.TAYLOR, 0.25, Scope.GLOBAL, w);
        int removed = 0;
        double maxRemoved = 0, minKept = Double.MAX_VALUE;
        for (int l = 0; l < L; l++) {
            removed += r.removed()[l].length;
            for (int k = 0; k < NH; k++) {
                final int unit = k;
                boolean gone = java.util.Arrays.stream(r.removed()[l]).anyMatch(x -> x == unit);
                if (gone) maxRemoved = Math.max(maxRemoved, r.scores()[l][k]);
                else minKept = Math.min(minKept, r.scores()[l][k]);
            }
        }
        assertEquals(3, removed);
        assertTrue(maxRemoved <= minKept, maxRemoved + " vs " + minKept);
        assertEquals(g.parameterCount() - 3L * (4 * 8 * E + 24), r.parametersAfter());
        assertEquals(g.parameterCount(), r.parametersBefore());
    }
}
