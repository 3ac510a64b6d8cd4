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
        return train(data, epochs, limit, pIn, pHidden, jitter, seed, 1e-3, BATCH);
    }

    static Mlp train(Mnist data, int epochs, int limit, double pIn, double pHidden, int jitter, long seed, double lr, int BATCH) {
        int n = Math.min(limit, data.size()), in = Mnist.PIXELS;
        float[] pixels = data.pixels();
        int[] labels = data.labels();
        Mlp m = new Mlp(List.of(in, 100, Mnist.CLASSES), pIn, pHidden, BATCH, seed);
        AdamW opt = new AdamW(m.parameters(), m.gradients(), AdamW.Options.defaults(lr).withWeightDecay(0));
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

    /**
     * 784-100-10, hidden dropout 0.2, inputs jittered by up to 1 pixel, AdamW (lr 3e-3, no weight decay),
     * batch 64, 15 epochs: measured 53 test errors (97.3 %) in about 6 s on 2 loaded cores. Without dropout
     * and jitter the same net plateaus near 95 % (about 95-100 errors): 8,004 training images are few.
     * The bound, 96 %, leaves room for another BLAS summation order.
     */
    @Test
    void reachesNinetySixPercentOnTheTestSplit() {
        Mnist trainSet = Mnist.load(Mnist.Split.TRAIN), testSet = Mnist.load(Mnist.Split.TEST);
        long t0 = System.nanoTime();
        Mlp m = train(trainSet, 15, Integer.MAX_VALUE, 0, 0.2, 1, 2024, 3e-3, BATCH);
        double secs = (System.nanoTime() - t0) / 1e9;
        int wrong = errors(m, testSet), trainWrong = errors(m, trainSet);
        double acc = 1 - (double) wrong / testSet.size();
        System.out.printf("MNIST 784-100-10 (hidden dropout 0.2, jitter 1 px), 15 epochs AdamW lr 3e-3 batch %d: %.1f s;"
                + " test accuracy %.2f %% (%d errors of %d), train errors %d of %d%n",
                BATCH, secs, 100 * acc, wrong, testSet.size(), trainWrong, trainSet.size());
        assertTrue(acc > 0.96, "test accuracy " + acc + " (" + wrong + " errors of " + testSet.size() + ")");
        assertTrue(secs < 60, "training took " + secs + " s");
    }

    /** Two runs from one seed, with input and hidden dropout and 2-pixel jitter on, give bit-identical parameters. */
    @Test
    void twoRunsWithTheSameSeedAreBitIdentical() {
        Mnist trainSet = Mnist.load(Mnist.Split.TRAIN);
        Mlp a = train(trainSet, 2, 640, 0.2, 0.5, 2, 77, 1e-3, BATCH);
        Mlp b = train(trainSet, 2, 640, 0.2, 0.5, 2, 77, 1e-3, BATCH);
        Mlp c = train(trainSet, 2, 640, 0.2, 0.5, 2, 78, 1e-3, BATCH);
        boolean differs = false;
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            FloatTensor pa = e.getValue(), pb = b.parameters().get(e.getKey()), pc = c.parameters().get(e.getKey());
            for (int i = 0; i < pa.size(); i++) {
                assertEquals(Float.floatToRawIntBits(pa.get(i)), Float.floatToRawIntBits(pb.get(i)), e.getKey() + "[" + i + "]");
                differs |= pa.get(i) != pc.get(i);
            }
        }
        assertTrue(differs, "another seed gives another model");
    }
}
