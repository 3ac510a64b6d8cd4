package org.distillery.model;

import org.distillery.train.AdamW;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A few hundred AdamW steps of the tiny GPT (V=32, C=16, 2 layers, 2 heads, T=8, B=2) on a fixed
 * repeating token sequence learn it: the loss falls from about ln V to below a quarter of the
 * sequence's unigram entropy (the best loss of a model that ignores context), and two runs from the
 * same seed produce bit-identical loss curves.
 */
class GptTrainingTest {

    private static final int PERIOD = 20, STEPS = 300;

    /** The repeating sequence: a fixed random pattern of PERIOD tokens over V, repeated. */
    private static int[] data() {
        int[] pattern = randomIds(77, PERIOD, V);
        int[] d = new int[PERIOD * 50];
        for (int i = 0; i < d.length; i++) d[i] = pattern[i % PERIOD];
        return d;
    }

    private static double[] train(long seed) {
        int[] data = data();
        Gpt g = new Gpt(tinyConfig(), B, T, seed);
        AdamW opt = new AdamW(g.parameters(), g.gradients(), AdamW.Options.defaults(1e-2).withMaxGradNorm(1.0));
        Random batches = new Random(seed + 1);
        int[] ids = new int[B * T], targets = new int[B * T];
        double[] losses = new double[STEPS];
        for (int s = 0; s < STEPS; s++) {
            for (int b = 0; b < B; b++) {
                int off = batches.nextInt(data.length - T - 1);
                for (int t = 0; t < T; t++) {
                    ids[b * T + t] = data[off + t];
                    targets[b * T + t] = data[off + t + 1];
                }
            }
            g.zeroGrad();
            losses[s] = g.forward(ids, targets, B, T);
            g.backward();
            opt.step();
        }
        return losses;
    }

    @Test
    void lossFallsBelowTheUnigramEntropyAndRunsAreBitIdentical() {
        int[] data = data();
        double[] count = new double[V];
        for (int x : data) count[x]++;
        double entropy = 0;
        for (double c : count) if (c > 0) entropy -= c / data.length * Math.log(c / data.length);

        double[] a = train(123), b = train(123);
        double first = mean(a, 0, 10), last = mean(a, STEPS - 20, STEPS);
        System.out.printf("unigram entropy %.4f nats; loss: first 10 steps %.4f, last 20 steps %.4f (ln V = %.4f)%n",
                entropy, first, last, Math.log(V));
        assertEquals(Math.log(V), a[0], 0.1, "initial loss near ln V");
        assertTrue(last < entropy / 4, "mean loss of the last 20 steps " + last + " is not below unigram entropy / 4 = "
                + entropy / 4);
        for (int s = 0; s < STEPS; s++) {
            assertEquals(Double.doubleToRawLongBits(a[s]), Double.doubleToRawLongBits(b[s]), "step " + s + " differs");
        }
    }

    private static double mean(double[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += x[i];
        return s / (to - from);
    }
}
