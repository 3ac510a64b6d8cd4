package org.distillery.model;

import org.distillery.testing.Parity;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity with PyTorch: the fixture {@code fixtures/bert-tiny} (made by {@code fixtures/make_torch_fixtures.py},
 * see {@code fixtures/README.md}) holds a tiny {@code BertForMaskedLM} (V=64, H=32, 2 layers, 4 heads, I=64,
 * 16 positions, 2 token types, eps 1e-12, erf GELU) in HF layout, and the float64 PyTorch reference on one
 * batch (B=2, T=12; the second sequence has 3 padding positions at the end, {@code attention_mask} 1 x9 then
 * 0 x3; token types given; 8 labels): logits (every position, padding included), loss and every parameter
 * gradient, plus the float32 run's logits and loss.
 *
 * <p>The attention mask is passed as per-sequence lengths (its number of ones; HF's mask is all ones
 * followed by zeros here). Every tensor must agree to 1e-5 relative: max|ours - ref| / max|ref|. The key
 * biases' gradients are analytically 0 (softmax ignores a constant added to every score of a row; the
 * reference holds float64 round-off), so they are checked with an absolute bound, 1e-6.
 */
class BertTorchParityTest {

    private static final double TOL = 1e-5;

    private static Path fixture(String name) throws Exception {
        return Path.of(BertTorchParityTest.class.getResource("/fixtures/bert-tiny/" + name).toURI());
    }

    @Test
    void logitsLossAndEveryGradientMatchPyTorch() throws Exception {
        Map<String, NamedTensor> ref = Safetensors.readAll(fixture("reference.safetensors"));
        NamedTensor in = ref.get("input_ids");
        int b = in.shape()[0], t = in.shape()[1];
        Bert m = Bert.load(fixture("config.json").getParent(), b, t);
        int v = m.config().vocabSize();

        int[] ids = ints(in), types = ints(ref.get("token_type_ids")), labels = ints(ref.get("labels"));
        int[] mask = ints(ref.get("attention_mask"));
        int[] lengths = new int[b];
        for (int s = 0; s < b; s++) {
            for (int p = 0; p < t; p++) {
                if (mask[s * t + p] == 1) {
                    assertEquals(p, lengths[s], "attention_mask must be ones then zeros");
                    lengths[s]++;
                }
            }
        }
        assertEquals(12, lengths[0]);
        assertEquals(9, lengths[1]);

        m.zeroGrad();
        double loss = m.forward(ids, types, lengths, labels, b, t);
        m.backward();

        double refLoss = ref.get("loss").data()[0];
        double lossRel = Math.abs(loss - refLoss) / Math.abs(refLoss);
        System.out.printf("loss: ours %.9f, torch f64 %.9f, torch f32 %.9f, rel diff %.3e%n", loss, refLoss,
                ref.get("fp32.loss").data()[0], lossRel);
        assertTrue(lossRel < TOL, "loss rel diff " + lossRel);

        double[] logits = m.logits().toDoubleArray();
        assertEquals(b * t * v, logits.length);
        assertTrue(Parity.report("logits (vs torch f32)", logits, ref.get("fp32.logits").data()) < TOL);
        assertTrue(Parity.report("logits (vs torch f64)", logits, ref.get("logits").data()) < TOL);

        int checked = 0;
        double worst = 0;
        for (Map.Entry<String, FloatTensor> e : m.gradients().entrySet()) {
            String name = e.getKey();
            NamedTensor r = ref.get("grad." + name);
            assertTrue(r != null, "reference has no grad." + name);
            double[] ours = e.getValue().toDoubleArray();
            if (name.endsWith("attention.self.key.bias")) {
                double maxOurs = 0, maxRef = 0;
                for (int i = 0; i < ours.length; i++) {
                    maxOurs = Math.max(maxOurs, Math.abs(ours[i]));
                    maxRef = Math.max(maxRef, Math.abs(r.data()[i]));
                }
                System.out.printf("%-58s max|ours| %.3e  max|ref| %.3e  (analytically 0: absolute bound 1e-6)%n",
                        "grad." + name, maxOurs, maxRef);
                assertTrue(maxOurs <= 1e-6, "key-bias gradient " + maxOurs);
                checked++;
                continue;
            }
            double rel = Parity.report("grad." + name, ours, r.data());
            worst = Math.max(worst, rel);
            assertTrue(rel < TOL, "grad." + name + ": max|diff|/max|ref| = " + rel);
            checked++;
        }
        assertEquals(m.parameters().size(), checked);
        assertEquals(42, checked, "every tensor of the fixture");

        // positions t .. max_position_embeddings-1 are unused: their gradient rows are exactly 0
        int h = m.config().hiddenSize();
        FloatTensor dpos = m.gradients().get("bert.embeddings.position_embeddings.weight");
        for (int i = t * h; i < dpos.size(); i++) assertEquals(0f, dpos.get(i), "position gradient element " + i);
        System.out.printf("worst gradient max|diff|/max|ref| over %d tensors (key biases aside): %.3e%n", checked, worst);
    }

    static int[] ints(NamedTensor t) {
        int[] out = new int[t.data().length];
        for (int i = 0; i < out.length; i++) out[i] = (int) t.data()[i];
        return out;
    }
}
