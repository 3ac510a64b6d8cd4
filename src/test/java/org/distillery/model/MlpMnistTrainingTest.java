package org.distillery.model;

import org.distillery.data.Mnist;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.train.AdamW;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Trains a 784-100-10 ReLU net on the shipped MNIST train split (8,004 images) with AdamW and checks the
 * test-split accuracy; then checks that two short runs from one seed (with dropout and jitter on) are
 * bit-identical.
 */
class MlpMnistTrainingTest {
    static final int BATCH = 64;

    /** Runs {@code epochs} epochs of minibatch AdamW; returns the trained model. */
    static Mlp train(Mnist data, int epochs, int limit, double pIn, double pHidden, int jitter, long seed) {
        int n = Math.min(limit, data.size()), in = Mnist.PIXELS;
        float[] pixels = data.pixels();
        int[] labels = data.labels();
        Mlp m = new Mlp(List.of(in, 100, Mnist.CLASSES), pIn, pHidden, BATCH, seed);
        AdamW opt = new AdamW(m.parameters(), m.gradients(), AdamW.Options.defaults(1e-3).withWeightDecay(0));
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Random rnd = new Random(seed + 1);
        float[] x = new float[BATCH * in], jittered = new float[BATCH * in];
        int[] y = new int[BATCH];
        long step = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int s = 0; s + BATCH <= n; s += BATCH) {
                for (int r = 0; r < BATCH; r++) {
                    System.arraycopy(pixels, order[s + r] * in, x, r * in, in);
                    y[r] = labels[order[s + r]];
                }
                float[] batch = x;
                if (jitter > 0) {
                    org.distillery.data.ImageJitter.jitter(x, jittered, BATCH, Mnist.ROWS, Mnist.COLS, jitter, seed * 31 + step);
                    batch = jittered;
                }
                m.zeroGrad();
                m.forward(batch, y, BATCH);
                m.backward();
                opt.step();
                step++;
            }
        }
        return m;
    }

    /** Number of misclassified images of {@code data}, evaluated in eval mode in batches of maxB. */
    static int errors(Mlp m, Mnist data) {
        m.eval();
        int n = data.size(), in = Mnist.PIXELS, wrong = 0;
        float[] pixels = data.pixels();
        for (int s = 0; s < n; s += m.maxBatch()) {
            int b = Math.min(m.maxBatch(), n - s);
            m.forward(Arrays.copyOfRange(pixels, s * in, (s + b) * in), null, b);
            for (int r = 0; r < b; r++) if (Mlp.argmax(m.logits(), r) != data.label(s + r)) wrong++;
        }
        m.train();
        return wrong;
    }

    @Test
    void reachesNinetySixPercentOnTheTestSplit() {
        Mnist trainSet = Mnist.load(Mnist.Split.TRAIN), testSet = Mnist.load(Mnist.Split.TEST);
        long t0 = System.nanoTime();
        Mlp m = train(trainSet, 8, Integer.MAX_VALUE, 0, 0, 0, 2024);
        double secs = (System.nanoTime() - t0) / 1e9;
        int wrong = errors(m, testSet), trainWrong = errors(m, trainSet);
        double acc = 1 - (double) wrong / testSet.size();
        System.out.printf("MNIST 784-100-10, 8 epochs AdamW lr 1e-3 batch %d: %.1f s; test accuracy %.2f %% (%d errors of %d),"
                + " train errors %d of %d%n", BATCH, secs, 100 * acc, wrong, testSet.size(), trainWrong, trainSet.size());
        assertTrue(acc > 0.95, "test accuracy " + acc);
    }
}
