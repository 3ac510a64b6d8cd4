package org.distillery.train;

import org.distillery.engine.kernels.AdamWKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link AdamW} against a naive double implementation of PyTorch's formulas
 * ({@code clip_grad_norm_} then {@code torch.optim.AdamW}), and the closed form of the first step.
 */
class AdamWTest {

    /** Tensor lengths chosen so that every vector loop has a scalar tail (37, 185 = 5*37). */
    private static Map<String, FloatTensor> params(Random r) {
        Map<String, FloatTensor> p = new LinkedHashMap<>();
        p.put("h.0.mlp.c_fc.weight", FloatTensor.zeros(5, 37));
        p.put("h.0.mlp.c_fc.bias", FloatTensor.zeros(37));
        p.put("h.0.ln_1.weight", FloatTensor.zeros(37));
        p.put("wte.weight", FloatTensor.zeros(3, 4));
        for (FloatTensor t : p.values()) for (int i = 0; i < t.size(); i++) t.set(i, (float) r.nextGaussian());
        return p;
    }

    private static Map<String, FloatTensor> zerosLike(Map<String, FloatTensor> p) {
        Map<String, FloatTensor> g = new LinkedHashMap<>();
        p.forEach((n, t) -> g.put(n, t.rank() == 1 ? FloatTensor.zeros(t.dim(0)) : FloatTensor.zeros(t.dim(0), t.dim(1))));
        return g;
    }

    @Test
    void matchesNaiveDoublePyTorchFormulasOverSeveralSteps() {
        Random r = new Random(1);
        Map<String, FloatTensor> p = params(r), g = zerosLike(p);
        AdamW.Options o = new AdamW.Options(1e-2, 0.9, 0.95, 1e-8, 0.1, 1.0);
        AdamW opt = new AdamW(p, g, o, AdamW.DECAY_EXCEPT_BIAS_AND_NORM, AdamW.matching("^wte."));
        assertEquals(List.of("wte.weight"), opt.frozen());
        assertEquals(List.of("h.0.mlp.c_fc.weight"), opt.decayed());

        Map<String, double[]> rp = new LinkedHashMap<>(), rm = new LinkedHashMap<>(), rv = new LinkedHashMap<>();
        p.forEach((n, t) -> {
            rp.put(n, t.toDoubleArray());
            rm.put(n, new double[t.size()]);
            rv.put(n, new double[t.size()]);
        });
        double[] frozenBefore = p.get("wte.weight").toDoubleArray();
        for (int step = 1; step <= 6; step++) {
            double gradScale = step == 4 ? 0.01 : 1.0;             // step 4: norm below the clip threshold
            for (FloatTensor t : g.values()) for (int i = 0; i < t.size(); i++) t.set(i, (float) (gradScale * r.nextGaussian()));
            double sq = 0;
            for (String n : List.of("h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias", "h.0.ln_1.weight")) {
                for (double x : g.get(n).toDoubleArray()) sq += x * x;
            }
            double norm = Math.sqrt(sq);
            double clip = norm > 1.0 ? 1.0 / (norm + 1e-6) : 1.0;
            for (String n : List.of("h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias", "h.0.ln_1.weight")) {
                double wd = n.equals("h.0.mlp.c_fc.weight") ? 0.1 : 0.0;
                AdamWKernel.updateReference(rp.get(n), g.get(n).toDoubleArray(), rm.get(n), rv.get(n), clip, 1e-2, wd,
                        0.9, 0.95, 1e-8, step);
            }
            double[] gBefore = g.get("h.0.mlp.c_fc.bias").toDoubleArray();
            double returned = opt.step();
            assertEquals(norm, returned, 1e-6 * norm, "pre-clip norm, step " + step);
            assertArrayEquals(gBefore, g.get("h.0.mlp.c_fc.bias").toDoubleArray(), "gradients are not modified");
            double worst = 0;
            for (String n : rp.keySet()) {
                if (n.equals("wte.weight")) continue;
                double[] ours = p.get(n).toDoubleArray(), ref = rp.get(n);
                for (int i = 0; i < ref.length; i++) {
                    worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
                    assertEquals(ref[i], ours[i], 2e-6, n + "[" + i + "] step " + step);
                }
            }
            System.out.printf("step %d: grad norm %.4f (clip factor %.4f), max |fp32 - double| over params %.2e%n",
                    step, norm, clip, worst);
        }
        assertEquals(6, opt.stepCount());
        assertArrayEquals(frozenBefore, p.get("wte.weight").toDoubleArray(), 0.0, "frozen tensor untouched");
    }

    @Test
    void firstStepClosedForm() {
        // step 1: m/bc1 = g and sqrt(v/bc2) = |g|, so p1 = p0 (1 - lr wd) - lr g / (|g| + eps)
        Random r = new Random(2);
        Map<String, FloatTensor> p = new LinkedHashMap<>();
        p.put("a.weight", FloatTensor.zeros(50));
        p.put("a.bias", FloatTensor.zeros(50));
        for (FloatTensor t : p.values()) for (int i = 0; i < t.size(); i++) t.set(i, (float) r.nextGaussian());
        Map<String, FloatTensor> g = zerosLike(p);
        for (FloatTensor t : g.values()) for (int i = 0; i < t.size(); i++) t.set(i, (float) (r.nextGaussian() * 1e-2));
        Map<String, double[]> p0 = new LinkedHashMap<>();
        p.forEach((n, t) -> p0.put(n, t.toDoubleArray()));
        double lr = 1e-3, wd = 0.5, eps = 1e-8;
        new AdamW(p, g, new AdamW.Options(lr, 0.9, 0.999, eps, wd, 0)).step();
        for (String n : p.keySet()) {
            double decay = n.endsWith(".bias") ? 0 : wd;
            for (int i = 0; i < 50; i++) {
                double gi = g.get(n).get(i);
                double expect = p0.get(n)[i] * (1 - lr * decay) - lr * gi / (Math.abs(gi) + eps);
                assertEquals(expect, p.get(n).get(i), 1e-6, n + "[" + i + "]");
            }
        }
    }

    @Test
    void rejectsBadOptionsAndMismatchedGradients() {
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Options(0, 0.9, 0.999, 1e-8, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Options(1e-3, 1.0, 0.999, 1e-8, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Options(1e-3, 0.9, 0.999, 1e-8, -1, 0));
        Map<String, FloatTensor> p = Map.of("x", FloatTensor.zeros(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(p, Map.of("x", FloatTensor.zeros(4)), AdamW.Options.defaults(1e-3)));
        assertTrue(e.getMessage().contains("x"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new AdamW(p, Map.of(), AdamW.Options.defaults(1e-3)));
    }
}
