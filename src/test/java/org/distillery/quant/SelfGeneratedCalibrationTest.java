package org.distillery.quant;

import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.model.TextSampler;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelfGeneratedCalibrationTest {
    static final int V = 32, T = 16;

    /** A tiny GPT with weights far enough from the init that its next-token distributions are not flat. */
    static Gpt model() {
        Gpt g = new Gpt(Gpt2Config.of(V, T, 16, 2, 2), 2, T, 5);
        Random r = new Random(6);
        g.parameters().forEach((n, p) -> {
            if (n.contains("ln_")) return;
            for (int i = 0; i < p.size(); i++) p.set(i, (float) (0.3 * r.nextGaussian()));
        });
        return g;
    }

    @Test
    void greedyPrefixThenSampledTailFromTheStartSet() {
        Gpt g = model();
        int[] starts = {3, 7, 11};
        SelfGeneratedCalibration c = new SelfGeneratedCalibration(6, T, 4, 1.0, 0, starts, 42);
        List<int[]> w = c.generate(g);
        assertEquals(6, w.size());
        for (int[] x : w) {
            assertEquals(T, x.length);
            assertTrue(Arrays.stream(starts).anyMatch(s -> s == x[0]), "start token " + x[0]);
            int[] greedy = TextSampler.generate(g, new int[] {x[0]}, TextSampler.Options.greedy(4));
            assertArrayEquals(greedy, Arrays.copyOf(x, 5), "tokens 1..4 are the greedy continuation");
            for (int id : x) assertTrue(id >= 0 && id < V);
        }
        // the sampled tails differ between windows with the same start (sampling, not greedy)
        long distinct = w.stream().map(Arrays::toString).distinct().count();
        assertEquals(6, distinct);
    }

    @Test
    void deterministicForASeedAndPrefixStableInTheSampleCount() {
        Gpt g = model();
        Map<String, float[]> before = new HashMap<>();
        g.parameters().forEach((n, p) -> before.put(n, p.toFloatArray()));
        g.train();
        SelfGeneratedCalibration c = SelfGeneratedCalibration.of(5, T, 7).withSampling(0.8, 10);
        List<int[]> a = c.generate(g), b = c.generate(g);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "window " + i);
        List<int[]> more = new SelfGeneratedCalibration(8, T, 3, 0.8, 10, null, 7).generate(g);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), more.get(i), "window " + i + " of 8");
        List<int[]> other = SelfGeneratedCalibration.of(5, T, 8).withSampling(0.8, 10).generate(g);
        assertFalse(Arrays.equals(SelfGeneratedCalibration.concatenate(a), SelfGeneratedCalibration.concatenate(other)));
        assertTrue(g.isTraining(), "mode restored");
        g.parameters().forEach((n, p) -> assertArrayEquals(before.get(n), p.toFloatArray(), 0f, n));
        assertEquals(5 * T, SelfGeneratedCalibration.concatenate(a).length);
    }

    @Test
    void badOptions() {
        Gpt g = model();
        assertEquals("length = 17 exceeds the model's maxT = 16 (a calibration window must fit the context)",
                assertThrows(IllegalArgumentException.class, () -> SelfGeneratedCalibration.of(1, T + 1, 0).generate(g)).getMessage());
        assertEquals("greedyTokens = 15 must be in [0, length - 1 = 15)", assertThrows(IllegalArgumentException.class,
                () -> SelfGeneratedCalibration.of(1, T, 0).withGreedyTokens(15)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> SelfGeneratedCalibration.of(0, T, 0));
        assertThrows(IllegalArgumentException.class, () -> SelfGeneratedCalibration.of(1, T, 0).withSampling(0, 0));
        assertThrows(IllegalArgumentException.class, () -> SelfGeneratedCalibration.of(1, T, 0).withStartTokens());
        assertEquals("startTokens: id 32 is outside [0, 32)", assertThrows(IllegalArgumentException.class,
                () -> SelfGeneratedCalibration.of(1, T, 0).withStartTokens(1, 32).generate(g)).getMessage());
    }
}
