package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;

import java.util.Map;
import java.util.Random;

/** Shared fixtures of the Gpt tests: the tiny configuration and a fixed batch. */
final class GptTestSupport {
    private GptTestSupport() {}

    static final int V = 32, C = 16, L = 2, NH = 2, T = 8, B = 2;

    /** V=32, n_positions=8, C=16, 2 layers, 2 heads, GPT-2 defaults otherwise (eps 1e-5, gelu_new, tied). */
    static Gpt2Config tinyConfig() {
        return Gpt2Config.of(V, T, C, L, NH);
    }

    /** Random ids [B*T] from a seed. */
    static int[] randomIds(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }

    /**
     * Overwrites every parameter with values far from the init (weights N(0, 0.3), LayerNorm gains
     * 1 + N(0, 0.2), biases N(0, 0.2)), so that every tensor has gradients well above fp32 noise.
     */
    static void randomise(Gpt g, long seed) {
        Random r = new Random(seed);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            String n = e.getKey();
            FloatTensor p = e.getValue();
            boolean gain = n.endsWith(".weight") && (n.startsWith("ln_f") || n.contains(".ln_"));
            for (int i = 0; i < p.size(); i++) {
                double z = r.nextGaussian();
                p.set(i, (float) (gain ? 1 + 0.2 * z : n.endsWith(".bias") ? 0.2 * z : 0.3 * z));
            }
        }
    }
}
