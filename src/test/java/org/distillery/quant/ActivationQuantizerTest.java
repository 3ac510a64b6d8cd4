package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ActivationQuantizer}'s kernels against naive double-precision twins, and the hook on a model. */
class ActivationQuantizerTest {

    /** Rows of N(0, 1) with a few outlier channels (x 40) and one all-zero row: [n, in]. */
    static float[] activations(long seed, int n, int in) {
        Random r = new Random(seed);
        float[] x = new float[n * in];
        for (int i = 0; i < n; i++) {
            if (i == 3) continue;                                     // an all-zero row
            for (int j = 0; j < in; j++) x[i * in + j] = (float) (r.nextGaussian() * (j % 17 == 5 ? 40 : 1));
        }
        return x;
    }

    /** The naive twin: scale in double from the row's max, codes clamp(rint(x / scale)), value scale * code. */
    static float[] naivePerToken(float[] x, int n, int in, int bits) {
        int qmax = (1 << (bits - 1)) - 1;
        float[] out = x.clone();
        for (int i = 0; i < n; i++) {
            double m = 0;
            for (int j = 0; j < in; j++) m = Math.max(m, Math.abs((double) x[i * in + j]));
            if (m == 0) continue;
            float scale = (float) (m / qmax);
            for (int j = 0; j < in; j++) {
                double code = Math.max(-qmax, Math.min(qmax, Math.rint(x[i * in + j] / (double) scale)));
                out[i * in + j] = (float) (scale * code);
            }
        }
        return out;
    }

    static float[] naivePerTensor(float[] x, double range, int bits) {
        int qmax = (1 << (bits - 1)) - 1;
        float scale = (float) (range / qmax);
        float[] out = x.clone();
        for (int i = 0; i < x.length; i++) {
            double code = Math.max(-qmax, Math.min(qmax, Math.rint(x[i] / (double) scale)));
            out[i] = (float) (scale * code);
        }
        return out;
    }

    @Test
    void perTokenEqualsTheNaiveTwinBitForBit() {
        int n = 24, in = 96;
        for (int bits : new int[] {8, 6, 4, 2}) {
            float[] x = activations(bits, n, in);
            FloatTensor t = FloatTensor.zeros(n, in).copyFrom(x);
            ActivationQuantizer.quantizePerToken(t, bits);
            float[] got = t.toFloatArray(), want = naivePerToken(x, n, in, bits);
            for (int i = 0; i < got.length; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), bits + " bits, element " + i);
            }
            // every row is on its grid, within half a step of the input, and keeps its largest magnitude exactly
            int qmax = (1 << (bits - 1)) - 1;
            for (int r = 0; r < n; r++) {
                float m = 0;
                for (int j = 0; j < in; j++) m = Math.max(m, Math.abs(x[r * in + j]));
                float scale = m / qmax;
                float mq = 0;
                for (int j = 0; j < in; j++) {
                    float v = got[r * in + j];
                    mq = Math.max(mq, Math.abs(v));
                    if (m == 0) {
                        assertEquals(0f, v);
                        continue;
                    }
                    double code = v / (double) scale;
                    assertEquals(Math.rint(code), code, 1e-4, "on the grid");
                    assertTrue(Math.abs(v - x[r * in + j]) <= 0.5 * scale * (1 + 1e-6), "within half a step");
                }
                assertEquals(m, mq, 1e-6 * m, "row max kept");
            }
        }
    }

    @Test
    void perTensorEqualsTheNaiveTwinAndClipsBeyondTheRange() {
        int n = 16, in = 40;
        float[] x = activations(7, n, in);
        float range = 30f;                                   // below the outliers (x 40): they clip to +-30
        FloatTensor t = FloatTensor.zeros(n, in).copyFrom(x);
        ActivationQuantizer.quantizePerTensor(t, ActivationQuantizer.scale(range, 8), 8);
        float[] got = t.toFloatArray(), want = naivePerTensor(x, range, 8);
        int clipped = 0;
        for (int i = 0; i < got.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "element " + i);
            if (Math.abs(x[i]) > range) {
                clipped++;
                assertEquals(Math.copySign(range, x[i]), got[i], 1e-5, "clipped to the range");
            }
        }
        assertTrue(clipped > 0, "some values beyond the static range");
        assertEquals(30f / 127, ActivationQuantizer.scale(30f, 8));
        assertEquals(30f / 7, ActivationQuantizer.scale(30f, 4));
        // scale 0 (a calibrated range of 0) leaves the input as it is
        FloatTensor u = FloatTensor.zeros(n, in).copyFrom(x);
        ActivationQuantizer.quantizePerTensor(u, 0f, 8);
        for (int i = 0; i < x.length; i++) assertEquals(x[i], u.get(i));
    }

    @Test
    void asAModelHookItQuantizesEveryBlockLinearInputAndCanBeSwitchedOffPerBlock() {
        Gpt g = new Gpt(Gpt2Config.of(32, 8, 16, 2, 2), 2, 8, 1);
        int[] ids = new int[16];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7) % 32;
        ActivationQuantizer q = ActivationQuantizer.perToken(4, 2).install(g);
        assertEquals("A4 per-token", q.name());
        g.train();
        g.forward(ids, null, 2, 8);
        for (int l = 0; l < 2; l++) {
            for (String name : BlockQuantizer.linearNames(l)) {
                FloatTensor in = g.linearInput(name);
                float[] x = in.toFloatArray();
                float[] again = naivePerToken(x, in.rows(), in.cols(), 4);
                for (int i = 0; i < x.length; i++) assertEquals(x[i], again[i], name + ": a fixed point of the quantizer");
            }
        }
        // block 0 off: its inputs are no longer on a 4-bit grid
        q.setActive(0, false);
        g.forward(ids, null, 2, 8);
        FloatTensor in = g.linearInput("h.0.mlp.c_fc.weight");
        float[] x = in.toFloatArray();
        float[] again = naivePerToken(x, in.rows(), in.cols(), 4);
        int moved = 0;
        for (int i = 0; i < x.length; i++) if (x[i] != again[i]) moved++;
        assertTrue(moved > x.length / 2, "block 0 not quantized: " + moved + " of " + x.length + " values move");
    }

    @Test
    void calibratedRangesAreTheMaxAbsOfEachInputOverTheWindows() {
        Gpt g = new Gpt(Gpt2Config.of(32, 8, 16, 2, 2), 4, 8, 3);
        List<int[]> windows = List.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, new int[] {9, 9, 9, 1, 0, 31, 30, 2},
                new int[] {5, 4, 3, 2, 1, 0, 1, 2});
        ActivationQuantizer q = ActivationQuantizer.calibrate(g, windows, 8, 2);
        assertTrue(g.linearInputHook() == null, "calibration leaves no hook behind");
        // the reference: one training-mode forward per window, max |x| of each linear input
        g.train();
        for (int l = 0; l < 2; l++) {
            for (int k = 0; k < 4; k++) {
                float m = 0;
                for (int[] w : windows) {
                    g.forward(w, null, 1, 8);
                    for (float v : g.linearInput(ActivationStatistics.weightName(l, k)).toFloatArray()) m = Math.max(m, Math.abs(v));
                }
                assertEquals(m, q.range(l, k), 1e-6 * m, "block " + l + " linear " + k);
            }
        }
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationQuantizer.perToken(9, 2));
        assertEquals("bits = 9 is out of range: accepted 2 to 8", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ActivationQuantizer.perTensor(8, new float[][] {{1, 2, 3, -1}}));
        assertEquals("ranges[0][3] = -1.0 must be finite and >= 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ActivationQuantizer.Granularity.ofLabel("per-row"));
        assertEquals("activation granularity per-row is not accepted: use per-token or per-tensor", e.getMessage());
        Gpt g = new Gpt(Gpt2Config.of(32, 8, 16, 3, 2), 1, 8, 1);
        e = assertThrows(IllegalArgumentException.class, () -> ActivationQuantizer.perToken(8, 2).install(g));
        assertEquals("model: has 3 blocks but this quantizer was made for 2", e.getMessage());
    }
}
