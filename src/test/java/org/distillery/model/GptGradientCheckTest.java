package org.distillery.model;

import org.distillery.testing.GradientCheck;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-model gradient check of {@link Gpt#backward()} against central finite differences of
 * {@link Gpt#forward} in fp32, for every parameter tensor of a tiny GPT-2 (V=32, C=16, 2 layers, 2 heads,
 * B=2, T=8, two ignored targets), with parameters drawn far from the init so that all tensors have
 * sizeable gradients.
 *
 * <p>Tolerance: step h = 1e-2; |fd - g| &lt;= 1e-2 |g| + 1e-4. The loss is an fp32 network summed in double:
 * its rounding noise is about 1e-7 relative (about 4e-7 absolute at loss ~3.5), i.e. up to ~2e-5 in
 * (l+ - l-)/(2h); the truncation error of the central difference is O(h^2 f''') and a few per cent of
 * g at worst for entries where the loss is strongly curved. Per tensor the 4 entries with the largest
 * |g| and 4 random entries with |g| &gt; 1e-3 are checked. The tight comparison (1e-5) is the PyTorch
 * parity test.
 */
class GptGradientCheckTest {

    @Test
    void backwardMatchesFiniteDifferencesForEveryParameterTensor() {
        Gpt g = new Gpt(tinyConfig(), B, T, 1);
        randomise(g, 7);
        int[] ids = randomIds(11, B * T, V);
        int[] targets = randomIds(12, B * T, V);
        targets[3] = Gpt.IGNORE_INDEX;
        targets[B * T - 1] = Gpt.IGNORE_INDEX;
        g.zeroGrad();
        g.forward(ids, targets, B, T);
        g.backward();

        float h = 1e-2f;
        double rel = 1e-2, abs = 1e-4;
        Random pick = new Random(5);
        GradientCheck check = new GradientCheck(rel, abs);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            String name = e.getKey();
            FloatTensor p = e.getValue(), grad = g.gradients().get(name);
            Integer[] order = IntStream.range(0, p.size()).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(grad.get(i))));
            int[] entries = new int[8];
            for (int k = 0; k < 4; k++) entries[k] = order[k];
            for (int k = 4; k < 8; k++) {
                int i;
                int tries = 0;
                do {
                    i = pick.nextInt(p.size());
                } while (Math.abs(grad.get(i)) < 1e-3 && ++tries < 1000);
                entries[k] = i;
            }
            assertTrue(Math.abs(grad.get(order[0])) > 1e-3, name + ": largest gradient " + grad.get(order[0])
                    + " is negligible; the check would be vacuous");
            for (int i : entries) {
                check.check(name + "[" + i + "]", grad.get(i), GradientCheck.centralDifference(p, i, h, () -> g.forward(ids, targets, B, T)));
            }
        }
        System.out.println(check.summary(g.parameters().size()));
    }

    /**
     * With dropout (p = 0.2 on the embedding, both residual branches and every block's attention
     * probabilities) the masks are a function of (seed, forward count, site); resetting the seed before every
     * forward fixes them, so backward must again match finite differences (same tolerance, the 3 largest-|g|
     * entries of a few tensors; c_attn's gradient reaches it only through the dropped attention probabilities).
     */
    @Test
    void backwardMatchesFiniteDifferencesWithDropout() {
        Gpt g = new Gpt(tinyConfig(), B, T, 1);
        randomise(g, 8);
        int[] ids = randomIds(21, B * T, V), targets = randomIds(22, B * T, V);
        g.setDropout(0.0, 99);
        double noDrop = g.forward(ids, targets, B, T);
        g.setDropout(0.2, 99);
        g.zeroGrad();
        double loss = g.forward(ids, targets, B, T);
        g.backward();
        g.setDropout(0.2, 99);
        assertTrue(loss == g.forward(ids, targets, B, T), "same seed and count, same masks");
        assertTrue(Math.abs(loss - noDrop) > 1e-3, "dropout changes the loss: " + loss + " vs " + noDrop);
        float h = 1e-2f;
        GradientCheck dropoutCheck = new GradientCheck(1e-2, 1e-4);
        for (String name : new String[] {"wte.weight", "wpe.weight", "h.0.attn.c_attn.weight", "h.1.attn.c_attn.bias", "h.1.mlp.c_proj.bias",
                "h.1.ln_2.weight", "ln_f.bias"}) {
            FloatTensor p = g.parameters().get(name), grad = g.gradients().get(name);
            Integer[] order = IntStream.range(0, p.size()).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(grad.get(i))));
            for (int k = 0; k < 3; k++) {
                int i = order[k];
                double fd = GradientCheck.centralDifference(p, i, h, () -> {
                    g.setDropout(0.2, 99);   // the same masks for every forward
                    return g.forward(ids, targets, B, T);
                });
                dropoutCheck.check("dropout " + name + "[" + i + "]", grad.get(i), fd);
            }
        }
    }
}
