package org.distillery.model;

import static org.distillery.model.GptTestSupport.B;
import static org.distillery.model.GptTestSupport.T;
import static org.distillery.model.GptTestSupport.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GPT whose layers differ in heads and MLP width (a structurally pruned model: {@code pruned_heads},
 * {@code n_inner_per_layer}): tensor shapes, backward against finite differences, evaluation mode bit for bit
 * equal to training mode (buffers shared by layers of one size), save/load, and the config's validation.
 */
class GptPerLayerStructureTest {
    static final int C = 16, NH = 4;

    /** 4 layers of C = 16, n_head 4 (head size 4): heads 3, 4, 2, 4; MLP widths 64, 24, 40, 24 (layer 3 = layer 1's size). */
    static Gpt2Config unevenConfig() {
        return Gpt2Config.of(V, T, C, 4, NH).withStructure(4, new int[][] {{1}, {}, {3, 0}, {}}, new int[] {64, 24, 40, 24});
    }

    @Test
    void shapesFollowThePerLayerStructure() {
        Gpt2Config cfg = unevenConfig();
        assertArrayEquals(new int[] {0, 3}, cfg.prunedHeads(2), "sorted");
        assertEquals(List.of(3, 4, 2, 4), IntStream.range(0, 4).mapToObj(cfg::headCount).toList());
        assertEquals(List.of(64, 24, 40, 24), IntStream.range(0, 4).mapToObj(cfg::innerSize).toList());
        assertTrue(cfg.isStructurallyPruned());
        assertFalse(Gpt2Config.of(V, T, C, 4, NH).isStructurallyPruned());
        Gpt g = new Gpt(cfg, B, T, 1);
        Map<String, FloatTensor> p = g.parameters();
        assertArrayEquals(new int[] {3 * 12, C}, p.get("h.0.attn.c_attn.weight").shape());
        assertArrayEquals(new int[] {3 * 12}, p.get("h.0.attn.c_attn.bias").shape());
        assertArrayEquals(new int[] {C, 12}, p.get("h.0.attn.c_proj.weight").shape());
        assertArrayEquals(new int[] {3 * C, C}, p.get("h.1.attn.c_attn.weight").shape());
        assertArrayEquals(new int[] {C, 8}, p.get("h.2.attn.c_proj.weight").shape());
        assertArrayEquals(new int[] {40, C}, p.get("h.2.mlp.c_fc.weight").shape());
        assertArrayEquals(new int[] {C, 24}, p.get("h.3.mlp.c_proj.weight").shape());
        long expected = V * C + T * C + 2 * C;
        int[] a = {12, 16, 8, 16}, inner = {64, 24, 40, 24};
        for (int l = 0; l < 4; l++) {
            expected += 4 * C + (3L * a[l] * C + 3 * a[l]) + ((long) C * a[l] + C) + ((long) inner[l] * C + inner[l])
                    + ((long) C * inner[l] + C);
        }
        assertEquals(expected, g.parameterCount());
    }

    /** Same protocol and tolerance as {@link GptGradientCheckTest}: h = 1e-2, |fd - g| &lt;= 1e-2 |g| + 1e-4. */
    @Test
    void backwardMatchesFiniteDifferences() {
        Gpt g = new Gpt(unevenConfig(), B, T, 1);
        GptTestSupport.randomise(g, 7);
        int[] ids = GptTestSupport.randomIds(11, B * T, V), targets = GptTestSupport.randomIds(12, B * T, V);
        g.zeroGrad();
        g.forward(ids, targets, B, T);
        g.backward();
        GradientCheck check = new GradientCheck(1e-2, 1e-4);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            if (!e.getKey().startsWith("h.")) continue;
            FloatTensor p = e.getValue(), grad = g.gradients().get(e.getKey());
            Integer[] order = IntStream.range(0, p.size()).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(grad.get(i))));
            assertTrue(Math.abs(grad.get(order[0])) > 1e-3, e.getKey() + ": negligible gradients");
            for (int k = 0; k < 3; k++) {
                int i = order[k];
                check.check(e.getKey() + "[" + i + "]", grad.get(i),
                        GradientCheck.centralDifference(p, i, 1e-2f, () -> g.forward(ids, targets, B, T)));
            }
        }
        System.out.println(check.summary(g.parameters().size()));
    }

    @Test
    void evalModeIsBitIdenticalToTrainingMode() {
        Gpt g = new Gpt(unevenConfig(), B, T, 3);
        GptTestSupport.randomise(g, 4);
        int[] ids = GptTestSupport.randomIds(7, B * T, V), targets = GptTestSupport.randomIds(8, B * T, V);
        double trainLoss = g.train().forward(ids, targets, B, T);
        double[] trainLogits = g.logits().toDoubleArray();
        double evalLoss = g.eval().forward(ids, targets, B, T);
        assertEquals(trainLoss, evalLoss, 0.0);
        assertArrayEquals(trainLogits, g.logits().toDoubleArray(), 0.0);
    }

    @Test
    void saveAndLoadKeepTheStructure(@TempDir Path dir) throws Exception {
        Gpt a = new Gpt(unevenConfig(), B, T, 3);
        GptTestSupport.randomise(a, 5);
        int[] ids = GptTestSupport.randomIds(9, B * T, V);
        a.eval().forward(ids, null, B, T);
        double[] before = a.logits().toDoubleArray();
        a.save(dir);
        String json = Files.readString(dir.resolve("config.json"));
        assertTrue(json.contains("\"pruned_heads\" : {\n    \"0\" : [ 1 ],\n    \"2\" : [ 0, 3 ]\n  }"), json);
        assertTrue(json.contains("\"n_inner_per_layer\" : [ 64, 24, 40, 24 ]"), json);
        Map<String, NamedTensor> file = Safetensors.readAll(dir.resolve(HfCheckpoint.WEIGHTS_FILE));
        assertArrayEquals(new int[] {C, 36}, file.get("h.0.attn.c_attn.weight").shape(), "Conv1D [in, 3A]");
        assertArrayEquals(new int[] {8, C}, file.get("h.2.attn.c_proj.weight").shape(), "Conv1D [A, E]");
        Gpt b = Gpt.load(dir, B, T);
        assertEquals(a.config(), b.config());
        b.eval().forward(ids, null, B, T);
        assertArrayEquals(before, b.logits().toDoubleArray(), 0.0);
    }

    @Test
    void uniformWidthsAreWrittenAsNInner() {
        Gpt2Config c = Gpt2Config.of(V, T, C, 2, NH).withStructure(2, new int[][] {{}, {}}, new int[] {48, 48});
        assertEquals(48, c.nInner());
        assertFalse(c.extra().containsKey(Gpt2Config.N_INNER_PER_LAYER));
        assertFalse(c.extra().containsKey(Gpt2Config.PRUNED_HEADS));
        assertEquals(48, c.innerSize(1));
    }

    @Test
    void badStructureFieldsAreRejectedWithTheirValues(@TempDir Path dir) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2Config.of(V, T, C, 2, NH).withStructure(2, new int[][] {{0, 1, 2, 3}, {}}, new int[] {64, 64}));
        assertEquals("field \"pruned_heads\": layer 0 prunes all 4 heads; at least one must remain", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Gpt2Config.of(V, T, C, 2, NH).withStructure(2, new int[][] {{4}, {}}, new int[] {64, 64}));
        assertEquals("field \"pruned_heads\": layer 0: head 4 is not a distinct index in [0, n_head = 4)", e.getMessage());
        new Gpt(Gpt2Config.of(V, T, C, 2, NH), B, T, 1).save(dir);
        String json = Files.readString(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), json.replace("\"n_layer\"", "\"n_inner_per_layer\" : [ 8 ],\n  \"n_layer\""));
        CheckpointFormatException f = assertThrows(CheckpointFormatException.class, () -> Gpt.load(dir, B, T));
        assertTrue(f.getMessage().endsWith("field \"n_inner_per_layer\" = [8] is not a list of n_layer = 2 MLP widths"),
                f.getMessage());
    }
}
