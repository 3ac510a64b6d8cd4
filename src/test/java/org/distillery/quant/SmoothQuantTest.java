package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SmoothQuant's scale formula by hand, the fold on a small random GPT, and bad input. */
class SmoothQuantTest {

    @Test
    void scalesByHand() {
        float[] x = {4f, 1f, 0.25f, 0f, 9f}, w = {1f, 4f, 0f, 2f, 0.01f};
        // alpha 0.5: sqrt(max|X|) / sqrt(max|W|); max|W| = 0 is floored at 1e-5, s = 0 at 1e-5
        double[] s = SmoothQuant.scales(x, w, 0.5);
        assertArrayEquals(new double[] {2.0, 0.5, 0.5 / Math.sqrt(1e-5), 1e-5, 3.0 / Math.sqrt(0.01f)}, s, 1e-12);
        // alpha 1: s = max|X| (all the difficulty to the weights); alpha 0: s = 1 / max|W|
        assertArrayEquals(new double[] {4, 1, 0.25, 1e-5, 9}, SmoothQuant.scales(x, w, 1), 1e-12);
        assertArrayEquals(new double[] {1, 0.25, 1e5, 0.5, 1 / (double) 0.01f}, SmoothQuant.scales(x, w, 0), 1e-9);
        // alpha 0.75: 4^0.75 / 1^0.25, 1 / 4^0.25
        double[] s75 = SmoothQuant.scales(x, w, 0.75);
        assertEquals(Math.pow(4, 0.75), s75[0], 1e-12);
        assertEquals(1 / Math.sqrt(2), s75[1], 1e-12);
        // after smoothing, max|X_j / s_j| = max|X_j|^(1-alpha) max|W_j|^(1-alpha) = max|W_j s_j|: equal ranges at alpha 0.5
        assertEquals(x[0] / s[0], w[0] * s[0], 1e-12);
        assertEquals(x[1] / s[1], w[1] * s[1], 1e-12);
        float[] m = SmoothQuant.weightColumnMax(FloatTensor.of(new double[] {1, -5, 2, -3, 4, 0.5}, 2, 3));
        assertArrayEquals(new float[] {3, 5, 2}, m);
    }

    @Test
    void smoothingFoldsExactlyIntoTheLayerNormsOfASmallGpt() {
        Gpt g = new Gpt(Gpt2Config.of(32, 8, 16, 2, 2), 4, 8, 5);
        Random r = new Random(1);
        for (var e : g.parameters().entrySet()) {             // LayerNorm gains with a few large channels: outliers
            FloatTensor p = e.getValue();
            boolean ln = e.getKey().contains(".ln_");
            for (int i = 0; i < p.size(); i++) {
                double z = r.nextGaussian();
                p.set(i, (float) (ln ? (e.getKey().endsWith("weight") ? 1 + 0.2 * z : 0.1 * z) * (i % 7 == 2 ? 25 : 1) : 0.3 * z));
            }
        }
        List<int[]> windows = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            int[] w = new int[8];
            for (int i = 0; i < 8; i++) w[i] = r.nextInt(32);
            windows.add(w);
        }
        int[] probe = windows.get(0);
        g.forward(probe, null, 1, 8);
        float[] before = g.logits().toFloatArray();
        ActivationStatistics stats = ActivationStatistics.collect(g, windows, 4);
        FloatTensor wAttn = g.parameters().get("h.1.attn.c_attn.weight");
        float[] wBefore = wAttn.toFloatArray(), lnBefore = g.parameters().get("h.1.ln_1.weight").toFloatArray();
        double[] expected = SmoothQuant.scales(stats.channelMax(1, 0), SmoothQuant.weightColumnMax(wAttn), 0.5);

        List<SmoothQuant.LayerSmoothing> rows = SmoothQuant.smooth(g, windows, 0.5, 4);
        assertEquals(List.of("h.0.attn.c_attn.weight", "h.0.mlp.c_fc.weight", "h.1.attn.c_attn.weight", "h.1.mlp.c_fc.weight"),
                rows.stream().map(SmoothQuant.LayerSmoothing::name).toList());
        assertArrayEquals(expected, rows.get(2).scales(), 0.0);
        // W[:, j] * s_j and ln_1 weight_j / s_j, in fp32
        float[] wAfter = wAttn.toFloatArray(), lnAfter = g.parameters().get("h.1.ln_1.weight").toFloatArray();
        for (int j = 0; j < 16; j++) {
            assertEquals((float) (lnBefore[j] / expected[j]), lnAfter[j], "ln_1 weight " + j);
            for (int o = 0; o < 48; o++) assertEquals((float) (wBefore[o * 16 + j] * expected[j]), wAfter[o * 16 + j]);
        }
        // the function is unchanged
        g.forward(probe, null, 1, 8);
        float[] after = g.logits().toFloatArray();
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < before.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(before[i]));
            maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
        }
        assertTrue(maxDiff <= 1e-5 * maxAbs, "max |dlogit| " + maxDiff + " vs max |logit| " + maxAbs);
        // the smoothed inputs' channel maxima are max|X_j| / s_j, and their outliers are flattened
        ActivationStatistics smoothed = ActivationStatistics.collect(g, windows, 4);
        for (int l = 0; l < 2; l++) {
            for (int i = 0; i < 2; i++) {
                SmoothQuant.LayerSmoothing row = rows.get(2 * l + i);
                int linear = i == 0 ? 0 : 2;
                float[] m0 = stats.channelMax(l, linear), m1 = smoothed.channelMax(l, linear);
                for (int j = 0; j < 16; j++) assertEquals(m0[j] / row.scales()[j], m1[j], 1e-4 * m1[j] + 1e-6, row.name() + " channel " + j);
                assertEquals(row.outlierAfter(), smoothed.outlierRatio(l, linear), 1e-4 * row.outlierAfter());
                assertTrue(row.outlierAfter() < row.outlierBefore() / 2, row.name() + ": " + row.outlierBefore() + " -> " + row.outlierAfter());
            }
        }
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SmoothQuant.Options.defaults(4).withAlpha(1.5));
        assertEquals("alpha = 1.5 is out of range: accepted 0 to 1 (the paper: 0.5)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SmoothQuant.scales(new float[2], new float[3], 0.5));
        assertTrue(e.getMessage().startsWith("actMax, weightMax: need two arrays of the same length"), e.getMessage());
        Gpt g = new Gpt(Gpt2Config.of(32, 8, 16, 1, 2), 2, 8, 5);
        e = assertThrows(IllegalArgumentException.class, () -> SmoothQuant.apply(g, List.of(), SmoothQuant.Options.defaults(2)));
        assertEquals("windows: the calibration set is empty; need at least one window of tokens", e.getMessage());
        ActivationQuantizer.perToken(8, 1).install(g);
        e = assertThrows(IllegalArgumentException.class, () -> SmoothQuant.apply(g, List.of(new int[8]), SmoothQuant.Options.defaults(2)));
        assertTrue(e.getMessage().startsWith("model: already has a linear-input hook"), e.getMessage());
    }
}
