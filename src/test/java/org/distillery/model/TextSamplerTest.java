package org.distillery.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

class TextSamplerTest {
    private static int argmaxOfLastRow(Gpt g, int[] window) {
        g.forward(window, null, 1, window.length);
        FloatTensor logits = g.logits();
        int v = g.config().vocabSize(), off = (window.length - 1) * v, best = 0;
        for (int i = 1; i < v; i++) {
            if (logits.get(off + i) > logits.get(off + best)) best = i;
        }
        return best;
    }

    @Test
    void greedyPicksTheArgmaxGivenTheLastContextWindowTokens() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), 1, GptTestSupport.T, 7);
        GptTestSupport.randomise(g, 11);
        int[] prompt = {3, 1, 4};
        int[] out = TextSampler.generate(g, prompt, TextSampler.Options.greedy(10));   // 13 tokens > context 8
        assertEquals(13, out.length);
        assertArrayEquals(prompt, Arrays.copyOf(out, 3));
        for (int n = 3; n < out.length; n++) {
            int t = Math.min(n, GptTestSupport.T);
            assertEquals(argmaxOfLastRow(g, Arrays.copyOfRange(out, n - t, n)), out[n], "token " + n);
        }
    }

    @Test
    void samplingFollowsTheTemperedAndTruncatedDistribution() {
        double[] probs = {0.1, 0.2, 0.3, 0.4};
        double[] logp = Arrays.stream(probs).map(Math::log).toArray();
        FloatTensor logits = FloatTensor.of(logp, 1, 4);
        // T = 1: the probabilities themselves; T = 0.5: p^2 normalised; top-2: the two largest renormalised
        assertFrequencies(logits, new TextSampler.Options(1, 1.0, 0, 1), probs);
        assertFrequencies(logits, new TextSampler.Options(1, 0.5, 0, 2), new double[] {0.01 / 0.3, 0.04 / 0.3, 0.09 / 0.3, 0.16 / 0.3});
        assertFrequencies(logits, new TextSampler.Options(1, 1.0, 2, 3), new double[] {0, 0, 0.3 / 0.7, 0.4 / 0.7});
    }

    /** 200,000 draws: each frequency within 0.005 of its probability (more than 4 standard deviations). */
    private static void assertFrequencies(FloatTensor logits, TextSampler.Options o, double[] expected) {
        SplittableRandom rnd = new SplittableRandom(o.seed());
        int n = 200_000;
        int[] counts = new int[expected.length];
        double[] scratch = new double[expected.length];
        for (int i = 0; i < n; i++) {
            counts[TextSampler.next(logits, 0, expected.length, o, rnd, scratch)]++;
        }
        for (int v = 0; v < expected.length; v++) {
            assertEquals(expected[v], counts[v] / (double) n, 0.005, "token " + v + " with " + o);
        }
    }

    @Test
    void theSameSeedGivesTheSameText() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), 1, GptTestSupport.T, 7);
        GptTestSupport.randomise(g, 12);
        TextSampler.Options o = new TextSampler.Options(12, 0.8, 5, 99);
        assertArrayEquals(TextSampler.generate(g, new int[] {1}, o), TextSampler.generate(g, new int[] {1}, o));
    }

    @Test
    void badOptionsNameTheArgument() {
        assertEquals("temperature must be 0 (greedy) or a finite value > 0, got -1.0", assertThrows(
                IllegalArgumentException.class, () -> new TextSampler.Options(1, -1, 0, 0)).getMessage());
        assertEquals("topK must be >= 0 (0 = all tokens), got -2", assertThrows(
                IllegalArgumentException.class, () -> new TextSampler.Options(1, 1, -2, 0)).getMessage());
        assertEquals("maxNewTokens must be >= 0, got -1", assertThrows(
                IllegalArgumentException.class, () -> new TextSampler.Options(-1, 1, 0, 0)).getMessage());
    }
}
