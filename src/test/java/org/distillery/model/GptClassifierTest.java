package org.distillery.model;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Random;
import java.util.stream.IntStream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link GptClassifier}: gradients of the score layer and of GPT tensors against central finite differences
 * (with padding, and with dropout on a fixed seed); the logits against an independent computation (a plain
 * GPT forward of each sequence cut to its length, then the score layer by hand), so the last-token pooling and
 * the claim that padding is invisible to it are both checked; save/load; bad input.
 */
class GptClassifierTest {
    static final int B = GptTestSupport.B, T = GptTestSupport.T, V = GptTestSupport.V, E = GptTestSupport.C;
    static final int[] LENGTHS = {T, 5};
    static final int CLASSES = 3;

    private static GptClassifier model(long seed) {
        Gpt gpt = new Gpt(GptTestSupport.tinyConfig(), B, T, seed);
        GptTestSupport.randomise(gpt, seed + 1);
        GptClassifier m = new GptClassifier(gpt, CLASSES, seed + 2);
        FloatTensor w = m.parameters().get("score.weight");
        Random r = new Random(seed + 3);
        for (int i = 0; i < w.size(); i++) w.set(i, (float) (0.4 * r.nextGaussian()));
        return m;
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int[] ids = GptTestSupport.randomIds(3, B * T, V), labels = {2, 0};
        String[] names = {"score.weight", "h.1.mlp.c_proj.weight", "h.0.attn.c_attn.weight", "ln_f.weight", "wte.weight",
                "wpe.weight"};
        for (double p : new double[] {0.0, 0.2}) {
            GptClassifier m = model(7);
            m.zeroGrad();
            m.setDropout(p, 11);                         // the same masks for the analytic pass and each perturbation
            m.forward(ids, LENGTHS, labels, B, T);
            m.backward();
            GradientCheck check = new GradientCheck(1e-2, 1e-4);
            Random pick = new Random(5);
            for (String name : names) {
                FloatTensor w = m.parameters().get(name), g = m.gradients().get(name);
                assertNotNull(w, name);
                Integer[] order = IntStream.range(0, w.size()).boxed().toArray(Integer[]::new);
                Collections.shuffle(Arrays.asList(order), pick);
                for (int k = 0; k < Math.min(8, order.length); k++) {
                    int i = order[k];
                    check.check(name + "[" + i + "] p=" + p, g.get(i), GradientCheck.centralDifference(w, i, 1e-2f, () -> {
                        m.setDropout(p, 11);
                        return m.forward(ids, LENGTHS, labels, B, T);
                    }));
                }
            }
            System.out.println(check.summary(names.length));
        }
    }

    @Test
    void logitsAreTheScoreOfTheLastRealTokenWhateverThePadding(@TempDir Path dir) {
        GptClassifier m = model(3);
        int[] ids = GptTestSupport.randomIds(4, B * T, V);
        m.eval().forward(ids, LENGTHS, null, B, T);
        double[] logits = m.logits().toDoubleArray();                               // [B, C]
        // independent: each sequence alone, cut to its length, through a plain Gpt forward
        Gpt alone = m.body();
        FloatTensor score = m.parameters().get("score.weight");                     // [C, E]
        for (int r = 0; r < B; r++) {
            int len = LENGTHS[r];
            alone.forward(Arrays.copyOfRange(ids, r * T, r * T + len), null, 1, len);
            FloatTensor h = alone.lastHiddenState();                                // [len, E]
            for (int c = 0; c < CLASSES; c++) {
                double z = 0;
                for (int j = 0; j < E; j++) z += score.get(c * E + j) * h.get((len - 1) * E + j);
                assertEquals(z, logits[r * CLASSES + c], 1e-5, "logit " + r + "," + c);
            }
        }
        int[] repadded = ids.clone();
        for (int k = LENGTHS[1]; k < T; k++) repadded[T + k] = (repadded[T + k] + 7) % V;   // other padding ids
        m.forward(repadded, LENGTHS, null, B, T);
        assertArrayEquals(logits, m.logits().toDoubleArray(), 0.0);

        m.save(dir);
        GptClassifier back = GptClassifier.load(dir, B, T);
        back.eval().forward(ids, LENGTHS, null, B, T);
        assertArrayEquals(logits, back.logits().toDoubleArray(), 0.0);
        assertEquals(CLASSES, back.classes());
        assertEquals(m.parameterCount(), back.parameterCount());
        assertEquals(m.body().parameterCount() + (long) CLASSES * E, m.parameterCount());
    }

    @Test
    void badInputIsRefusedWithItsValue(@TempDir Path dir) {
        GptClassifier m = model(1);
        int[] ids = GptTestSupport.randomIds(4, B * T, V);
        assertEquals("labels: class 3 of sequence 1 is outside [0, 3)", assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, LENGTHS, new int[] {0, 3}, B, T)).getMessage());
        assertEquals("lengths: length 0 of sequence 0 is outside [1, t = 8]", assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, new int[] {0, 3}, null, B, T)).getMessage());
        assertEquals("lengths: need one length per sequence (b = 2) but got 1", assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, new int[] {3}, null, B, T)).getMessage());
        assertEquals("classes: must be >= 2 but was 1", assertThrows(IllegalArgumentException.class,
                () -> new GptClassifier(m.body(), 1, 0)).getMessage());
        assertEquals("backward: the last forward had no labels (or there was none)",
                assertThrows(IllegalStateException.class, () -> model(2).backward()).getMessage());
        m.body().save(dir);
        assertEquals(dir + ": no classifier.safetensors (the classification head); a plain model directory loads with Gpt.load",
                assertThrows(org.distillery.io.CheckpointFormatException.class, () -> GptClassifier.load(dir, B, T)).getMessage());
    }
}
