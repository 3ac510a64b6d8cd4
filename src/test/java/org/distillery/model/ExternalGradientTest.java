package org.distillery.model;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/**
 * {@code backward(dlogits, dhidden)} of {@link Gpt} and {@link Bert}, the entry point of distillation
 * losses: from the cross-entropy's own dlogits it gives bit-for-bit the gradients of {@code backward()};
 * a gradient on the last hidden state alone matches central finite differences of
 * L = sum(h * W) (W fixed, random).
 */
class ExternalGradientTest {

    private static double[][] snapshot(Map<String, FloatTensor> grads) {
        return grads.values().stream().map(FloatTensor::toDoubleArray).toArray(double[][]::new);
    }

    private static double dot(FloatTensor h, FloatTensor w) {
        double s = 0;
        for (int i = 0; i < h.size(); i++) s += (double) h.get(i) * w.get(i);
        return s;
    }

    private static FloatTensor random(Random r, int rows, int cols) {
        FloatTensor t = FloatTensor.zeros(rows, cols);
        for (int i = 0; i < t.size(); i++) t.set(i, (float) r.nextGaussian());
        return t;
    }

    private static void fdCheck(Map<String, FloatTensor> params, Map<String, FloatTensor> grads, String[] names,
                                DoubleSupplier loss) {
        GradientCheck check = new GradientCheck(1e-2, 1e-4);
        Random pick = new Random(9);
        for (String name : names) {
            FloatTensor p = params.get(name), g = grads.get(name);
            for (int k = 0; k < 4; k++) {
                int i = pick.nextInt(p.size());
                check.check(name + "[" + i + "]", g.get(i), GradientCheck.centralDifference(p, i, 1e-2f, loss));
            }
        }
        System.out.println(check.summary(names.length));
    }

    @Test
    void gptExternalCrossEntropyEqualsBackwardAndHiddenGradientMatchesFiniteDifferences() {
        int b = GptTestSupport.B, t = GptTestSupport.T, v = GptTestSupport.V, e = GptTestSupport.C;
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), b, t, 1);
        GptTestSupport.randomise(g, 2);
        int[] ids = GptTestSupport.randomIds(3, b * t, v), targets = GptTestSupport.randomIds(4, b * t, v);
        g.zeroGrad();
        g.forward(ids, targets, b, t);
        g.backward();
        double[][] own = snapshot(g.gradients());

        g.zeroGrad();
        g.forward(ids, null, b, t);
        FloatTensor dl = FloatTensor.zeros(b * t, v);
        CrossEntropyKernel.forwardBackward(g.logits(), targets, Gpt.IGNORE_INDEX, dl);
        g.backward(dl, null);
        assertArrayEquals(own, snapshot(g.gradients()), "external CE gradient = backward()");

        FloatTensor w = random(new Random(5), b * t, e);
        g.zeroGrad();
        g.forward(ids, null, b, t);
        g.backward(null, w);
        fdCheck(g.parameters(), g.gradients(), new String[] {"wte.weight", "wpe.weight", "h.0.attn.c_attn.weight",
                "h.1.mlp.c_fc.bias", "ln_f.weight", "ln_f.bias"}, () -> {
                    g.forward(ids, null, b, t);
                    return dot(g.lastHiddenState(), w);
                });

        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> g.backward(null, null));
        assertEquals("dlogits, dhidden: at least one gradient is needed", ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> g.backward(FloatTensor.zeros(3, v), null));
        assertEquals("dlogits: expected shape [16, 32] (B*T of the last forward, vocab_size) but got [3, 32]", ex.getMessage());
    }

    @Test
    void bertExternalCrossEntropyEqualsBackwardAndHiddenGradientMatchesFiniteDifferences() {
        int b = BertTestSupport.B, t = BertTestSupport.T, v = BertTestSupport.V, h = BertTestSupport.H;
        Bert m = new Bert(BertTestSupport.tinyConfig(), b, t, 1);
        BertTestSupport.randomise(m, 2);
        int[] ids = BertTestSupport.randomIds(3, b * t, 0, v), types = BertTestSupport.segments(b, t);
        int[] labels = BertTestSupport.labels(4, BertTestSupport.LENGTHS, t);
        m.zeroGrad();
        m.forward(ids, types, BertTestSupport.LENGTHS, labels, b, t);
        m.backward();
        double[][] own = snapshot(m.gradients());

        m.zeroGrad();
        m.forward(ids, types, BertTestSupport.LENGTHS, null, b, t);
        FloatTensor dl = FloatTensor.zeros(b * t, v);
        CrossEntropyKernel.forwardBackward(m.logits(), labels, Bert.IGNORE_INDEX, dl);
        m.backward(dl, null);
        assertArrayEquals(own, snapshot(m.gradients()), "external CE gradient = backward()");

        FloatTensor w = random(new Random(5), b * t, h);
        m.zeroGrad();
        m.forward(ids, types, BertTestSupport.LENGTHS, null, b, t);
        m.backward(null, w);
        fdCheck(m.parameters(), m.gradients(), new String[] {"bert.embeddings.word_embeddings.weight",
                "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.dense.bias",
                "bert.encoder.layer.1.output.LayerNorm.weight"}, () -> {
                    m.forward(ids, types, BertTestSupport.LENGTHS, null, b, t);
                    return dot(m.lastHiddenState(), w);
                });
        assertEquals(0.0, m.gradients().get("cls.predictions.bias").toDoubleArray()[0], 0.0, "no head gradient without dlogits");
    }
}
