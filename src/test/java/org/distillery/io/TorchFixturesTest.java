package org.distillery.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch-made reference fixtures {@code fixtures/gpt2-tiny} and {@code fixtures/bert-tiny}
 * (made by {@code make_torch_fixtures.py}, described in {@code fixtures/README.md}) are readable Hugging Face
 * checkpoints with a complete reference file: inputs [2, 12] (shift_labels [2, 11]), logits [2, 12, 64] and
 * loss [1] of both runs, and one {@code grad.} twin per weight. The numerical comparison with the Java models lives with the
 * models; here the loss is recomputed from the stored logits and labels, which pins the loss definition the
 * README states.
 */
class TorchFixturesTest {
    private static final int BATCH = 2;
    private static final int SEQ = 12;
    private static final int VOCAB = 64;

    @Test
    void gpt2CheckpointMatchesItsConfigWithoutPrefix() throws Exception {
        HfCheckpoint ckpt = HfCheckpoint.load(fixture("gpt2-tiny"));
        Gpt2Config c = assertInstanceOf(Gpt2Config.class, ckpt.config());
        assertEquals(Gpt2Config.of(64, 16, 32, 2, 4).toJson(),
                c.toJson().without(c.extra().keySet()));
        assertEquals("gelu_new", c.activationFunction());
        assertEquals(128, c.innerSize());
        assertEquals("", ckpt.prefix());
        HfCheckpoint.Match m = check(ckpt);
        assertEquals(Set.of(), Set.copyOf(m.unexpected()));
        // 2 embeddings + 12 per layer + ln_f (lm_head is tied, absent)
        assertEquals(2 + 12 * 2 + 2, ckpt.tensors().size());
        ckpt.tensors().values().forEach(t -> assertEquals(Dtype.F32, t.dtype(), t.name()));
    }

    @Test
    void bertCheckpointMatchesItsConfigWithPrefixAndHead() throws Exception {
        HfCheckpoint ckpt = HfCheckpoint.load(fixture("bert-tiny"));
        BertConfig c = assertInstanceOf(BertConfig.class, ckpt.config());
        assertEquals(new BertConfig(64, 32, 2, 4, 64, "gelu", 16, 2, 1e-12, Map.of()).toJson(),
                c.toJson().without(c.extra().keySet()));
        assertEquals("bert.", ckpt.prefix());
        HfCheckpoint.Match m = check(ckpt);
        assertTrue(m.hasHead());
        assertEquals(Set.of(), Set.copyOf(m.unexpected()));
        // 5 embedding tensors + 16 per layer + 5 head tensors (decoder tied: no decoder.weight / decoder.bias)
        assertEquals(5 + 16 * 2 + 5, ckpt.tensors().size());
        assertTrue(ckpt.tensors().containsKey("cls.predictions.bias"));
        ckpt.tensors().values().forEach(t -> assertEquals(Dtype.F32, t.dtype(), t.name()));
    }

    @Test
    void gpt2ReferenceHasInputsLogitsLossAndEveryGradient() throws Exception {
        Map<String, NamedTensor> ref = checkReference("gpt2-tiny", Set.of("input_ids", "labels", "shift_labels"));
        float[] labels = ref.get("labels").data();
        float[] ids = ref.get("input_ids").data();
        int ignored = 0;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] == -100) {
                ignored++;
            } else {
                assertEquals(ids[i], labels[i], "labels are the input ids (HF convention, shifted in the loss)");
            }
        }
        assertEquals(1, ignored);
        // loss = mean over non-ignored t of CE(logits[b, t], labels[b, t + 1])
        float[] shift = ref.get("shift_labels").data();
        double loss = meanCrossEntropy(ref.get("logits").data(), (b, t) -> t < SEQ - 1 ? shift[b * (SEQ - 1) + t] : -100);
        assertEquals(ref.get("loss").data()[0], loss, 1e-5);
    }

    @Test
    void bertReferenceHasInputsLogitsLossAndEveryGradient() throws Exception {
        Map<String, NamedTensor> ref = checkReference("bert-tiny",
                Set.of("input_ids", "labels", "attention_mask", "token_type_ids"));
        float[] mask = ref.get("attention_mask").data();
        float[] labels = ref.get("labels").data();
        int pads = 0;
        int targets = 0;
        for (int i = 0; i < mask.length; i++) {
            pads += mask[i] == 0 ? 1 : 0;
            targets += labels[i] != -100 ? 1 : 0;
            assertTrue(mask[i] == 1 || labels[i] == -100, "no target at a padded position");
        }
        assertEquals(3, pads);
        assertEquals(8, targets);
        // loss = mean over positions with labels != -100 of CE(logits[b, t], labels[b, t]), no shift
        double loss = meanCrossEntropy(ref.get("logits").data(), (b, t) -> labels[b * SEQ + t]);
        assertEquals(ref.get("loss").data()[0], loss, 1e-5);
    }

    // ---------------------------------------------------------------- helpers

    private static HfCheckpoint.Match check(HfCheckpoint ckpt) {
        Map<String, long[]> shapes = new java.util.TreeMap<>();
        ckpt.tensors().forEach((n, t) -> shapes.put(n, t.longShape()));
        return HfCheckpoint.check(ckpt.config(), shapes, "model.safetensors");
    }

    /**
     * Checks reference.safetensors of {@code name}: the inputs [2, 12] as I64, logits [2, 12, 64] (F64) and
     * fp32.logits (F32), loss and fp32.loss [1], and exactly one {@code grad.} twin of the weight's shape per
     * weight of model.safetensors; returns all its tensors.
     */
    private static Map<String, NamedTensor> checkReference(String name, Set<String> inputs) throws Exception {
        Path dir = fixture(name);
        HfCheckpoint ckpt = HfCheckpoint.load(dir);
        Map<String, NamedTensor> ref = Safetensors.readAll(dir.resolve("reference.safetensors"));
        Set<String> expected = new TreeSet<>(inputs);
        expected.addAll(Set.of("logits", "loss", "fp32.logits", "fp32.loss"));
        for (NamedTensor w : ckpt.tensors().values()) {
            NamedTensor g = ref.get("grad." + w.name());
            assertTrue(g != null, "missing grad." + w.name());
            assertArrayEquals(w.shape(), g.shape(), "grad." + w.name());
            assertEquals(Dtype.F32, g.dtype(), "grad." + w.name());
            expected.add(g.name());
        }
        assertEquals(expected, new TreeSet<>(ref.keySet()), "reference tensors");
        for (String in : inputs) {
            int[] shape = in.equals("shift_labels") ? new int[] {BATCH, SEQ - 1} : new int[] {BATCH, SEQ};
            assertArrayEquals(shape, ref.get(in).shape(), in);
            assertEquals(Dtype.I64, ref.get(in).dtype(), in);
        }
        assertArrayEquals(new int[] {BATCH, SEQ, VOCAB}, ref.get("logits").shape());
        assertArrayEquals(new int[] {BATCH, SEQ, VOCAB}, ref.get("fp32.logits").shape());
        assertEquals(Dtype.F64, ref.get("logits").dtype());
        assertEquals(Dtype.F32, ref.get("fp32.logits").dtype());
        assertArrayEquals(new int[] {1}, ref.get("loss").shape());
        assertArrayEquals(new int[] {1}, ref.get("fp32.loss").shape());
        // the float32 run agrees with the float64 one (what a float32 engine can hope for)
        float[] l64 = ref.get("logits").data();
        float[] l32 = ref.get("fp32.logits").data();
        double maxRef = 0;
        double maxDiff = 0;
        for (int i = 0; i < l64.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(l64[i]));
            maxDiff = Math.max(maxDiff, Math.abs(l64[i] - l32[i]));
        }
        assertTrue(maxDiff <= 1e-5 * maxRef, "fp32 logits vs float64 logits: " + maxDiff / maxRef);
        assertEquals(ref.get("loss").data()[0], ref.get("fp32.loss").data()[0], 1e-5);
        return ref;
    }

    private interface Target {
        float at(int b, int t);
    }

    /** Mean cross-entropy of the softmax of logits [B, T, V] over the positions whose target is not -100. */
    private static double meanCrossEntropy(float[] logits, Target target) {
        double sum = 0;
        int n = 0;
        for (int b = 0; b < BATCH; b++) {
            for (int t = 0; t < SEQ; t++) {
                int y = (int) target.at(b, t);
                if (y == -100) {
                    continue;
                }
                int off = (b * SEQ + t) * VOCAB;
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < VOCAB; v++) {
                    max = Math.max(max, logits[off + v]);
                }
                double z = 0;
                for (int v = 0; v < VOCAB; v++) {
                    z += Math.exp(logits[off + v] - max);
                }
                sum += max + Math.log(z) - logits[off + y];
                n++;
            }
        }
        return sum / n;
    }

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(TorchFixturesTest.class.getResource("/fixtures/" + name).toURI());
    }
}
