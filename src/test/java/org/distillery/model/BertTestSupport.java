package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;

import java.util.Map;
import java.util.Random;

/** Shared fixtures of the Bert tests: a tiny configuration and a padded batch. */
final class BertTestSupport {
    private BertTestSupport() {}

    static final int V = 32, H = 16, L = 2, NH = 2, I = 24, P = 10, TT = 2, T = 8, B = 2;
    /** Real lengths of the test batch: the second sequence has 3 padding positions. */
    static final int[] LENGTHS = {T, T - 3};

    /** V=32, H=16, 2 layers, 2 heads, I=24, 10 positions, 2 token types, eps 1e-12, gelu, pad_token_id 0. */
    static BertConfig tinyConfig() {
        return new BertConfig(V, H, L, NH, I, "gelu", P, TT, 1e-12, Map.of("pad_token_id", 0));
    }

    /** Random ids in [lo, vocab) from a seed. */
    static int[] randomIds(long seed, int n, int lo, int vocab) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = lo + r.nextInt(vocab - lo);
        return ids;
    }

    /** Token types 0 then 1 from the middle of each sequence. */
    static int[] segments(int b, int t) {
        int[] types = new int[b * t];
        for (int i = 0; i < b * t; i++) types[i] = i % t >= t / 2 ? 1 : 0;
        return types;
    }

    /** Labels: -100 except about half of the real positions (random targets); none at padding. */
    static int[] labels(long seed, int[] lengths, int t) {
        Random r = new Random(seed);
        int[] labels = new int[lengths.length * t];
        for (int s = 0; s < lengths.length; s++) {
            for (int p = 0; p < t; p++) {
                labels[s * t + p] = p < lengths[s] && r.nextBoolean() ? r.nextInt(V) : Bert.IGNORE_INDEX;
            }
        }
        return labels;
    }

    /**
     * Overwrites every parameter with values far from the init (weights N(0, 0.3), LayerNorm gains
     * 1 + N(0, 0.2), biases N(0, 0.2)), so that every tensor has gradients well above fp32 noise.
     */
    static void randomise(Bert m, long seed) {
        Random r = new Random(seed);
        for (Map.Entry<String, FloatTensor> e : m.parameters().entrySet()) {
            String n = e.getKey();
            FloatTensor p = e.getValue();
            boolean gain = n.endsWith("LayerNorm.weight");
            for (int i = 0; i < p.size(); i++) {
                double z = r.nextGaussian();
                p.set(i, (float) (gain ? 1 + 0.2 * z : n.endsWith("bias") ? 0.2 * z : 0.3 * z));
            }
        }
    }

    static float[] floats(FloatTensor t) {
        float[] f = new float[t.size()];
        for (int i = 0; i < f.length; i++) f[i] = t.get(i);
        return f;
    }
}
