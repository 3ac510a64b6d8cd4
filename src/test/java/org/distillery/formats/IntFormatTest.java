package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IntFormatTest {

    @Test
    void ranges() {
        assertEquals(-7, IntFormat.INT4.qmin());
        assertEquals(7, IntFormat.INT4.qmax());
        assertEquals(15, IntFormat.INT4.levels());
        assertEquals(-127, IntFormat.INT8.qmin());
        assertEquals(127, IntFormat.INT8.qmax());
        assertEquals(0, IntFormat.INT4_ASYM.qmin());
        assertEquals(15, IntFormat.INT4_ASYM.qmax());
        assertEquals(16, IntFormat.INT4_ASYM.levels());
        assertEquals(-1, IntFormat.symmetric(2).qmin());
        assertEquals(1, IntFormat.symmetric(2).qmax());
        assertEquals(3, IntFormat.asymmetric(2).qmax());
        assertEquals(32767, IntFormat.symmetric(16).qmax());
        assertEquals(65535, IntFormat.asymmetric(16).qmax());
        assertEquals("INT4", IntFormat.INT4.name());
        assertEquals("INT4-asym", IntFormat.INT4_ASYM.name());
        assertEquals(4, IntFormat.INT4_ASYM.bits());
    }

    @Test
    void symmetricAbsmaxScaleAndRoundHalfToEven() {
        float[] w = {-1.75f, 0.5f, 0.125f, 0.375f, 0.625f, 0f};
        IntFormat.Params p = IntFormat.INT4.params(w);
        assertEquals(0.25f, p.scale()); // 1.75 / 7
        assertEquals(0, p.zeroPoint());
        assertEquals(-7, IntFormat.INT4.quantize(-1.75f, p));
        assertEquals(2, IntFormat.INT4.quantize(0.5f, p));
        assertEquals(0, IntFormat.INT4.quantize(0.125f, p)); // 0.5 -> 0
        assertEquals(2, IntFormat.INT4.quantize(0.375f, p)); // 1.5 -> 2
        assertEquals(2, IntFormat.INT4.quantize(0.625f, p)); // 2.5 -> 2
        assertEquals(7, IntFormat.INT4.quantize(100f, p));   // clamped
        assertEquals(-7, IntFormat.INT4.quantize(-100f, p));
        assertTrue(IntFormat.INT4.clips(100f, p));
        assertTrue(!IntFormat.INT4.clips(1.75f, p));
        assertEquals(0.5f, IntFormat.INT4.dequantize(2, p));
        float[] out = new float[w.length];
        IntFormat.INT4.round(w, out);
        assertEquals(-1.75f, out[0]);
        assertEquals(0f, out[2]);
        assertEquals(0.5f, out[3]);
        assertEquals(0f, out[5]);
    }

    @Test
    void asymmetricGptqConvention() {
        float[] w = {-1f, 0.5f, 2f};
        IntFormat f = IntFormat.INT4_ASYM;
        IntFormat.Params p = f.params(w);
        assertEquals(3f / 15f, p.scale());
        assertEquals((int) Math.rint(1f / (3f / 15f)), p.zeroPoint());
        assertEquals(5, p.zeroPoint());
        assertEquals(0, f.quantize(-1f, p));
        assertEquals(15, f.quantize(2f, p));
        assertEquals((int) Math.rint((double) 0.5f / p.scale()) + 5, f.quantize(0.5f, p));
        assertEquals(p.scale() * (f.quantize(0.5f, p) - 5), f.round(0.5f, p));
        assertEquals(5, f.quantize(0f, p));
        assertEquals(0f, f.round(0f, p)); // zero is exact

        // all positive: the range is widened to contain 0, zero point 0
        IntFormat.Params q = f.params(new float[] {0.5f, 1.5f});
        assertEquals(0, q.zeroPoint());
        assertEquals(1.5f / 15, q.scale());
        assertEquals(0f, f.round(0f, q));
        // all negative: zero point at the top
        IntFormat.Params r = f.params(new float[] {-0.5f, -1.5f});
        assertEquals(15, r.zeroPoint());
    }

    @Test
    void allZeroTensorsAreExact() {
        float[] z = new float[10];
        assertEquals(1f, IntFormat.INT8.params(z).scale());
        IntFormat.Params p = IntFormat.INT4_ASYM.params(z);
        assertEquals(2f / 15, p.scale()); // GPTQ: range [-1, 1]
        assertEquals((int) Math.rint(1f / (2f / 15)), p.zeroPoint()); // 7.5 in exact arithmetic, a little less in float
        float[] out = new float[10];
        IntFormat.INT4_ASYM.round(z, out);
        for (float v : out) {
            assertEquals(0f, v);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8, 16})
    void errorIsAtMostHalfAStep(int bits) {
        float[] w = WeightSamples.studentT(50_000, 4, 0.02, bits);
        for (IntFormat f : new IntFormat[] {IntFormat.symmetric(bits), IntFormat.asymmetric(bits)}) {
            IntFormat.Params p = f.params(w);
            if (f.symmetric()) {
                float absmax = 0;
                for (float v : w) {
                    absmax = Math.max(absmax, Math.abs(v));
                }
                assertEquals(absmax / f.qmax(), p.scale());
            }
            float[] out = new float[w.length];
            f.round(w, out);
            for (int i = 0; i < w.length; i++) {
                // half a step, plus half an ulp for rounding scale * (q - zero) to float
                double bound = p.scale() * 0.5 + Math.ulp(out[i]) / 2;
                int q = f.quantize(w[i], p);
                assertTrue(q >= f.qmin() && q <= f.qmax());
                assertTrue(!f.clips(w[i], p), "per-tensor range covers every weight");
                double err = Math.abs((double) out[i] - w[i]);
                assertTrue(err <= bound, f.name() + " w=" + w[i] + " err=" + err + " bound=" + bound);
            }
        }
    }

    @Test
    void bitStrings() {
        assertEquals("1001", IntFormat.INT4.bitString(-7));
        assertEquals("0111", IntFormat.INT4.bitString(7));
        assertEquals("0000", IntFormat.INT4.bitString(0));
        assertEquals("1111", IntFormat.INT4_ASYM.bitString(15));
        assertEquals("10000001", IntFormat.INT8.bitString(-127));
        assertEquals("q = -8 is out of range: accepted -7 to 7",
                assertThrows(IllegalArgumentException.class, () -> IntFormat.INT4.bitString(-8)).getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {-4, 0, 1, 9, 15, 17, 32})
    void bitsOutsideTheAcceptedRange(int bits) {
        String expected = "bits = " + bits + " is out of range: accepted 2 to 8, or 16";
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> IntFormat.symmetric(bits)).getMessage());
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> IntFormat.asymmetric(bits)).getMessage());
    }

    @Test
    void badInputs() {
        assertEquals("w.length = 0: cannot derive a scale from no values",
                assertThrows(IllegalArgumentException.class, () -> IntFormat.INT8.params(new float[0])).getMessage());
        assertEquals("w[1] = NaN is not finite", assertThrows(IllegalArgumentException.class,
                () -> IntFormat.INT8.params(new float[] {1f, Float.NaN})).getMessage());
        assertEquals("w[0] = Infinity is not finite", assertThrows(IllegalArgumentException.class,
                () -> IntFormat.INT8.params(new float[] {Float.POSITIVE_INFINITY})).getMessage());
        assertEquals("scale = 0.0 must be positive and finite",
                assertThrows(IllegalArgumentException.class, () -> new IntFormat.Params(0f, 0)).getMessage());
        assertEquals("out.length = 1 must equal in.length = 2", assertThrows(IllegalArgumentException.class,
                () -> IntFormat.INT8.round(new float[] {1, 2}, new float[1])).getMessage());
        assertEquals("w = NaN cannot be quantized", assertThrows(IllegalArgumentException.class,
                () -> IntFormat.INT8.quantize(Float.NaN, new IntFormat.Params(1f, 0))).getMessage());
    }
}
