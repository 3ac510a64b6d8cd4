package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.CheckpointFormatException;
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

import static org.distillery.model.BertTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Save/load through Hugging Face directories, and BERT's initialisation statistics. */
class BertCheckpointTest {

    @Test
    void saveThenLoadGivesBitIdenticalParametersAndLogits(@TempDir Path dir) {
        Bert a = new Bert(tinyConfig(), B, T, 3);
        randomise(a, 4);
        int[] ids = randomIds(5, B * T, 0, V), types = segments(B, T);
        a.forward(ids, types, LENGTHS, null, B, T);
        float[] before = floats(a.logits());
        a.save(dir);

        Map<String, NamedTensor> file = Safetensors.readAll(dir.resolve(HfCheckpoint.WEIGHTS_FILE));
        assertEquals(a.parameters().keySet(), file.keySet(), "HF names, bert. prefix, head without decoder.*");
        assertArrayEquals(new int[] {I, H}, file.get("bert.encoder.layer.1.intermediate.dense.weight").shape(), "[out, in]");
        assertArrayEquals(new int[] {V}, file.get("cls.predictions.bias").shape());
        assertFalse(file.containsKey("cls.predictions.decoder.weight"));

        Bert b = Bert.load(dir, B, T);
        assertEquals(a.config(), b.config());
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(b.parameters().get(e.getKey())), e.getKey());
        }
        b.forward(ids, types, LENGTHS, null, B, T);
        assertArrayEquals(before, floats(b.logits()), "logits after save + load");
    }

    /** No bert. prefix, an explicit tied decoder (weight = word embeddings, bias = cls.predictions.bias), a pooler. */
    @Test
    void loadsWithoutPrefixWithTiedDecoderAndPooler(@TempDir Path tmp) throws Exception {
        Bert a = new Bert(tinyConfig(), B, T, 8);
        randomise(a, 9);
        Path plain = tmp.resolve("plain"), other = tmp.resolve("other");
        a.save(plain);
        Map<String, NamedTensor> saved = Safetensors.readAll(plain.resolve(HfCheckpoint.WEIGHTS_FILE));
        List<NamedTensor> renamed = new ArrayList<>();
        for (NamedTensor t : saved.values()) {
            String n = t.name().startsWith("bert.") ? t.name().substring(5) : t.name();
            renamed.add(new NamedTensor(n, t.dtype(), t.shape(), t.data()));
        }
        NamedTensor we = saved.get("bert.embeddings.word_embeddings.weight"), bias = saved.get("cls.predictions.bias");
        renamed.add(new NamedTensor("cls.predictions.decoder.weight", we.dtype(), we.shape(), we.data()));
        renamed.add(new NamedTensor("cls.predictions.decoder.bias", bias.dtype(), bias.shape(), bias.data()));
        renamed.add(NamedTensor.f32("pooler.dense.weight", new int[] {H, H}, new float[H * H]));
        renamed.add(NamedTensor.f32("pooler.dense.bias", new int[] {H}, new float[H]));
        Files.createDirectories(other);
        HfCheckpoint.save(other, a.config(), renamed);
        Bert b = Bert.load(other, B, T);
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(b.parameters().get(e.getKey())), e.getKey());
        }

        // an untied decoder is refused, naming the tensor and the element
        float[] untied = we.data().clone();
        untied[5] += 1f;
        renamed.removeIf(t -> t.name().equals("cls.predictions.decoder.weight"));
        renamed.add(new NamedTensor("cls.predictions.decoder.weight", we.dtype(), we.shape(), untied));
        Path bad = tmp.resolve("untied");
        Files.createDirectories(bad);
        HfCheckpoint.save(bad, a.config(), renamed);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Bert.load(bad, B, T));
        assertTrue(e.getMessage().contains("cls.predictions.decoder.weight") && e.getMessage().contains("element 5"),
                e.getMessage());

        // a bare BertModel (no MLM head) is refused
        List<NamedTensor> bare = new ArrayList<>();
        for (NamedTensor t : saved.values()) if (t.name().startsWith("bert.")) bare.add(t);
        Path headless = tmp.resolve("headless");
        Files.createDirectories(headless);
        HfCheckpoint.save(headless, a.config(), bare);
        CheckpointFormatException h = assertThrows(CheckpointFormatException.class, () -> Bert.load(headless, B, T));
        assertTrue(h.getMessage().contains("cls.predictions"), h.getMessage());
    }

    @Test
    void initialisationFollowsBert() {
        BertConfig cfg = BertConfig.of(256, 64, 2, 4, 128);
        Bert m = new Bert(cfg, 1, 64, 42);
        for (Map.Entry<String, FloatTensor> e : m.parameters().entrySet()) {
            String n = e.getKey();
            double[] d = e.getValue().toDoubleArray();
            double mean = 0, sq = 0;
            for (double x : d) { mean += x; sq += x * x; }
            mean /= d.length;
            double std = Math.sqrt(sq / d.length - mean * mean);
            if (n.endsWith("bias")) {
                assertEquals(0, sq, n);
            } else if (n.contains("LayerNorm")) {
                assertEquals(d.length, mean * d.length, 1e-9, n + " gains are 1");
                assertEquals(0, std, 1e-9, n);
            } else if (d.length >= 4096) {
                assertEquals(0.02, std, 0.05 * 0.02, n + " std");       // >= 4096 normals: within 5 %
                assertEquals(0, mean, 4 * 0.02 / Math.sqrt(d.length), n + " mean");
            }
        }
        FloatTensor we = m.parameters().get("bert.embeddings.word_embeddings.weight");
        for (int j = 0; j < 64; j++) assertEquals(0f, we.get(j), "padding row (pad_token_id 0) is zero");
        Bert same = new Bert(cfg, 1, 64, 42);
        assertArrayEquals(floats(m.parameters().get("bert.encoder.layer.1.attention.self.value.weight")),
                floats(same.parameters().get("bert.encoder.layer.1.attention.self.value.weight")), "same seed, same weights");
        long perLayer = 4L * (64 * 64 + 64) + 2L * 64 * 128 + 128 + 64 + 4L * 64;
        long expect = 256L * 64 + 512L * 64 + 2L * 64 + 2 * 64 + 2 * perLayer + (64L * 64 + 64) + 2 * 64 + 256;
        assertEquals(expect, m.parameterCount());
    }
}
