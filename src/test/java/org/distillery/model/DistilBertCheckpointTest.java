package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.DistilBertConfig;
import org.distillery.io.Dtype;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.io.TensorSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.distillery.model.BertTestSupport.floats;
import static org.distillery.model.BertTestSupport.randomIds;
import static org.distillery.model.BertTestSupport.randomise;
import static org.junit.jupiter.api.Assertions.*;

/** DistilBERT directories through {@link DistilBert#load} / {@link DistilBert#save}: round trips, layouts, conversion. */
class DistilBertCheckpointTest {
    private static final int B = 2, T = 12;
    private static final int[] LENGTHS = {T, 9};

    private static Path fixture() throws Exception {
        return DistilBertTorchParityTest.fixtureDir();
    }

    private static float[] logits(Bert m, int[] ids, int[] types) {
        m.forward(ids, types, LENGTHS, null, B, T);
        return floats(m.logits());
    }

    @Test
    void saveThenLoadIsBitExactAndWritesTheHfLayout(@TempDir Path tmp) throws Exception {
        Bert a = DistilBert.load(fixture(), B, T);
        DistilBertConfig cfg = (DistilBertConfig) HfConfig.read(fixture().resolve(HfCheckpoint.CONFIG_FILE));
        Path dir = tmp.resolve("out");
        DistilBert.save(a, cfg, dir);

        // the saved file holds exactly the HF tensors, names and shapes, and the fixture's bits
        Map<String, NamedTensor> original = Safetensors.readAll(fixture().resolve(HfCheckpoint.WEIGHTS_FILE));
        Map<String, NamedTensor> saved = Safetensors.readAll(dir.resolve(HfCheckpoint.WEIGHTS_FILE));
        assertEquals(original.keySet(), saved.keySet());
        Map<String, String> expected = new TreeMap<>();
        for (TensorSpec s : cfg.expectedTensors()) {
            if (s.need() != TensorSpec.Need.OPTIONAL) expected.put(s.name(), java.util.Arrays.toString(s.shape()));
        }
        Map<String, String> actual = new TreeMap<>();
        saved.forEach((n, t) -> actual.put(n, java.util.Arrays.toString(t.longShape())));
        assertEquals(expected, actual, "names and shapes of DistilBertConfig.expectedTensors (no vocab_projector.weight)");
        for (NamedTensor t : saved.values()) {
            assertEquals(Dtype.F32, t.dtype(), t.name());
            assertArrayEquals(original.get(t.name()).data(), t.data(), t.name());
        }
        assertEquals(cfg, HfConfig.read(dir.resolve(HfCheckpoint.CONFIG_FILE)), "config.json round trip");

        Bert b = DistilBert.load(dir, B, T);
        assertEquals(a.config(), b.config());
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            assertArrayEquals(floats(e.getValue()), floats(b.parameters().get(e.getKey())), e.getKey());
        }
        int[] ids = randomIds(1, B * T, 0, 32);
        assertArrayEquals(logits(a, ids, null), logits(b, ids, null), "logits after save + load");
    }

    @Test
    void loadedConfigIsTheEquivalentBert() throws Exception {
        Bert m = DistilBert.load(fixture(), B, T);
        assertEquals(new BertConfig(32, 16, 2, 4, 32, "gelu", 16, 1, 1e-12, Map.of("pad_token_id", 0)), m.config());
        assertEquals(0, m.paddingIndex());
        assertArrayEquals(new float[16], floats(m.parameters().get("bert.embeddings.token_type_embeddings.weight")));
        assertArrayEquals(new int[] {1, 16}, m.parameters().get("bert.embeddings.token_type_embeddings.weight").shape());
        // token types all 0 given explicitly = none given
        int[] ids = randomIds(2, B * T, 0, 32);
        assertArrayEquals(logits(m, ids, null), logits(m, ids, new int[B * T]));
    }

    /** No distilbert. prefix, BF16 storage, an explicit tied vocab_projector.weight and a position_ids buffer. */
    @Test
    void loadsWithoutPrefixInBf16WithTiedProjector(@TempDir Path tmp) throws Exception {
        Map<String, NamedTensor> original = Safetensors.readAll(fixture().resolve(HfCheckpoint.WEIGHTS_FILE));
        List<NamedTensor> renamed = new ArrayList<>();
        for (NamedTensor t : original.values()) {
            String n = t.name().startsWith("distilbert.") ? t.name().substring("distilbert.".length()) : t.name();
            renamed.add(new NamedTensor(n, Dtype.BF16, t.shape(), t.data()));
        }
        NamedTensor we = original.get("distilbert.embeddings.word_embeddings.weight");
        renamed.add(new NamedTensor("vocab_projector.weight", Dtype.BF16, we.shape(), we.data()));
        renamed.add(NamedTensor.f32("embeddings.position_ids", new int[] {1, 16}, new float[16]));
        Path dir = tmp.resolve("bf16");
        HfCheckpoint.save(dir, HfConfig.read(fixture().resolve(HfCheckpoint.CONFIG_FILE)), renamed);

        Bert m = DistilBert.load(dir, B, T);
        Map<String, NamedTensor> asRead = Safetensors.readAll(dir.resolve(HfCheckpoint.WEIGHTS_FILE));
        for (Map.Entry<String, String> e : DistilBert.tensorNames(2).entrySet()) {
            String file = e.getValue().replace("distilbert.", "");
            assertEquals(Dtype.BF16, asRead.get(file).dtype());
            assertArrayEquals(asRead.get(file).data(), floats(m.parameters().get(e.getKey())), e.getKey());
        }
        // BF16 really rounded something, so the values came from this file
        assertFalse(java.util.Arrays.equals(we.data(), floats(m.parameters().get("bert.embeddings.word_embeddings.weight"))));

        // an untied projector is refused, naming the tensor and the element
        float[] untied = asRead.get("vocab_projector.weight").data().clone();
        untied[7] += 1f;
        renamed.removeIf(t -> t.name().equals("vocab_projector.weight"));
        renamed.add(new NamedTensor("vocab_projector.weight", Dtype.BF16, we.shape(), untied));
        Path bad = tmp.resolve("untied");
        HfCheckpoint.save(bad, HfConfig.read(fixture().resolve(HfCheckpoint.CONFIG_FILE)), renamed);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(bad, B, T));
        assertTrue(e.getMessage().contains("vocab_projector.weight") && e.getMessage().contains("element 7"),
                e.getMessage());
    }

    @Test
    void bareDistilBertModelWithoutHeadIsRefused(@TempDir Path tmp) throws Exception {
        List<NamedTensor> bare = new ArrayList<>();
        for (NamedTensor t : Safetensors.readAll(fixture().resolve(HfCheckpoint.WEIGHTS_FILE)).values()) {
            if (t.name().startsWith("distilbert.")) bare.add(t);
        }
        HfCheckpoint.save(tmp, HfConfig.read(fixture().resolve(HfCheckpoint.CONFIG_FILE)), bare);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(tmp, B, T));
        assertTrue(e.getMessage().contains("no MLM head") && e.getMessage().contains("vocab_projector"), e.getMessage());
    }

    /** sinusoidal_pos_embds: the stored table is loaded as is and the flag is written back. */
    @Test
    void sinusoidalPositionsAreTheStoredTable(@TempDir Path tmp) throws Exception {
        Bert m = DistilBert.load(fixture(), B, T);
        FloatTensor pos = m.parameters().get("bert.embeddings.position_embeddings.weight");   // [P, D]
        for (int p = 0; p < 16; p++) {
            for (int j = 0; j < 16; j++) {
                double angle = p / Math.pow(10000, 2.0 * (j / 2) / 16);
                pos.set(p * 16 + j, (float) (j % 2 == 0 ? Math.sin(angle) : Math.cos(angle)));
            }
        }
        DistilBertConfig c = (DistilBertConfig) HfConfig.read(fixture().resolve(HfCheckpoint.CONFIG_FILE));
        DistilBertConfig sin = new DistilBertConfig(c.vocabSize(), c.dim(), c.nLayers(), c.nHeads(), c.hiddenDim(),
                c.activation(), c.maxPositionEmbeddings(), true, c.extra());
        DistilBert.save(m, sin, tmp);
        assertTrue(((DistilBertConfig) HfConfig.read(tmp.resolve(HfCheckpoint.CONFIG_FILE))).sinusoidalPosEmbds());
        Bert back = DistilBert.load(tmp, B, T);
        assertArrayEquals(floats(pos), floats(back.parameters().get("bert.embeddings.position_embeddings.weight")));
    }

    /**
     * Converting a BERT-shaped student (2 token types, trained token-type rows) to DistilBERT: row 0 is folded
     * into the positions, so for all-0 token types the DistilBERT model computes the same logits (up to the
     * rounding of one add); with a zero row the conversion is bit-exact.
     */
    @Test
    void bertStudentConvertsToDistilBert(@TempDir Path tmp) {
        BertConfig student = new BertConfig(32, 16, 2, 4, 24, "gelu", 16, 2, 1e-12, Map.of("pad_token_id", 0));
        Bert a = new Bert(student, B, T, 5);
        randomise(a, 6);
        int[] ids = randomIds(3, B * T, 0, 32);
        float[] before = logits(a, ids, null);

        DistilBert.save(a, tmp.resolve("folded"));
        DistilBertConfig written = (DistilBertConfig) HfConfig.read(tmp.resolve("folded").resolve(HfCheckpoint.CONFIG_FILE));
        assertEquals(DistilBert.distilBertConfig(student), written);
        assertEquals(List.of("DistilBertForMaskedLM"), written.extra().get("architectures"));
        Bert b = DistilBert.load(tmp.resolve("folded"), B, T);
        float[] after = logits(b, ids, null);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < before.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(before[i] - after[i]));
            maxRef = Math.max(maxRef, Math.abs(before[i]));
        }
        System.out.printf("converted student logits: max|d|/max|ref| = %.3e%n", maxDiff / maxRef);
        assertTrue(maxDiff <= 1e-5 * maxRef, "folded token type: " + maxDiff / maxRef);
        FloatTensor pa = a.parameters().get("bert.embeddings.position_embeddings.weight");
        FloatTensor ta = a.parameters().get("bert.embeddings.token_type_embeddings.weight");
        FloatTensor pb = b.parameters().get("bert.embeddings.position_embeddings.weight");
        for (int i = 0; i < pa.size(); i++) assertEquals(pa.get(i) + ta.get(i % 16), pb.get(i), "position element " + i);

        // a zero token-type row: bit-exact
        ta.fill(0f);
        float[] zeroRow = logits(a, ids, null);
        DistilBert.save(a, tmp.resolve("exact"));
        assertArrayEquals(zeroRow, logits(DistilBert.load(tmp.resolve("exact"), B, T), ids, null));
    }

    @Test
    void saveRefusesAMismatchedConfigOrEps(@TempDir Path tmp) throws Exception {
        Bert m = DistilBert.load(fixture(), B, T);
        DistilBertConfig wrong = new DistilBertConfig(32, 16, 2, 4, 48, "gelu", 16, false, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DistilBert.save(m, wrong, tmp));
        assertTrue(e.getMessage().contains("hidden_dim = 48") && e.getMessage().contains("intermediate_size = 32"),
                e.getMessage());
        Bert eps = new Bert(new BertConfig(32, 16, 1, 4, 32, "gelu", 16, 2, 1e-5, new HashMap<>()), 1, 4, 0);
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> DistilBert.save(eps, tmp));
        assertTrue(f.getMessage().contains("layer_norm_eps") && f.getMessage().contains("1e-12"), f.getMessage());
    }
}
