package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.FloatFormat;
import org.distillery.formats.IntFormat;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizerTest {

    static float[] gaussian(long seed, int n, double std) {
        Random r = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (std * r.nextGaussian());
        return w;
    }

    static List<Quantizer> specs() {
        List<Quantizer> s = new ArrayList<>();
        for (int bits = 2; bits <= 8; bits++) {
            for (boolean sym : new boolean[] {false, true}) {
                s.add(Quantizer.perTensor(bits, sym));
                s.add(Quantizer.perChannel(bits, sym));
                s.add(Quantizer.grouped(bits, sym, 16));
                s.add(Quantizer.grouped(bits, sym, 16).withClipSearch(true));
            }
        }
        return s;
    }

    @Test
    void codesInRangeAndErrorWithinHalfAStep() {
        int rows = 12, cols = 64;
        float[] w = gaussian(1, rows * cols, 0.05);
        w[17] = 0.9f;                                               // an outlier
        for (Quantizer q : specs()) {
            QuantizedTensor t = q.quantize(w, rows, cols);
            IntFormat f = q.intFormat();
            float[] d = t.dequantize();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int code = t.code(r, c);
                    assertTrue(code >= f.qmin() && code <= f.qmax(), q.name() + ": code " + code);
                    if (q.clipSearch()) continue;                    // clipped values may err by more
                    float s = t.scale(r, t.groupOf(c));
                    double err = Math.abs(d[r * cols + c] - w[r * cols + c]);
                    assertTrue(err <= s / 2 * (1 + 1e-6) + Math.ulp(w[r * cols + c]),
                            q.name() + " (" + r + ", " + c + "): error " + err + " > half step " + s / 2);
                }
            }
        }
    }

    @Test
    void representableValuesAreReconstructedExactly() {
        // asymmetric 4-bit, scale 1/8, zero 3: every row holds codes 0..15 (so min and max are on the grid)
        int rows = 3, cols = 16;
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) w[r * cols + c] = 0.125f * (((c * 7 + r) % 16) - 3);
        for (Quantizer q : List.of(Quantizer.perChannel(4, false), Quantizer.perTensor(4, false),
                Quantizer.perChannel(4, false).withClipSearch(true))) {
            QuantizedTensor t = q.quantize(w, rows, cols);
            assertArrayEquals(w, t.dequantize(), q.name());
            assertEquals(0.125f, t.scale(0, 0));
            assertEquals(3, t.zero(0, 0));
        }
        // symmetric 3-bit: codes -3..3 times 0.5
        float[] v = {-1.5f, -1f, -0.5f, 0f, 0.5f, 1f, 1.5f, 1.5f};
        QuantizedTensor t = Quantizer.perChannel(3, true).quantize(v, 1, 8);
        assertArrayEquals(v, t.dequantize());
        assertArrayEquals(new int[] {-3, -2, -1, 0, 1, 2, 3, 3}, t.codes());
    }

    @Test
    void groupParametersByHand() {
        // 2 rows x 4 cols, 2-bit asymmetric, groups of 2
        float[] w = {
            -1f, 2f,     0.4f, 1f,
            0.35f, 0.6f, -0.4f, -0.1f};
        QuantizedTensor t = Quantizer.grouped(2, false, 2).quantize(w, 2, 4);
        assertEquals(2, t.groups());
        // row 0, group 0: [min, max] = [-1, 2] -> scale 3/3 = 1, zero round(1/1) = 1; codes round(w/1) + 1
        assertEquals(1f, t.scale(0, 0));
        assertEquals(1, t.zero(0, 0));
        assertEquals(0, t.code(0, 0));
        assertEquals(3, t.code(0, 1));
        // row 0, group 1: [0, 1] (widened to contain 0) -> scale 1/3, zero 0; 0.4 / (1/3) = 1.2 -> 1
        assertEquals(1f / 3, t.scale(0, 1), 1e-7);
        assertEquals(0, t.zero(0, 1));
        assertEquals(1, t.code(0, 2));
        assertEquals(3, t.code(0, 3));
        // row 1, group 0: [0, 0.6] -> scale 0.2, zero 0, codes 0.35/0.2 = 1.75 -> 2, 3
        assertEquals(0.2f, t.scale(1, 0), 1e-7);
        assertEquals(2, t.code(1, 0));
        assertEquals(3, t.code(1, 1));
        // row 1, group 1: [-0.4, 0] -> scale 0.4/3, zero round(3) = 3; codes -3 + 3 = 0, round(-0.75) + 3 = 2
        assertEquals(0.4f / 3, t.scale(1, 1), 1e-7);
        assertEquals(3, t.zero(1, 1));
        assertEquals(0, t.code(1, 2));
        assertEquals(2, t.code(1, 3));
        assertEquals(0.4f / 3 * (2 - 3), t.dequantize()[7], 1e-7);
    }

    @Test
    void clipSearchIsNeverWorseThanMinMax() {
        int rows = 16, cols = 128;
        for (long seed = 0; seed < 5; seed++) {
            float[] w = gaussian(seed, rows * cols, 0.02);
            Random r = new Random(seed);
            for (int k = 0; k < 6; k++) w[r.nextInt(w.length)] *= 25;       // heavy tail
            for (int bits : new int[] {2, 3, 4, 8}) {
                for (Quantizer q : List.of(Quantizer.perTensor(bits, false), Quantizer.perChannel(bits, true),
                        Quantizer.grouped(bits, false, 32))) {
                    double plain = mse(w, q.roundTrip(w, rows, cols));
                    double clipped = mse(w, q.withClipSearch(true).roundTrip(w, rows, cols));
                    assertTrue(clipped <= plain, q.name() + ": " + clipped + " > " + plain);
                    if (bits == 3 && q.granularity() == Quantizer.Granularity.PER_CHANNEL) {
                        assertTrue(clipped < 0.95 * plain, "heavy tails at 3 bits: clipping should help: " + clipped + " vs " + plain);
                    }
                }
            }
        }
    }

    static double mse(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        return s / a.length;
    }

    @Test
    void perTensorAgreesWithIntFormat() {
        float[] w = gaussian(3, 40, 1);
        for (boolean sym : new boolean[] {false, true}) {
            IntFormat f = new IntFormat(4, sym);
            float[] expect = new float[w.length];
            f.round(w, expect);
            assertArrayEquals(expect, Quantizer.perTensor(4, sym).roundTrip(w, 5, 8));
        }
    }

    @Test
    void floatFormatPassThrough() {
        float[] w = gaussian(4, 64, 3);
        for (FloatFormat f : List.of(FloatFormat.FP16, FloatFormat.BF16, FloatFormat.FP8_E4M3, FloatFormat.FP8_E5M2)) {
            Quantizer q = Quantizer.floating(f);
            QuantizedTensor t = q.quantize(w, 8, 8);
            float[] d = t.dequantize();
            for (int i = 0; i < w.length; i++) assertEquals(f.round(w[i]), d[i], f.name());
            assertEquals(f.bits(), q.bits());
            assertNull(q.intFormat());
        }
    }

    @Test
    void actOrderGroupIndexDequantizes() {
        QuantizedTensor t = new QuantizedTensor(Quantizer.grouped(4, false, 2), 1, 4, 2, new int[] {1, 0, 0, 1},
                new int[] {1, 2, 3, 4}, new float[] {1f, 10f}, new int[] {0, 0});
        assertArrayEquals(new float[] {10f, 2f, 3f, 40f}, t.dequantize());
    }

    @Test
    void tensorApiAndInPlaceDequantize() {
        FloatTensor w = FloatTensor.of(new double[] {0.1, -0.2, 0.3, 0.4, 0.5, -0.6}, 2, 3);
        QuantizedTensor t = Quantizer.perChannel(8, false).quantize(w);
        FloatTensor target = FloatTensor.zeros(2, 3);
        t.dequantizeInto(target);
        assertArrayEquals(t.dequantize(), target.toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> t.dequantizeInto(FloatTensor.zeros(3, 2)));
        assertThrows(IllegalArgumentException.class, () -> Quantizer.perChannel(8, false).quantize(FloatTensor.zeros(6)));
    }

    @Test
    void badInputMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizer.perChannel(1, false));
        assertTrue(e.getMessage().contains("bits = 1 is out of range: accepted 2 to 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.perChannel(16, true));
        assertTrue(e.getMessage().contains("bits = 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.grouped(4, false, 0));
        assertTrue(e.getMessage().contains("groupSize = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.grouped(4, false, 128).quantize(new float[2 * 96], 2, 96));
        assertTrue(e.getMessage().contains("groupSize = 128 does not divide the input width 96")
                && e.getMessage().contains("e.g. 96"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.grouped(4, false, 32).quantize(new float[2 * 100], 2, 100));
        assertTrue(e.getMessage().contains("e.g. 25"), e.getMessage());
        float[] w = new float[8];
        w[5] = Float.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.perChannel(4, false).quantize(w, 2, 4));
        assertTrue(e.getMessage().contains("w[1, 1] = NaN is not finite"), e.getMessage());
        w[5] = Float.NEGATIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.perTensor(4, false).quantize(w, 2, 4));
        assertTrue(e.getMessage().contains("-Infinity is not finite"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.perTensor(4, false).quantize(new float[7], 2, 4));
        assertTrue(e.getMessage().contains("length 7"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Quantizer.floating(FloatFormat.FP16).withClipSearch(true));
        assertTrue(e.getMessage().contains("clipSearch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Quantizer(4, false, Quantizer.Granularity.PER_CHANNEL, 32, false, null));
        assertTrue(e.getMessage().contains("only accepted with Granularity.GROUP"), e.getMessage());
    }

    @Test
    void fp16ScalesAreFp16ValuesWithTheZeroPointRefittedAndTheSameGrid() {
        float[] w = gaussian(11, 8 * 64, 0.05);
        for (Quantizer base : specs()) {
            Quantizer q = base.withFp16Scales(true);
            assertTrue(q.fp16Scales() && q.name().endsWith(" fp16-scales"), q.name());
            assertEquals(base.clipSearch(), q.withClipSearch(q.clipSearch()).clipSearch());
            assertTrue(q.withClipSearch(true).fp16Scales(), "withClipSearch keeps fp16Scales");
            QuantizedTensor t = q.quantize(w, 8, 64);
            IntFormat fmt = q.intFormat();
            for (int r = 0; r < 8; r++) {
                for (int k = 0; k < t.groups(); k++) {
                    float s = t.scale(r, k);
                    assertEquals(s, org.distillery.io.Dtype.halfToFloat(org.distillery.io.Dtype.floatToHalf(s)), 0f, q.name());
                    if (!q.symmetric() && !q.clipSearch() && q.granularity() != Quantizer.Granularity.PER_TENSOR) {
                        float min = 0;
                        for (int c = k * t.groupWidth(); c < (k + 1) * t.groupWidth(); c++) min = Math.min(min, w[r * 64 + c]);
                        int zero = (int) Math.min(Math.max(Math.rint(-min / s), 0), fmt.qmax());
                        assertEquals(zero, t.zero(r, k), q.name() + " zero of row " + r + " group " + k);
                    }
                }
            }
            // the rounded scale is within fp16's relative precision of the float32 one
            QuantizedTensor f = base.quantize(w, 8, 64);
            if (!base.clipSearch()) {
                for (int i = 0; i < f.scales().length; i++) {
                    assertEquals(f.scales()[i], t.scales()[i], f.scales()[i] * 0x1p-11, q.name());
                }
            }
            // and every value is exactly scale * (code - zero) in float, as a packed file stores it
            float[] d = t.dequantize();
            for (int i = 0; i < d.length; i++) {
                int r = i / 64, k = t.groupOf(i % 64);
                assertEquals((double) t.scale(r, k) * (t.codes()[i] - t.zero(r, k)), d[i], 0.0);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Quantizer.floating(FloatFormat.FP16).withFp16Scales(true));
        Quantizer tiny = Quantizer.perChannel(8, true).withFp16Scales(true);
        assertEquals(0x1p-24f, tiny.quantize(new float[] {1e-12f, 0f}, 1, 2).scale(0, 0), 0f, "smallest fp16 subnormal");
    }
}
