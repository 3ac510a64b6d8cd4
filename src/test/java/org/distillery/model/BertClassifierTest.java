package org.distillery.model;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.TanhKernel;
import org.distillery.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BertClassifier}: gradients of every head tensor and of encoder tensors against central finite
 * differences (with padding and with dropout on a fixed seed); the [CLS] pooling by hand; save/load.
 */
class BertClassifierTest {
    static final int B = BertTestSupport.B, T = BertTestSupport.T, V = BertTestSupport.V, H = BertTestSupport.H;

    private static BertClassifier model(long seed) {
        Bert bert = new Bert(BertTestSupport.tinyConfig(), B, T, seed);
        BertTestSupport.randomise(bert, seed + 1);
        BertClassifier m = new BertClassifier(bert, 3, seed + 2);
        Random r = new Random(seed + 3);
        for (String n : new String[] {"bert.pooler.dense.weight", "classifier.weight", "classifier.bias"}) {
            FloatTensor p = m.parameters().get(n);
            for (int i = 0; i < p.size(); i++) p.set(i, (float) (0.4 * r.nextGaussian()));
        }
        return m;
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int[] ids = BertTestSupport.randomIds(3, B * T, 0, V), labels = {2, 0};
        for (double p : new double[] {0.0, 0.2}) {
            BertClassifier m = model(7);
            if (p > 0) m.setDropout(p, 11);
            m.zeroGrad();
            m.setDropout(p, 11);                         // the same masks for the analytic pass and each perturbation
            m.forward(ids, BertTestSupport.LENGTHS, labels, B, T);
            m.backward();
            GradientCheck check = new GradientCheck(1e-2, 1e-4);
            Random pick = new Random(5);
            String[] names = {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias",
                    "bert.encoder.layer.1.output.dense.weight", "bert.embeddings.word_embeddings.weight"};
            for (String name : names) {
                FloatTensor w = m.parameters().get(name), g = m.gradients().get(name);
                Integer[] order = IntStream.range(0, w.size()).boxed().toArray(Integer[]::new);
                java.util.Collections.shuffle(java.util.Arrays.asList(order), pick);
                for (int k = 0; k < Math.min(6, order.length); k++) {
                    int i = order[k];
                    check.check(name + "[" + i + "] p=" + p, g.get(i), GradientCheck.centralDifference(w, i, 1e-2f, () -> {
                        m.setDropout(p, 11);
                        return m.forward(ids, BertTestSupport.LENGTHS, labels, B, T);
                    }));
                }
            }
            System.out.println(check.summary(names.length));
        }
        assertFalse(model(1).parameters().keySet().stream().anyMatch(n -> n.startsWith("cls.predictions")),
                "the MLM head is not trained");
    }

    @Test
    void logitsArePooledFromTheClsPositionAndSurviveSaveAndLoad(@TempDir Path dir) {
        BertClassifier m = model(3);
        int[] ids = BertTestSupport.randomIds(4, B * T, 0, V);
        m.eval().forward(ids, BertTestSupport.LENGTHS, null, B, T);
        double[] logits = m.logits().toDoubleArray();
        FloatTensor h = m.encoder().lastHiddenState();
        Map<String, FloatTensor> p = m.parameters();
        for (int r = 0; r < B; r++) {
            for (int c = 0; c < 3; c++) {
                double z = p.get("classifier.bias").get(c);
                for (int k = 0; k < H; k++) {
                    double pre = p.get("bert.pooler.dense.bias").get(k);
                    for (int j = 0; j < H; j++) pre += p.get("bert.pooler.dense.weight").get(k * H + j) * h.get(r * T * H + j);
                    z += p.get("classifier.weight").get(c * H + k) * Math.tanh(pre);
                }
                assertEquals(z, logits[r * 3 + c], 1e-5, "logit " + r + "," + c);
            }
        }
        m.save(dir);
        BertClassifier back = BertClassifier.load(dir, B, T);
        back.eval().forward(ids, BertTestSupport.LENGTHS, null, B, T);
        assertArrayEquals(logits, back.logits().toDoubleArray(), 0.0);
        assertEquals(3, back.classes());
        assertEquals(0.0, TanhKernel.derivativeReference(50), 1e-12);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, null, new int[] {0, 3}, B, T));
        assertEquals("labels: class 3 of sequence 1 is outside [0, 3)", e.getMessage());
    }
}
