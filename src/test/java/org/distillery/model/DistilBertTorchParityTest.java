package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.testing.Parity;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity with PyTorch: the fixture {@code fixtures/distilbert-tiny} (made by
 * {@code fixtures/make_torch_fixtures.py}, see {@code fixtures/README.md}) holds a tiny
 * {@code DistilBertForMaskedLM} (V=32, D=16, 2 layers, 4 heads, F=32, 16 positions, erf GELU, eps 1e-12) in HF
 * layout with the {@code distilbert.} prefix and a tied {@code vocab_projector}, and the float64 PyTorch
 * reference on one batch (B=2, T=12; the second sequence has 3 padding positions, {@code attention_mask} 1 x9
 * then 0 x3; 8 labels, the rest -100): logits, loss and the gradient of every stored tensor, plus the float32
 * run's logits and loss.
 *
 * <p>Loaded through {@link DistilBert#load} into the {@link Bert} engine and run without token types. Same
 * conventions as {@link BertTorchParityTest}: every tensor within 1e-5 relative, max|ours - ref| / max|ref|;
 * the key biases' gradients (analytically 0) within 1e-6 absolute. Our gradients are read under their
 * DistilBERT names through {@link DistilBert#tensorNames}.
 */
class DistilBertTorchParityTest {

    private static final double TOL = 1e-5;

    static Path fixtureDir() throws Exception {
        return Path.of(DistilBertTorchParityTest.class.getResource("/fixtures/distilbert-tiny/config.json").toURI())
                .getParent();
    }

    /** A loaded fixture model after forward + backward on the reference batch, with the reference. */
    private record Run(Bert model, Map<String, NamedTensor> ref, double loss, int b, int t) {}

    private static Run run() throws Exception {
        Map<String, NamedTensor> ref = Safetensors.readAll(fixtureDir().resolve("reference.safetensors"));
        NamedTensor in = ref.get("input_ids");
        int b = in.shape()[0], t = in.shape()[1];
        Bert m = DistilBert.load(fixtureDir(), b, t);
        int[] ids = BertTorchParityTest.ints(in), labels = BertTorchParityTest.ints(ref.get("labels"));
        int[] lengths = lengths(BertTorchParityTest.ints(ref.get("attention_mask")), b, t);
        assertEquals(12, lengths[0]);
        assertEquals(9, lengths[1]);
        m.zeroGrad();
        double loss = m.forward(ids, null, lengths, labels, b, t);
        m.backward();
        return new Run(m, ref, loss, b, t);
    }

    /** HF's attention_mask (ones then zeros per sequence) as lengths. */
    private static int[] lengths(int[] mask, int b, int t) {
        int[] lengths = new int[b];
        for (int s = 0; s < b; s++) {
            for (int p = 0; p < t; p++) {
                if (mask[s * t + p] == 1) {
                    assertEquals(p, lengths[s], "attention_mask must be ones then zeros");
                    lengths[s]++;
                }
            }
        }
        return lengths;
    }

    @Test
    void logitsAndLossMatchTheFloat64Reference() throws Exception {
        Run r = run();
        double refLoss = r.ref().get("loss").data()[0];
        double lossRel = Math.abs(r.loss() - refLoss) / Math.abs(refLoss);
        System.out.printf("loss: ours %.9f, torch f64 %.9f, rel diff %.3e%n", r.loss(), refLoss, lossRel);
        assertTrue(lossRel < TOL, "loss rel diff " + lossRel);
        double[] logits = r.model().logits().toDoubleArray();
        assertEquals(r.b() * r.t() * 32, logits.length);
        assertTrue(Parity.report("logits (vs torch f64)", logits, r.ref().get("logits").data()) < TOL);
    }

    /** float32 engine against torch's float32 run (same tolerance: both are float32 roundings of one function). */
    @Test
    void logitsAndLossMatchTheFloat32Reference() throws Exception {
        Run r = run();
        double ref32 = r.ref().get("fp32.loss").data()[0];
        double lossRel = Math.abs(r.loss() - ref32) / Math.abs(ref32);
        System.out.printf("loss: ours %.9f, torch f32 %.9f, rel diff %.3e%n", r.loss(), ref32, lossRel);
        assertTrue(lossRel < TOL, "loss rel diff vs f32 " + lossRel);
        assertTrue(Parity.report("logits (vs torch f32)", r.model().logits().toDoubleArray(),
                r.ref().get("fp32.logits").data()) < TOL);
    }

    @Test
    void everyGradientMatchesUnderItsDistilBertName() throws Exception {
        Run r = run();
        Bert m = r.model();
        Map<String, String> names = DistilBert.tensorNames(2);
        Set<String> fileNames = HfCheckpoint.load(fixtureDir()).tensors().keySet();
        assertEquals(fileNames, new HashSet<>(names.values()), "the mapping covers exactly the fixture's tensors");

        int checked = 0;
        double worst = 0;
        for (Map.Entry<String, String> e : names.entrySet()) {
            String distil = e.getValue();
            NamedTensor ref = r.ref().get("grad." + distil);
            assertTrue(ref != null, "reference has no grad." + distil);
            double[] ours = m.gradients().get(e.getKey()).toDoubleArray();
            if (distil.endsWith("attention.k_lin.bias")) {
                double maxOurs = 0, maxRef = 0;
                for (int i = 0; i < ours.length; i++) {
                    maxOurs = Math.max(maxOurs, Math.abs(ours[i]));
                    maxRef = Math.max(maxRef, Math.abs(ref.data()[i]));
                }
                System.out.printf("%-58s max|ours| %.3e  max|ref| %.3e  (analytically 0: absolute bound 1e-6)%n",
                        "grad." + distil, maxOurs, maxRef);
                assertTrue(maxOurs <= 1e-6, "key-bias gradient " + maxOurs);
                checked++;
                continue;
            }
            double rel = Parity.report("grad." + distil, ours, ref.data());
            worst = Math.max(worst, rel);
            assertTrue(rel < TOL, "grad." + distil + ": max|diff|/max|ref| = " + rel);
            checked++;
        }
        assertEquals(41, checked, "every tensor of the fixture");
        assertEquals(m.parameters().size() - 1, checked, "every Bert parameter but the token-type row");
        System.out.printf("worst gradient max|diff|/max|ref| over %d tensors (key biases aside): %.3e%n", checked, worst);

        // unused positions t .. P-1 get exactly 0; the (DistilBERT-less) token-type row gets the sum of the rest
        int h = m.config().hiddenSize();
        FloatTensor dpos = m.gradients().get("bert.embeddings.position_embeddings.weight");
        for (int i = r.t() * h; i < dpos.size(); i++) assertEquals(0f, dpos.get(i), "position gradient element " + i);
        double[] sum = new double[h];
        for (int i = 0; i < dpos.size(); i++) sum[i % h] += dpos.get(i);
        float[] typeGrad = m.gradients().get("bert.embeddings.token_type_embeddings.weight").toFloatArray();
        assertTrue(Parity.report("grad token_type row 0 vs sum of position rows", sum, typeGrad) < TOL);
    }
}
