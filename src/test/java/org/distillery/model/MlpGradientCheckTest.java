package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Whole-model gradient check of {@link Mlp#backward()} against central finite differences of
 * {@link Mlp#forward} in fp32, for every parameter tensor of a 13-9-7-5 net (B = 4), with input dropout
 * 0.2 and hidden dropout 0.3 on (the masks fixed by resetting the dropout seed before every forward)
 * and with dropout off (eval mode).
 *
 * <p>Tolerance: step h = 1e-2; |fd - g| &lt;= 1e-2 |g| + 1e-4. The loss is an fp32 network summed in
 * double: its rounding noise (about 1e-7 relative, loss ~1.7) is up to ~2e-5 in (l+ - l-)/(2h); between
 * ReLU kinks the loss is a smooth function (softmax cross-entropy of a function linear in each single
 * parameter), so the truncation error of the central difference is O(h^2) and small. A perturbation
 * that moves a hidden pre-activation across 0 (a kink, where the loss is not differentiable) is
 * detected by comparing the sign patterns of every hidden pre-activation at +h and -h with the
 * unperturbed one; such entries are skipped and counted (at most 1 in 10 may be). Per tensor the 4
 * entries with the largest |g| and 4 random entries with |g| &gt; 1e-3 are checked.
 */
class MlpGradientCheckTest {
    static final List<Integer> SIZES = List.of(13, 9, 7, 5);
    static final int B = 4;

    static float[] randomInputs(long seed, int n) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** Sign pattern (z > 0) of every hidden pre-activation of the last forward. */
    static boolean[] kinks(Mlp m) {
        int total = 0;
        for (int i = 0; i < SIZES.size() - 2; i++) total += m.preActivation(i).size();
        boolean[] s = new boolean[total];
        int k = 0;
        for (int i = 0; i < SIZES.size() - 2; i++) {
            FloatTensor z = m.preActivation(i);
            for (int j = 0; j < z.size(); j++) s[k++] = z.get(j) > 0;
        }
        return s;
    }

    @Test
    void backwardMatchesFiniteDifferencesWithFixedDropoutMasks() {
        check(0.2, 0.3, true);
    }

    @Test
    void backwardMatchesFiniteDifferencesInEvalMode() {
        check(0.2, 0.3, false);
    }

    private static void check(double pIn, double pHidden, boolean training) {
        Mlp m = new Mlp(SIZES, pIn, pHidden, B, 3);
        if (!training) m.eval();
        float[] x = randomInputs(4, B * SIZES.get(0));
        int[] labels = {0, 4, 2, 4};
        long maskSeed = 99;
        m.setDropout(pIn, pHidden, maskSeed);
        double loss = m.forward(x, labels, B);
        m.setDropout(pIn, pHidden, 0);
        double otherMasks = m.forward(x, labels, B);
        if (training) assertTrue(Math.abs(loss - otherMasks) > 1e-3, "dropout changes the loss: " + loss + " vs " + otherMasks);
        else assertEquals(loss, otherMasks, 0.0, "eval mode: no dropout");
        m.setDropout(pIn, pHidden, maskSeed);
        m.zeroGrad();
        assertEquals(loss, m.forward(x, labels, B), 0.0, "same seed, same masks");
        boolean[] base = kinks(m);
        m.backward();

        float h = 1e-2f;
        double rel = 1e-2, abs = 1e-4;
        Random pick = new Random(5);
        int checked = 0, skipped = 0;
        double worst = 0;
        String worstAt = "";
        for (Map.Entry<String, FloatTensor> e : m.parameters().entrySet()) {
            String name = e.getKey();
            FloatTensor p = e.getValue(), grad = m.gradients().get(name);
            Integer[] order = IntStream.range(0, p.size()).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(grad.get(i))));
            assertTrue(Math.abs(grad.get(order[0])) > 1e-3, name + ": largest gradient " + grad.get(order[0])
                    + " is negligible; the check would be vacuous");
            int[] entries = new int[8];
            for (int k = 0; k < 4; k++) entries[k] = order[k];
            for (int k = 4; k < 8; k++) {
                int i, tries = 0;
                do {
                    i = pick.nextInt(p.size());
                } while (Math.abs(grad.get(i)) < 1e-3 && ++tries < 1000);
                entries[k] = i;
            }
            for (int i : entries) {
                float orig = p.get(i);
                p.set(i, orig + h);
                m.setDropout(pIn, pHidden, maskSeed);
                double lp = m.forward(x, labels, B);
                boolean crossedP = !Arrays.equals(base, kinks(m));
                p.set(i, orig - h);
                m.setDropout(pIn, pHidden, maskSeed);
                double lm = m.forward(x, labels, B);
                boolean crossedM = !Arrays.equals(base, kinks(m));
                p.set(i, orig);
                if (crossedP || crossedM) {
                    skipped++;
                    continue;
                }
                double fd = (lp - lm) / (2 * h), an = grad.get(i);
                double err = Math.abs(fd - an), excess = err / (rel * Math.abs(an) + abs);
                if (excess > worst) {
                    worst = excess;
                    worstAt = name + "[" + i + "] analytic " + an + " fd " + fd;
                }
                assertTrue(err <= rel * Math.abs(an) + abs,
                        name + "[" + i + "]: analytic " + an + " vs finite difference " + fd + " (|diff| " + err + ")");
                checked++;
            }
        }
        System.out.printf("MLP gradient check (%s): %d entries of %d tensors, %d skipped at a ReLU kink;"
                        + " worst |diff| / tolerance = %.3f at %s%n", training ? "dropout masks fixed" : "eval",
                checked, m.parameters().size(), skipped, worst, worstAt);
        assertTrue(skipped * 10 <= checked + skipped, skipped + " of " + (checked + skipped) + " entries at a kink");
    }
}
