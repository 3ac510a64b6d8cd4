package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FloatFormatEncodeTest {
    static final int RANDOM_PER_KIND = 1_000_000;

    static Stream<Arguments> formatsAndModes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (Object[] fs : new Object[][] {
                {FloatFormat.FP16, Reference.FP16}, {FloatFormat.BF16, Reference.BF16},
                {FloatFormat.FP8_E4M3, Reference.E4M3}, {FloatFormat.FP8_E5M2, Reference.E5M2}}) {
            for (Overflow o : Overflow.values()) {
                b.add(Arguments.of(((FloatFormat) fs[0]).withOverflow(o), fs[1]));
            }
        }
        return b.build();
    }

    /** Compares the library with the naive twin on one input. */
    static void check(FloatFormat f, Reference.Naive twin, float x) {
        boolean saturate = f.overflow() == Overflow.SATURATE;
        int expected = twin.encode(x, saturate);
        int got = f.encode(x);
        if (expected < 0) {
            assertTrue(Float.isNaN(f.decode(got)), () -> f.name() + " encode(" + x + ") should be NaN, got 0x"
                    + Integer.toHexString(got));
        } else if (expected != got) {
            throw new AssertionError(f.name() + " encode(" + x + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(x))
                    + "): expected 0x" + Integer.toHexString(expected) + " got 0x" + Integer.toHexString(got));
        }
        float r = f.round(x);
        double er = twin.round(x, saturate);
        if (Double.isNaN(er)) {
            assertTrue(Float.isNaN(r));
        } else {
            assertEquals(Float.floatToRawIntBits((float) er), Float.floatToRawIntBits(r));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formatsAndModes")
    void randomFloatsMatchTheNaiveTwin(FloatFormat f, Reference.Spec s) {
        Reference.Naive twin = new Reference.Naive(s);
        SplittableRandom rnd = new SplittableRandom(12345 + s.bits() + s.m());
        // any bit pattern: mostly far outside the range (overflow, underflow) or NaN
        for (int i = 0; i < RANDOM_PER_KIND; i++) {
            check(f, twin, Float.intBitsToFloat(rnd.nextInt()));
        }
        // exponents from below the smallest subnormal to above the largest finite value
        int lo = 1 - s.bias() - s.m() - 3;
        int hi = (int) Math.floor(Math.log(twin.maxFinite()) / Math.log(2)) + 3;
        for (int i = 0; i < RANDOM_PER_KIND; i++) {
            float mant = 1f + rnd.nextInt(1 << 23) * 0x1p-23f;
            float x = Math.scalb(mant, rnd.nextInt(lo, hi + 1));
            check(f, twin, rnd.nextBoolean() ? x : -x);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formatsAndModes")
    void everyValueAndEveryMidpointMatchesTheNaiveTwin(FloatFormat f, Reference.Spec s) {
        Reference.Naive twin = new Reference.Naive(s);
        double[] v = twin.values; // includes 0 and the virtual step above max
        for (int i = 0; i + 1 < v.length; i++) {
            float x = (float) v[i];
            assertEquals(v[i], (double) x);
            for (float y : new float[] {x, Math.nextUp(x), Math.nextDown(x)}) {
                check(f, twin, y);
                check(f, twin, -y);
            }
            // the exact midpoint to the next value (the last one: to the step above max finite)
            double mid = (v[i] + v[i + 1]) / 2;
            float xm = (float) mid;
            assertEquals(mid, (double) xm, "midpoints of these formats are floats");
            for (float y : new float[] {xm, Math.nextUp(xm), Math.nextDown(xm)}) {
                check(f, twin, y);
                check(f, twin, -y);
            }
        }
        for (float y : new float[] {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
                Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_NORMAL}) {
            check(f, twin, y);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formatsAndModes")
    void everyCodeRoundTrips(FloatFormat f, Reference.Spec s) {
        for (int code = 0; code < 1 << s.bits(); code++) {
            float v = f.decode(code);
            if (Float.isInfinite(v) && f.overflow() == Overflow.SATURATE) {
                // saturation maps infinities to the largest finite value of the same sign
                assertEquals(code - 1, f.encode(v), "code 0x" + Integer.toHexString(code));
            } else if (!Float.isNaN(v)) {
                assertEquals(code, f.encode(v), "code 0x" + Integer.toHexString(code));
            }
        }
    }

    @Test
    void tiesAndOverflowBoundaries() {
        FloatFormat e4m3 = FloatFormat.FP8_E4M3;
        FloatFormat e4m3Nan = e4m3.withOverflow(Overflow.NON_SATURATING);
        assertEquals("FP8_E4M3-nonsat", e4m3Nan.name());
        assertEquals(0x7E, e4m3.encode(448f));
        assertEquals(0x7E, e4m3.encode(464f));      // tie between 448 (mantissa 110) and 480 (111): even wins
        assertEquals(0x7E, e4m3Nan.encode(464f));   // not an overflow
        assertEquals(0x7E, e4m3.encode(Math.nextUp(464f)));
        assertEquals(0x7F, e4m3Nan.encode(Math.nextUp(464f)));
        assertEquals(0xFE, e4m3.encode(Float.NEGATIVE_INFINITY));
        assertEquals(0xFF, e4m3Nan.encode(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F, e4m3.encode(Float.NaN));
        assertEquals(0x00, e4m3.encode(0x1p-10f));  // half the smallest subnormal: tie to zero
        assertEquals(0x80, e4m3.encode(-0x1p-10f));
        assertEquals(0x01, e4m3.encode(Math.nextUp(0x1p-10f)));
        assertEquals(0x02, e4m3.encode(3 * 0x1p-10f)); // tie between codes 1 and 2: even wins
        assertEquals(0x08, e4m3.encode(0x1p-6f));      // min normal

        FloatFormat e5m2 = FloatFormat.FP8_E5M2;
        assertEquals(0x7B, e5m2.encode(57344f));
        assertEquals(0x7B, e5m2.encode(Math.nextDown(61440f)));
        assertEquals(0x7C, e5m2.encode(61440f));        // max + half ulp: tie to the even step, infinity
        assertEquals(0x7B, e5m2.withOverflow(Overflow.SATURATE).encode(61440f));
        assertEquals(0x7B, e5m2.withOverflow(Overflow.SATURATE).encode(Float.POSITIVE_INFINITY));
        assertEquals("FP8_E5M2-sat", e5m2.withOverflow(Overflow.SATURATE).name());
        assertEquals("FP8_E5M2", e5m2.withOverflow(Overflow.SATURATE).withOverflow(Overflow.NON_SATURATING).name());

        FloatFormat fp16 = FloatFormat.FP16;
        assertEquals(0x7BFF, fp16.encode(65504f));
        assertEquals(0x7BFF, fp16.encode(Math.nextDown(65520f)));
        assertEquals(0x7C00, fp16.encode(65520f));
        assertEquals(0x0000, fp16.encode(0x1p-25f));
        assertEquals(0x0001, fp16.encode(Math.nextUp(0x1p-25f)));
        assertEquals(0x0400, fp16.encode(Math.nextDown(0x1p-14f))); // rounds up into the normal range
        assertEquals(0x3C00, fp16.encode(1f + 0x1p-11f));             // tie: 1.0 has even mantissa
        assertEquals(0x3C02, fp16.encode(1f + 3 * 0x1p-11f));         // tie: up to even
    }

    @Test
    void fp32IsTheIdentity() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] in = new float[100_000];
        for (int i = 0; i < in.length; i++) {
            int bits = rnd.nextInt();
            in[i] = Float.intBitsToFloat(bits);
            if (!Float.isNaN(in[i])) {
                assertEquals(bits, FloatFormat.FP32.encode(in[i]));
            } else {
                assertTrue(Float.isNaN(FloatFormat.FP32.round(in[i])));
            }
        }
        float[] out = new float[in.length];
        FloatFormat.FP32.round(in, out);
        for (int i = 0; i < in.length; i++) {
            assertTrue(Float.floatToRawIntBits(in[i]) == Float.floatToRawIntBits(out[i]) || Float.isNaN(in[i]));
        }
    }

    /** Inputs for the comparisons with external references: random bit patterns, random normals, all ties. */
    static void forManyFloats(Reference.Spec s, java.util.function.Consumer<Float> check) {
        SplittableRandom rnd = new SplittableRandom(99);
        for (int i = 0; i < 4_000_000; i++) {
            check.accept(Float.intBitsToFloat(rnd.nextInt()));
        }
        for (int i = 0; i < 2_000_000; i++) {
            check.accept(Math.scalb(1f + rnd.nextInt(1 << 23) * 0x1p-23f, rnd.nextInt(-30, 20)));
        }
        Reference.Naive twin = new Reference.Naive(s);
        for (int i = 0; i + 1 < twin.values.length; i++) {
            float mid = (float) ((twin.values[i] + twin.values[i + 1]) / 2);
            for (float y : new float[] {mid, Math.nextUp(mid), Math.nextDown(mid)}) {
                check.accept(y);
                check.accept(-y);
            }
        }
    }

    @Test
    void fp16MatchesJdkFloatToFloat16() throws Exception {
        Method m = FloatFormatDecodeTest.jdkMethod("floatToFloat16", float.class);
        Assumptions.assumeTrue(m != null, "Float.floatToFloat16 needs JDK 20+");
        forManyFloats(Reference.FP16, x -> {
            try {
                int expected = ((short) m.invoke(null, x)) & 0xFFFF;
                int got = FloatFormat.FP16.encode(x);
                if (Float.isNaN(x)) {
                    assertTrue(Float.isNaN(FloatFormat.FP16.decode(got)) && Float.isNaN(FloatFormat.FP16.decode(expected)));
                } else if (expected != got) {
                    throw new AssertionError("FP16 encode(" + x + "): JDK 0x" + Integer.toHexString(expected)
                            + ", got 0x" + Integer.toHexString(got));
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** PyTorch's float to bfloat16 rounding (c10 round_to_nearest_even), written out for the test. */
    static int pytorchBf16(float x) {
        if (Float.isNaN(x)) {
            return 0x7FC0;
        }
        int bits = Float.floatToRawIntBits(x);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return ((bits + roundingBias) >>> 16) & 0xFFFF;
    }

    @Test
    void bf16MatchesPytorchRounding() {
        forManyFloats(Reference.BF16, x -> {
            int got = FloatFormat.BF16.encode(x);
            if (Float.isNaN(x)) {
                assertTrue(Float.isNaN(FloatFormat.BF16.decode(got)));
            } else if (got != pytorchBf16(x)) {
                throw new AssertionError("BF16 encode(" + x + "): PyTorch 0x" + Integer.toHexString(pytorchBf16(x))
                        + ", got 0x" + Integer.toHexString(got));
            }
        });
    }

    @Test
    void vectorisedRoundEqualsScalarRound() {
        float[] w = WeightSamples.weightLike(10_000);
        for (FloatFormat f : FloatFormat.STANDARD) {
            float[] out = new float[w.length];
            f.round(w, out);
            for (int i = 0; i < w.length; i++) {
                assertEquals(f.round(w[i]), out[i]);
            }
            float[] inPlace = w.clone();
            f.round(inPlace, inPlace);
            assertTrue(java.util.Arrays.equals(out, inPlace));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FloatFormat.FP16.round(new float[3], new float[2]));
        assertEquals("out.length = 2 must equal in.length = 3", e.getMessage());
    }

    @Test
    void invalidDescriptionsAreRejected() {
        IntFunction<String> msg = eb -> assertThrows(IllegalArgumentException.class,
                () -> new FloatFormat("X", eb, 2, 1, true, NanEncoding.IEEE, Overflow.SATURATE)).getMessage();
        assertEquals("exponentBits = 9 is out of range: accepted 1 to 8", msg.apply(9));
        assertEquals("exponentBits = 0 is out of range: accepted 1 to 8", msg.apply(0));
        assertEquals("hasInfinity = false with nanEncoding = IEEE: infinities exist exactly when the NaN encoding is IEEE",
                assertThrows(IllegalArgumentException.class,
                        () -> new FloatFormat("X", 4, 3, 7, false, NanEncoding.IEEE, Overflow.SATURATE)).getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new FloatFormat("X", 8, 23, 0, true, NanEncoding.IEEE, Overflow.SATURATE));
        FloatFormat fp4 = new FloatFormat("FP4_E2M1", 2, 1, 1, false, NanEncoding.NONE, Overflow.SATURATE);
        assertEquals(6f, fp4.maxFinite());
        assertEquals(0.5f, fp4.minSubnormal());
        assertEquals(6f, fp4.round(100f));
        assertEquals(4f, fp4.round(5f)); // tie between 4 (mantissa 0) and 6 (mantissa 1)
        assertThrows(ArithmeticException.class, () -> fp4.encode(Float.NaN));
    }
}
