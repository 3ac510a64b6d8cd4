package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.distillery.formats.IntFormat;
import org.junit.jupiter.api.Test;

/** Formats, rounding semantics, byte layouts, sizes and bad input of {@link PackedWeights}. */
class PackedWeightsTest {

    @Test
    void bitsPerWeightAndBytesAreExact() {
        float[] w = QuantizedLinearTest.gaussian(new Random(1), 768 * 3072, 0.02);
        Object[][] cases = {
                {PackedFormat.Q8_0, 32, 8.5}, {PackedFormat.Q4_0, 32, 4.5}, {PackedFormat.INT8, 128, 8.125},
                {PackedFormat.INT4, 128, 4.125}, {PackedFormat.INT8_ASYM, 128, 8.1875},
                {PackedFormat.INT4_ASYM, 128, 4.1875}, {PackedFormat.INT4, 3072, 4 + 16.0 / 3072},
        };
        for (Object[] c : cases) {
            PackedFormat f = (PackedFormat) c[0];
            int g = (Integer) c[1];
            PackedWeights p = PackedWeights.quantize(w, 768, 3072, f, g);
            assertEquals((Double) c[2], p.bitsPerWeight(), 1e-12, f.id());
            assertEquals((Double) c[2], f.bitsPerWeight(g), 1e-12, f.id());
            assertEquals(Math.round((Double) c[2] * 768 * 3072 / 8), p.storageBytes(), f.id());
            assertEquals(4L * 768 * 3072, p.float32Bytes());
        }
    }

    @Test
    void groupRoundingFollowsIntFormatWithFp16Scales() {
        Random rnd = new Random(2);
        int out = 3, in = 64, g = 32;
        float[] w = QuantizedLinearTest.gaussian(rnd, out * in, 0.3);
        for (PackedFormat f : new PackedFormat[] {PackedFormat.INT8, PackedFormat.INT4, PackedFormat.INT8_ASYM,
                PackedFormat.INT4_ASYM}) {
            IntFormat ref = f.symmetric() ? IntFormat.symmetric(f.bits()) : IntFormat.asymmetric(f.bits());
            PackedWeights p = PackedWeights.quantize(w, out, in, f, g);
            for (int o = 0; o < out; o++) {
                for (int gi = 0; gi < in / g; gi++) {
                    float[] grp = java.util.Arrays.copyOfRange(w, o * in + gi * g, o * in + gi * g + g);
                    IntFormat.Params fp = ref.params(grp);
                    float s16 = Fp16.round(fp.scale());
                    assertEquals(s16, p.scale(o, gi), f.id());
                    int zero = f.symmetric() ? 0
                            : (int) Math.min(Math.max(Math.rint(-Math.min(min(grp), 0) / (double) s16), 0), ref.qmax());
                    assertEquals(zero, p.zero(o, gi), f.id());
                    IntFormat.Params p16 = new IntFormat.Params(s16, zero);
                    for (int k = 0; k < g; k++) {
                        assertEquals(ref.quantize(grp[k], p16), p.code(o, gi * g + k), f.id() + " [" + o + ", " + k + "]");
                        assertEquals((double) ref.dequantize(ref.quantize(grp[k], p16), p16), p.weight(o, gi * g + k),
                                f.id());
                    }
                }
            }
            assertEquals(p, PackedWeights.pack(p.codes()), f.id() + ": pack(codes()) round trip");
        }
    }

    private static float min(float[] a) {
        float m = a[0];
        for (float v : a) m = Math.min(m, v);
        return m;
    }

    @Test
    void q8_0AndQ4_0FollowLlamaCppReferenceRounding() {
        float[] w = new float[32];
        for (int k = 0; k < 32; k++) w[k] = (k - 12) * 0.25f;     // -3.0 .. 4.75
        PackedWeights q8 = PackedWeights.quantize(w, 1, 32, PackedFormat.Q8_0, 32);
        float d8 = 4.75f / 127f;
        assertEquals(Fp16.round(d8), q8.scale(0, 0));
        for (int k = 0; k < 32; k++) {
            float v = w[k] * (1f / d8);
            assertEquals((int) Math.copySign(Math.floor(Math.abs(v) + 0.5), v), q8.code(0, k), "k " + k);
        }
        assertEquals(127, q8.code(0, 31));
        assertEquals(-80, q8.code(0, 0));                           // -3 * 127 / 4.75 = -80.2
        PackedWeights q4 = PackedWeights.quantize(w, 1, 32, PackedFormat.Q4_0, 32);
        // the largest magnitude is +4.75, so d = 4.75 / -8 < 0 and +4.75 gets nibble 0 (code -8)
        assertEquals(Fp16.round(4.75f / -8f), q4.scale(0, 0));
        assertEquals(-8, q4.code(0, 31));
        float id = 1f / (4.75f / -8f);
        for (int k = 0; k < 32; k++) assertEquals(Math.min(15, (int) (w[k] * id + 8.5f)) - 8, q4.code(0, k), "k " + k);
        // all-zero block: d = 0 / -8 = -0 (as in llama.cpp), every value 0
        PackedWeights z = PackedWeights.quantize(new float[32], 1, 32, PackedFormat.Q4_0, 32);
        assertEquals(0f, z.scale(0, 0), 0f);
        assertEquals(0.0, z.weight(0, 5), 0.0);
    }

    @Test
    void ggmlBlockBytesAndNibbleOrder() {
        float[] w = QuantizedLinearTest.gaussian(new Random(4), 3 * 64, 1);
        PackedWeights q4 = PackedWeights.quantize(w, 3, 64, PackedFormat.Q4_0, 32);
        byte[] blocks = q4.toGgmlBlocks();
        assertEquals(3 * 2 * 18, blocks.length);
        // block 1 of row 2: fp16 d little-endian, then byte j = nibble(col 32 + j) | nibble(col 48 + j) << 4
        int p = (2 * 2 + 1) * 18, d = Fp16.encode(q4.scale(2, 1));
        assertEquals((byte) d, blocks[p]);
        assertEquals((byte) (d >>> 8), blocks[p + 1]);
        for (int j = 0; j < 16; j++) {
            int expect = (q4.code(2, 32 + j) + 8) | (q4.code(2, 48 + j) + 8) << 4;
            assertEquals((byte) expect, blocks[p + 2 + j], "byte " + j);
        }
        assertEquals(q4, PackedWeights.fromGgmlBlocks(PackedFormat.Q4_0, 3, 64, blocks));
        PackedWeights q8 = PackedWeights.quantize(w, 3, 64, PackedFormat.Q8_0, 32);
        byte[] b8 = q8.toGgmlBlocks();
        assertEquals(6 * 34, b8.length);
        assertEquals((byte) q8.code(1, 40), b8[(2 + 1) * 34 + 2 + 8]);
        assertEquals(q8, PackedWeights.fromGgmlBlocks(PackedFormat.Q8_0, 3, 64, b8));
        // INT4: low nibble = even column
        PackedWeights i4 = PackedWeights.quantize(w, 3, 64, PackedFormat.INT4, 64);
        byte[] qb = i4.qweightBytes();
        assertEquals(3 * 32, qb.length);
        assertEquals((byte) ((i4.code(1, 6) + 8) | (i4.code(1, 7) + 8) << 4), qb[32 + 3]);
        // INT8_ASYM: the file holds the unsigned code
        PackedWeights a8 = PackedWeights.quantize(w, 3, 64, PackedFormat.INT8_ASYM, 32);
        assertEquals(a8.code(2, 9), a8.qweightBytes()[2 * 64 + 9] & 0xFF);
    }

    @Test
    void precomputedCodesArePackedWithoutRerounding() {
        int out = 2, in = 8, g = 4;
        int[] codes = {0, 1, 2, 15, 14, 13, 7, 8, 3, 3, 3, 3, 0, 0, 15, 15};
        float[] scales = {0.5f, 0.25f, 1f / 3, 2f};                 // 1/3 is rounded to fp16
        int[] zeros = {8, 0, 15, 7};
        PackedWeights p = PackedWeights.pack(new QuantizedCodes(PackedFormat.INT4_ASYM, out, in, g, codes, scales, zeros));
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < in; k++) {
                assertEquals(codes[o * in + k], p.code(o, k));
                int gi = o * 2 + k / g;
                assertEquals((double) Fp16.round(scales[gi]) * (codes[o * in + k] - zeros[gi]), p.weight(o, k));
            }
        }
        byte[] b = {-127, 127, 0, 5};
        QuantizedCodes c = QuantizedCodes.ofBytes(PackedFormat.INT8, 1, 4, 4, b, new float[] {1}, null);
        assertArrayEquals(new int[] {-127, 127, 0, 5}, c.codes());
    }

    @Test
    void badInputIsRejectedWithClearMessages() {
        float[] w = new float[4 * 64];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PackedWeights.quantize(w, 4, 64, PackedFormat.INT4, 48));
        assertEquals("group = 48 does not divide the input width in = 64 (accepted: a divisor of 64)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PackedWeights.quantize(w, 4, 64, PackedFormat.Q8_0, 64));
        assertEquals("group = 64 for q8_0: the block format fixes it at 32", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PackedWeights.quantize(new float[4 * 33], 4, 33, PackedFormat.INT4, 33));
        assertEquals("group = 33 for int4: two codes share a byte, so the group size must be even", e.getMessage());
        float[] nan = w.clone();
        nan[70] = Float.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> PackedWeights.quantize(nan, 4, 64, PackedFormat.INT8, 64));
        assertEquals("w[1, 6] = NaN is not finite: cannot quantize NaN or infinite weights", e.getMessage());
        nan[70] = Float.POSITIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> PackedWeights.quantize(nan, 4, 64, PackedFormat.Q4_0, 32));
        assertTrue(e.getMessage().contains("Infinity is not finite"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedCodes(PackedFormat.INT4, 1, 2, 2,
                new int[] {-8, 0}, new float[] {1}, null));
        assertEquals("codes[0, 0] = -8 is out of range for int4 (accepted: -7 to 7)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedCodes(PackedFormat.INT8_ASYM, 1, 2, 2,
                new int[] {0, 255}, new float[] {1}, null));
        assertEquals("zeros: int8-asym is asymmetric and needs [1, 1] zero-points", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedCodes(PackedFormat.INT8, 2, 4, 2,
                new int[8], new float[3], null));
        assertEquals("scales: length 3 but [out, in / group] = [2, 2] needs 4", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedCodes(PackedFormat.INT8, 1, 2, 2,
                new int[2], new float[] {1e6f}, null));
        assertEquals("scales[0, 0] = 1000000.0 cannot be stored as fp16 (accepted: finite, |scale| <= 65504.0)",
                e.getMessage());
    }
}
