package org.distillery.model;

import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.distillery.model.MlpGradientCheckTest.randomInputs;
import static org.junit.jupiter.api.Assertions.*;

class MlpTest {
    static final List<Integer> SIZES = List.of(20, 16, 12, 6);
    static final int B = 5;
    static final int[] LABELS = {1, 5, 0, 3, 5};

    private static Map<String, double[]> gradsCopy(Mlp m) {
        Map<String, double[]> g = new java.util.LinkedHashMap<>();
        m.gradients().forEach((k, v) -> g.put(k, v.toDoubleArray()));
        return g;
    }

    /**
     * backwardFromLogits with d loss / d logits supplied from outside equals backward(): bit for bit when
     * the supplied gradient is the cross-entropy kernel's own, and to 1e-6 relative (max-norm per tensor)
     * when it is (softmax - onehot) / B computed in double and rounded to fp32 (dlogits then differ by
     * about an ulp).
     */
    @Test
    void backwardFromLogitsEqualsBackwardForTheCrossEntropyGradient() {
        Mlp m = new Mlp(SIZES, 0.1, 0.3, B, 11);
        float[] x = randomInputs(12, B * 20);
        m.setDropout(0.1, 0.3, 5);
        m.zeroGrad();
        m.forward(x, LABELS, B);
        m.backward();
        Map<String, double[]> expect = gradsCopy(m);

        // the same forward (same masks), no labels; the gradient from the kernel on the logits
        m.setDropout(0.1, 0.3, 5);
        m.zeroGrad();
        assertTrue(Double.isNaN(m.forward(x, null, B)));
        FloatTensor dlogits = FloatTensor.zeros(B, 6);
        CrossEntropyKernel.forwardBackward(m.logits(), LABELS, CrossEntropyKernel.DEFAULT_IGNORE_INDEX, dlogits);
        m.backwardFromLogits(dlogits);
        for (Map.Entry<String, double[]> e : expect.entrySet()) {
            assertArrayEquals(e.getValue(), m.gradients().get(e.getKey()).toDoubleArray(), 0.0, e.getKey());
        }

        // softmax - onehot over B, in double
        m.zeroGrad();
        double[] z = m.logits().toDoubleArray(), d = new double[z.length];
        for (int r = 0; r < B; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < 6; c++) max = Math.max(max, z[r * 6 + c]);
            for (int c = 0; c < 6; c++) sum += Math.exp(z[r * 6 + c] - max);
            for (int c = 0; c < 6; c++) d[r * 6 + c] = (Math.exp(z[r * 6 + c] - max) / sum - (c == LABELS[r] ? 1 : 0)) / B;
        }
        m.backwardFromLogits(FloatTensor.of(d, B, 6));
        double worst = 0;
        for (Map.Entry<String, double[]> e : expect.entrySet()) {
            double[] want = e.getValue(), got = m.gradients().get(e.getKey()).toDoubleArray();
            double num = 0, den = 0;
            for (int i = 0; i < want.length; i++) {
                num = Math.max(num, Math.abs(want[i] - got[i]));
                den = Math.max(den, Math.abs(want[i]));
            }
            assertTrue(den > 0, e.getKey() + " has a zero gradient");
            worst = Math.max(worst, num / den);
            assertTrue(num / den <= 1e-6, e.getKey() + ": relative difference " + num / den);
        }
        System.out.printf("backwardFromLogits(softmax - onehot) vs backward(): max relative difference %.2e%n", worst);

        // gradients accumulate
        m.backwardFromLogits(dlogits);
        m.backwardFromLogits(dlogits);
        double[] twice = m.gradients().get("layers.2.bias").toDoubleArray(), once = expect.get("layers.2.bias");
        for (int i = 0; i < once.length; i++) assertEquals(3 * once[i], twice[i], 1e-5 * Math.abs(once[i]) + 1e-9);
    }

    @Test
    void initialisationIsPyTorchLinearDefaultAndSeeded() {
        Mlp a = new Mlp(List.of(400, 50, 10), 4, 1), b = new Mlp(List.of(400, 50, 10), 4, 1), c = new Mlp(List.of(400, 50, 10), 4, 2);
        assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"),
                List.copyOf(a.parameters().keySet()));
        assertEquals("[50, 400]", a.parameters().get("layers.0.weight").shapeString());
        assertEquals("[10]", a.parameters().get("layers.1.bias").shapeString());
        assertEquals(400 * 50 + 50 + 50 * 10 + 10, a.parameterCount());
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            double bound = 1 / Math.sqrt(e.getKey().startsWith("layers.0") ? 400 : 50);
            double[] v = e.getValue().toDoubleArray(), vb = b.parameters().get(e.getKey()).toDoubleArray();
            assertArrayEquals(v, vb, 0.0, "same seed, same init");
            assertFalse(Arrays.equals(v, c.parameters().get(e.getKey()).toDoubleArray()), "another seed");
            double max = 0, sq = 0;
            for (double x : v) {
                max = Math.max(max, Math.abs(x));
                sq += x * x;
            }
            assertTrue(max <= bound, e.getKey() + ": |w| " + max + " > bound " + bound);
            if (v.length >= 500) {               // uniform on [-a, a]: variance a^2 / 3
                assertEquals(bound * bound / 3, sq / v.length, 0.1 * bound * bound / 3, e.getKey() + " variance");
                assertTrue(max > 0.99 * bound, e.getKey() + " fills the interval");
            }
        }
    }

    @Test
    void trainAndEvalModes() {
        Mlp m = new Mlp(SIZES, 0.2, 0.5, B, 3);
        float[] x = randomInputs(1, B * 20);
        assertTrue(m.isTraining());
        double t1 = m.forward(x, LABELS, B), t2 = m.forward(x, LABELS, B);
        assertNotEquals(t1, t2, "training mode: new masks every forward");
        m.eval();
        double e1 = m.forward(x, LABELS, B), e2 = m.forward(x, LABELS, B);
        assertEquals(e1, e2, 0.0);
        Mlp plain = new Mlp(SIZES, B, 3);                  // same init, no dropout
        assertEquals(e1, plain.forward(x, LABELS, B), 0.0, "eval mode = no dropout");
        m.train();
        assertNotEquals(e1, m.forward(x, LABELS, B));
        // a smaller batch gives the same rows as the full one
        m.eval();
        m.forward(x, null, B);
        double[] full = m.logits().toDoubleArray();
        m.forward(Arrays.copyOf(x, 2 * 20), null, 2);
        assertEquals("[2, 6]", m.logits().shapeString());
        assertArrayEquals(Arrays.copyOf(full, 12), m.logits().toDoubleArray(), 1e-6);
    }

    @Test
    void saveThenLoadGivesIdenticalParametersAndLogits(@TempDir Path dir) throws Exception {
        Mlp m = new Mlp(SIZES, 0.2, 0.5, B, 21);
        float[] x = randomInputs(2, B * 20);
        m.eval();
        m.forward(x, null, B);
        double[] logits = m.logits().toDoubleArray();
        m.save(dir);
        assertTrue(Files.exists(dir.resolve(Mlp.CONFIG_FILE)) && Files.exists(dir.resolve(Mlp.WEIGHTS_FILE)));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
        String cfg = Files.readString(dir.resolve(Mlp.CONFIG_FILE));
        assertTrue(cfg.contains("\"layer_sizes\"") && cfg.contains(Mlp.MODEL_TYPE), cfg);

        Mlp l = Mlp.load(dir, 3, 0);
        assertEquals(SIZES, l.layerSizes());
        assertEquals(0.2, l.inputDropout(), 0.0);
        assertEquals(0.5, l.hiddenDropout(), 0.0);
        assertEquals(3, l.maxBatch());
        for (Map.Entry<String, FloatTensor> e : m.parameters().entrySet()) {
            assertArrayEquals(e.getValue().toDoubleArray(), l.parameters().get(e.getKey()).toDoubleArray(), 0.0, e.getKey());
        }
        l.eval();
        l.forward(Arrays.copyOf(x, 3 * 20), null, 3);
        l.forward(Arrays.copyOfRange(x, 3 * 20, 5 * 20), null, 2);
        double[] tail = l.logits().toDoubleArray();
        Mlp l2 = Mlp.load(dir, B, 0).eval();
        l2.forward(x, null, B);
        assertArrayEquals(logits, l2.logits().toDoubleArray(), 0.0, "identical logits after the round trip");
        assertArrayEquals(Arrays.copyOfRange(logits, 18, 30), tail, 1e-6);

        // a config that does not match the weights
        Files.writeString(dir.resolve(Mlp.CONFIG_FILE), "{\"model_type\": \"distillery-mlp\", \"layer_sizes\": [20, 16, 6]}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Mlp.load(dir, 2, 0));
        assertTrue(e.getMessage().contains("layers.1.weight") && e.getMessage().contains("[12, 16]")
                && e.getMessage().contains("[6, 16]"), e.getMessage());
        Files.writeString(dir.resolve(Mlp.CONFIG_FILE), "{\"model_type\": \"distillery-mlp\", \"layer_sizes\": [20, 16, 12]}");
        e = assertThrows(CheckpointFormatException.class, () -> Mlp.load(dir, 2, 0));
        assertTrue(e.getMessage().contains("unexpected tensor layers.2"), e.getMessage());
        Files.writeString(dir.resolve(Mlp.CONFIG_FILE), "{\"model_type\": \"gpt2\", \"layer_sizes\": [20, 6]}");
        e = assertThrows(CheckpointFormatException.class, () -> Mlp.load(dir, 2, 0));
        assertTrue(e.getMessage().contains("model_type"), e.getMessage());
        Files.writeString(dir.resolve(Mlp.CONFIG_FILE), "{\"model_type\": \"distillery-mlp\", \"layer_sizes\": [20]}");
        e = assertThrows(CheckpointFormatException.class, () -> Mlp.load(dir, 2, 0));
        assertTrue(e.getMessage().contains("at least 2"), e.getMessage());
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(784), 4, 0));
        assertTrue(e.getMessage().contains("layerSizes") && e.getMessage().contains("at least 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(784, 0, 10), 4, 0));
        assertTrue(e.getMessage().contains("entry 1 is 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(784, 100, -10), 4, 0));
        assertTrue(e.getMessage().contains("entry 2 is -10"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(4, 2), 0, 0));
        assertTrue(e.getMessage().contains("maxB"), e.getMessage());
        for (double p : new double[] {-0.1, 1.0, 1.5, Double.NaN}) {
            e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(4, 2), p, 0, 2, 0));
            assertTrue(e.getMessage().contains("pIn") && e.getMessage().contains("[0, 1)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Mlp(List.of(4, 2), 0, p, 2, 0));
            assertTrue(e.getMessage().contains("pHidden") && e.getMessage().contains("[0, 1)"), e.getMessage());
        }

        Mlp m = new Mlp(SIZES, B, 0);
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[2 * 19], null, 2));
        assertTrue(e.getMessage().contains("19 per row") && e.getMessage().contains("input width is 20"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[41], null, 2));
        assertTrue(e.getMessage().contains("41") && e.getMessage().contains("20"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[6 * 20], null, 6));
        assertTrue(e.getMessage().contains("maxB = 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[2 * 20], new int[] {0, 6}, 2));
        assertTrue(e.getMessage().contains("label 6 at row 1") && e.getMessage().contains("[0, 6)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[2 * 20], new int[] {-1, 0}, 2));
        assertTrue(e.getMessage().contains("label -1 at row 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.forward(new float[2 * 20], new int[] {0}, 2));
        assertTrue(e.getMessage().contains("labels: length 1"), e.getMessage());

        Mlp fresh = new Mlp(SIZES, B, 0);
        assertThrows(IllegalStateException.class, fresh::backward);
        assertThrows(IllegalStateException.class, () -> fresh.backwardFromLogits(FloatTensor.zeros(B, 6)));
        fresh.forward(new float[2 * 20], null, 2);
        assertThrows(IllegalStateException.class, fresh::backward, "no labels");
        e = assertThrows(IllegalArgumentException.class, () -> fresh.backwardFromLogits(FloatTensor.zeros(B, 6)));
        assertTrue(e.getMessage().contains("[2, 6]") && e.getMessage().contains("[5, 6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> fresh.setDropout(0, 1.0, 0));
        assertTrue(e.getMessage().contains("pHidden"), e.getMessage());
    }
}
