package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Save/load through Hugging Face directories, and GPT-2's initialisation statistics. */
class GptCheckpointTest {

    @Test
    void saveThenLoadGivesBitIdenticalParametersAndLogits(@TempDir Path dir) {
        Gpt a = new Gpt(tinyConfig(), B, T, 3);
        randomise(a, 4);
        int[] ids = randomIds(5, B * T, V);
        a.forward(ids, null, B, T);
        float[] before = floats(a.logits());
        a.save(dir);

        Map<String, NamedTensor> file = Safetensors.readAll(dir.resolve(HfCheckpoint.WEIGHTS_FILE));
        assertArrayEquals(new int[] {C, 3 * C}, file.get("h.0.attn.c_attn.weight").shape(), "Conv1D [in, out] on disk");
        assertArrayEquals(new int[] {4 * C, C}, file.get("h.1.mlp.c_proj.weight").shape());
        assertArrayEquals(new int[] {V, C}, file.get("wte.weight").shape());
        assertFalse(file.containsKey("lm_head.weight"));
        assertTrue(file.keySet().stream().noneMatch(n -> n.startsWith("transformer.")));
        // element [in=2, out=5] on disk is our [out=5, in=2]
        assertEquals(a.parameters().get("h.0.attn.c_attn.weight").get(5 * C + 2),
                file.get("h.0.attn.c_attn.weight").data()[2 * 3 * C + 5]);

        Gpt b = Gpt.load(dir, B, T);
        assertEquals(a.config(), b.config());
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(b.parameters().get(e.getKey())), e.getKey());
        }
        b.forward(ids, null, B, T);
        assertArrayEquals(before, floats(b.logits()), "logits after save + load");
    }

    @Test
    void loadsTheTransformerPrefixAndATiedHead(@TempDir Path tmp) throws Exception {
        Gpt a = new Gpt(tinyConfig(), B, T, 8);
        Path plain = tmp.resolve("plain"), prefixed = tmp.resolve("prefixed");
        a.save(plain);
        List<NamedTensor> renamed = new ArrayList<>();
        for (NamedTensor t : Safetensors.readAll(plain.resolve(HfCheckpoint.WEIGHTS_FILE)).values()) {
            renamed.add(new NamedTensor("transformer." + t.name(), t.dtype(), t.shape(), t.data()));
            if (t.name().equals("wte.weight")) renamed.add(new NamedTensor("lm_head.weight", t.dtype(), t.shape(), t.data()));
        }
        Files.createDirectories(prefixed);
        HfCheckpoint.save(prefixed, a.config(), renamed);
        Gpt b = Gpt.load(prefixed, B, T);
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(b.parameters().get(e.getKey())), e.getKey());
        }
    }

    @Test
    void initialisationFollowsGpt2() {
        Gpt2Config cfg = Gpt2Config.of(256, 64, 64, 4, 4);
        Gpt g = new Gpt(cfg, 1, 64, 42);
        double projStd = 0.02 / Math.sqrt(2 * 4);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            String n = e.getKey();
            double[] d = e.getValue().toDoubleArray();
            double mean = 0, sq = 0;
            for (double x : d) { mean += x; sq += x * x; }
            mean /= d.length;
            double std = Math.sqrt(sq / d.length - mean * mean);
            if (n.endsWith(".bias")) {
                assertEquals(0, sq, n);
            } else if (n.startsWith("ln_f") || n.contains(".ln_")) {
                assertEquals(d.length, mean * d.length, 1e-9, n + " gains are 1");
                assertEquals(0, std, 1e-9, n);
            } else {
                double expect = n.endsWith("c_proj.weight") ? projStd : 0.02;
                // sample std of >= 4096 normals: within 5 % of the target
                assertEquals(expect, std, 0.05 * expect, n + " std");
                assertEquals(0, mean, 4 * expect / Math.sqrt(d.length), n + " mean");
            }
        }
        Gpt same = new Gpt(cfg, 1, 64, 42);
        assertArrayEquals(floats(g.parameters().get("h.3.mlp.c_fc.weight")),
                floats(same.parameters().get("h.3.mlp.c_fc.weight")), "same seed, same weights");
        long expectCount = 256L * 64 + 64L * 64 + 4L * (12L * 64 * 64 + 13L * 64) + 2L * 64;
        assertEquals(expectCount, g.parameterCount());
    }

    static float[] floats(FloatTensor t) {
        float[] f = new float[t.size()];
        for (int i = 0; i < f.length; i++) f[i] = t.get(i);
        return f;
    }
}
