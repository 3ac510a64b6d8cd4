package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.testing.GradientCheck;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.TrainingObjective;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** QAT's fake quantization and straight-through gradient on a small random GPT, by hand and by finite differences. */
class QatTest {
    static final int V = 32, T = 8, B = 2;

    @Test
    void maskAndGridByHand() {
        // INT3 symmetric (codes -3..3), one row with scale 0.5: 0.2 -> 0, 1.6 -> 3.2 -> 3 (in), -1.8 -> -3.6 -> -4
        // (clamped: no gradient), 1.74 -> 3.48 -> 3 (in), -1.76 -> -3.52 -> -4 (clamped)
        Quantizer q = Quantizer.perChannel(3, true);
        QuantizedTensor grid = new QuantizedTensor(q, 1, 5, 5, null, new int[5], new float[] {0.5f}, new int[1]);
        float[] x = {0.2f, 1.6f, -1.8f, 1.74f, -1.76f};
        QuantizedTensor on = Qat.onGrid(grid, x);
        assertArrayEquals(new int[] {0, 3, -3, 3, -3}, on.codes());
        assertArrayEquals(new float[] {0f, 1.5f, -1.5f, 1.5f, -1.5f}, on.dequantize());
        boolean[] m = new boolean[5];
        Qat.mask(on, x, m);
        assertArrayEquals(new boolean[] {true, true, false, true, false}, m);
        // asymmetric INT2 (codes 0..3), scale 1, zero 1: -1.4 -> -1 + 1 = 0 (in), 2.6 -> 3 + 1 = 4 (out)
        Quantizer a = Quantizer.perChannel(2, false);
        QuantizedTensor ga = new QuantizedTensor(a, 1, 2, 2, null, new int[2], new float[] {1f}, new int[] {1});
        Qat.mask(Qat.onGrid(ga, new float[] {-1.4f, 2.6f}), new float[] {-1.4f, 2.6f}, m);
        assertTrue(m[0] && !m[1]);
    }

    private static Gpt randomGpt() {
        Gpt g = new Gpt(Gpt2Config.of(V, T, 16, 2, 2), B, T, 4);
        Random r = new Random(9);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            FloatTensor p = e.getValue();
            boolean gain = e.getKey().contains("ln_") && e.getKey().endsWith("weight");
            for (int i = 0; i < p.size(); i++) p.set(i, (float) (gain ? 1 + 0.2 * r.nextGaussian() : 0.3 * r.nextGaussian()));
        }
        return g;
    }

    private static int[] stream(long seed, int n) {
        Random r = new Random(seed);
        int[] s = new int[n];
        for (int i = 0; i < n; i++) s[i] = r.nextInt(V);
        return s;
    }

    /** scale * (clamp(w / scale + zero, qmin, qmax) - zero): the quantizer without its rounding. */
    private static double unrounded(double w, float scale, int zero, Quantizer q) {
        double c = Math.min(Math.max(w / scale + zero, q.intFormat().qmin()), q.intFormat().qmax());
        return scale * (c - zero);
    }

    @Test
    void theStraightThroughGradientIsTheGradientOfTheUnroundedSurrogate() {
        Gpt g = randomGpt();
        TrainConfig cfg = TrainConfig.defaults(g.config()).withBatch(B, T).withSeed(5);
        CausalLmObjective lm = new CausalLmObjective(cfg, stream(1, 400), null, g);
        Quantizer q = Quantizer.perChannel(3, true);
        Qat qat = new Qat(lm, q, Qat.Ranges.FIXED);
        String name = "h.1.mlp.c_fc.weight";
        FloatTensor latent = qat.latentWeights().get(name);          // [64, 16]
        // push every 5th latent weight of the layer out of the fixed range (x 1.6 of its row's max): clamped, no gradient
        float[] w = latent.toFloatArray();
        for (int r = 0; r < 64; r++) {
            float max = 0;
            for (int c = 0; c < 16; c++) max = Math.max(max, Math.abs(w[r * 16 + c]));
            for (int c = r % 5; c < 16; c += 5) w[r * 16 + c] = Math.copySign(1.6f * max, w[r * 16 + c]);
        }
        latent.copyFrom(w);
        TrainingObjective.MicroBatch mb = new TrainingObjective.MicroBatch(1, 0, 0);
        qat.model().zeroGrad();
        double loss = qat.forwardBackward(mb);
        float[] ste = g.gradients().get(name).toFloatArray();
        boolean[] pass = qat.gradientMask(name);
        QuantizedTensor grid = qat.finish().get(name);
        // the plain gradient at the quantized weights, masked, is the STE gradient bit for bit
        g.zeroGrad();
        assertEquals(loss, lm.forwardBackward(mb));
        float[] plain = g.gradients().get(name).toFloatArray();
        int clamped = 0;
        for (int i = 0; i < ste.length; i++) {
            assertEquals(pass[i] ? plain[i] : 0f, ste[i], "element " + i);
            if (!pass[i]) clamped++;
        }
        assertTrue(clamped >= 64 * 3 && clamped < ste.length / 2, "clamped " + clamped);
        // finite differences of L(Q + U(w + h e_i) - U(w)) with U the un-rounded quantizer, h = 1e-2
        lm.prepare(mb);
        int[] ids = lm.inputIds().clone(), targets = lm.targets().clone();
        FloatTensor weight = g.parameters().get(name);
        GradientCheck check = new GradientCheck(1e-2, 1e-4);
        Random pick = new Random(3);
        int checkedIn = 0, checkedOut = 0;
        for (int tries = 0; tries < 4000 && (checkedIn < 12 || checkedOut < 6); tries++) {
            int i = pick.nextInt(ste.length), r = i / 16;
            float s = grid.scale(r, 0), h = 1e-2f;
            int z = grid.zero(r, 0);
            double up = unrounded(w[i] + h, s, z, q) - unrounded(w[i], s, z, q);
            double down = unrounded(w[i] - h, s, z, q) - unrounded(w[i], s, z, q);
            if (pass[i] && (Math.abs(up - h) > 1e-6 || Math.abs(down + h) > 1e-6 || Math.abs(ste[i]) < 1e-3)) continue;  // near the clamp
            if (pass[i] ? checkedIn >= 12 : checkedOut >= 6) continue;
            float qi = weight.get(i);
            weight.set(i, (float) (qi + up));
            double lp = g.forward(ids, targets, B, T);
            weight.set(i, (float) (qi + down));
            double lmn = g.forward(ids, targets, B, T);
            weight.set(i, qi);
            double fd = (lp - lmn) / (up - down == 0 ? 1 : (up - down));
            if (pass[i]) {
                check.check(name + "[" + i + "]", ste[i], fd);
                checkedIn++;
            } else {
                assertEquals(0.0, up, 0.0, "clamped: the surrogate is flat");
                assertEquals(lp, lmn, 0.0);
                assertEquals(0f, ste[i]);
                checkedOut++;
            }
        }
        System.out.println(check.summary(1) + "; " + checkedOut + " clamped entries with zero gradient");
        assertEquals(12, checkedIn);
        assertEquals(6, checkedOut);
    }

    @Test
    void refitRangesClampNothingAndTheModelHoldsTheQuantizedWeights() {
        Gpt g = randomGpt();
        TrainConfig cfg = TrainConfig.defaults(g.config()).withBatch(B, T).withSeed(5);
        float[] before = g.parameters().get("h.0.attn.c_attn.weight").toFloatArray();
        Quantizer q = Quantizer.grouped(4, false, 8);
        Qat qat = new Qat(new CausalLmObjective(cfg, stream(1, 400), null, g), q, Qat.Ranges.REFIT);
        // the latent weights start as the float ones; the model holds RTN's weights
        assertArrayEquals(before, qat.latentWeights().get("h.0.attn.c_attn.weight").toFloatArray());
        assertArrayEquals(q.roundTrip(before, 48, 16), g.parameters().get("h.0.attn.c_attn.weight").toFloatArray());
        for (String n : LinearLayers.names(g)) {
            for (boolean b : qat.gradientMask(n)) assertTrue(b, n + ": min-max ranges clamp nothing");
        }
        // the optimiser's view: latent tensors under the linear weights' names, the model's own tensors otherwise
        assertTrue(qat.model().parameters().get("h.0.attn.c_attn.weight") == qat.latentWeights().get("h.0.attn.c_attn.weight"));
        assertTrue(qat.model().parameters().get("h.0.ln_1.weight") == g.parameters().get("h.0.ln_1.weight"));
        assertTrue(qat.model().gradients() == g.gradients());
        assertEquals("qat-causal-lm", qat.kind());
        assertEquals("INT4-asym g8", qat.state().get("qat").get("quantizer").asText());
    }

    @Test
    void badInput() {
        Gpt g = randomGpt();
        TrainConfig cfg = TrainConfig.defaults(g.config()).withBatch(B, T);
        CausalLmObjective lm = new CausalLmObjective(cfg, stream(1, 400), null, g);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Qat(lm, Quantizer.floating(org.distillery.formats.FloatFormat.FP16), Qat.Ranges.REFIT));
        assertEquals("quantizer: FP16 is a float format; QAT needs an integer grid (2-8 bits)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Qat(lm, Quantizer.grouped(4, true, 5), Qat.Ranges.REFIT));
        assertEquals("h.0.attn.c_attn.weight: groupSize = 5 does not divide the input width 16; use a divisor of 16 (e.g. 4)",
                e.getMessage());
        Qat qat = new Qat(lm, Quantizer.perChannel(4, true), Qat.Ranges.FIXED);
        e = assertThrows(IllegalArgumentException.class, () -> qat.gradientMask("wte.weight"));
        assertTrue(e.getMessage().startsWith("name: wte.weight is not a linear weight"), e.getMessage());
    }
}
