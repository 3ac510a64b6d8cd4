package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FloatFormatDecodeTest {

    static Stream<Arguments> formats() {
        return Stream.of(
                Arguments.of(FloatFormat.FP16, Reference.FP16),
                Arguments.of(FloatFormat.BF16, Reference.BF16),
                Arguments.of(FloatFormat.FP8_E4M3, Reference.E4M3),
                Arguments.of(FloatFormat.FP8_E5M2, Reference.E5M2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void descriptionMatchesTheSpecification(FloatFormat f, Reference.Spec s) {
        assertEquals(s.name(), f.name());
        assertEquals(s.e(), f.exponentBits());
        assertEquals(s.m(), f.mantissaBits());
        assertEquals(s.bias(), f.bias());
        assertEquals(s.bits(), f.bits());
        assertEquals(s.specials() == Reference.Specials.IEEE, f.hasInfinity());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void everyCodeDecodesLikeTheClosedForm(FloatFormat f, Reference.Spec s) {
        int n = 1 << s.bits();
        int nan = 0, inf = 0, sub = 0;
        for (int c = 0; c < n; c++) {
            final int code = c;
            double ref = Reference.decode(s, code);
            float got = f.decode(code);
            if (Double.isNaN(ref)) {
                assertTrue(Float.isNaN(got), () -> f.name() + " code " + Integer.toHexString(code) + " should be NaN");
                nan++;
                continue;
            }
            assertEquals((double) (float) ref, ref, "reference value must be a float");
            assertEquals(Float.floatToRawIntBits((float) ref), Float.floatToRawIntBits(got),
                    () -> f.name() + " code " + Integer.toHexString(code) + ": expected " + ref + " got " + got);
            if (Double.isInfinite(ref)) {
                inf++;
            } else if (ref != 0 && Math.abs(ref) < f.minNormal()) {
                sub++;
            }
        }
        int expectedNan = s.specials() == Reference.Specials.IEEE ? 2 * ((1 << s.m()) - 1) : 2;
        assertEquals(expectedNan, nan, "NaN codes");
        assertEquals(s.specials() == Reference.Specials.IEEE ? 2 : 0, inf, "infinite codes");
        assertEquals(2 * ((1 << s.m()) - 1), sub, "subnormal codes");
    }

    @Test
    void bf16IsTheTopHalfOfFp32() {
        for (int code = 0; code < 65536; code++) {
            float expected = Float.intBitsToFloat(code << 16);
            float got = FloatFormat.BF16.decode(code);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got));
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got), "code " + code);
            }
        }
    }

    @Test
    void fp16MatchesJdkFloat16ToFloat() throws Exception {
        Method m = jdkMethod("float16ToFloat", short.class);
        Assumptions.assumeTrue(m != null, "Float.float16ToFloat needs JDK 20+");
        for (int code = 0; code < 65536; code++) {
            float expected = (float) m.invoke(null, (short) code);
            float got = FloatFormat.FP16.decode(code);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got));
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got), "code " + code);
            }
        }
    }

    @Test
    void namedValues() {
        assertEquals(448f, FloatFormat.FP8_E4M3.decode(0x7E));
        assertEquals(-448f, FloatFormat.FP8_E4M3.decode(0xFE));
        assertTrue(Float.isNaN(FloatFormat.FP8_E4M3.decode(0x7F)));
        assertTrue(Float.isNaN(FloatFormat.FP8_E4M3.decode(0xFF)));
        assertEquals(256f, FloatFormat.FP8_E4M3.decode(0x78)); // exponent 1111 holds finite values
        assertEquals(0x1p-9f, FloatFormat.FP8_E4M3.decode(0x01));
        assertEquals(57344f, FloatFormat.FP8_E5M2.decode(0x7B));
        assertEquals(Float.POSITIVE_INFINITY, FloatFormat.FP8_E5M2.decode(0x7C));
        assertEquals(Float.NEGATIVE_INFINITY, FloatFormat.FP8_E5M2.decode(0xFC));
        assertEquals(0x1p-16f, FloatFormat.FP8_E5M2.decode(0x01));
        assertEquals(65504f, FloatFormat.FP16.decode(0x7BFF));
        assertEquals(0x1p-24f, FloatFormat.FP16.decode(0x0001));
        assertEquals(0x1p-14f, FloatFormat.FP16.decode(0x0400));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(FloatFormat.FP16.decode(0x8000)));
        // only the low bits() bits are used: a sign-extended byte decodes as the byte
        assertEquals(-448f, FloatFormat.FP8_E4M3.decode((byte) 0xFE));
    }

    @Test
    void properties() {
        FloatFormat e4m3 = FloatFormat.FP8_E4M3;
        assertEquals(448f, e4m3.maxFinite());
        assertEquals(0x1p-6f, e4m3.minNormal());
        assertEquals(0x1p-9f, e4m3.minSubnormal());
        assertEquals(0.125f, e4m3.epsilon());
        assertEquals(0.0625f, e4m3.unitRoundoff());
        assertEquals(4 * Math.log10(2), e4m3.decimalDigits(), 1e-15);
        assertEquals(8, e4m3.maxExponent());
        assertEquals(-6, e4m3.minExponent());
        assertEquals(Math.log(448.0 / 0x1p-9) / Math.log(2), e4m3.dynamicRangeBinades(), 1e-12);
        assertEquals(57344f, FloatFormat.FP8_E5M2.maxFinite());
        assertEquals(0x1p-14f, FloatFormat.FP8_E5M2.minNormal());
        assertEquals(0x1p-16f, FloatFormat.FP8_E5M2.minSubnormal());
        assertEquals(65504f, FloatFormat.FP16.maxFinite());
        assertEquals(0x1p-10f, FloatFormat.FP16.epsilon());
        assertEquals(Float.MAX_VALUE, FloatFormat.FP32.maxFinite());
        assertEquals(Float.MIN_NORMAL, FloatFormat.FP32.minNormal());
        assertEquals(Float.MIN_VALUE, FloatFormat.FP32.minSubnormal());
        assertEquals(Math.ulp(1f), FloatFormat.FP32.epsilon());
        assertEquals(Float.intBitsToFloat(0x7F7F0000), FloatFormat.BF16.maxFinite());
        assertEquals(Float.MIN_NORMAL, FloatFormat.BF16.minNormal());
        assertEquals(0x1p-133f, FloatFormat.BF16.minSubnormal());
        float[] pos = FloatFormat.FP8_E4M3.positiveValues();
        assertEquals(126, pos.length);
        assertEquals(0x1p-9f, pos[0]);
        assertEquals(448f, pos[125]);
        for (int i = 1; i < pos.length; i++) {
            assertTrue(pos[i] > pos[i - 1]);
        }
    }

    @Test
    void fp32DecodeIsIntBitsToFloat() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int i = 0; i < 1_000_000; i++) {
            int bits = rnd.nextInt();
            float expected = Float.intBitsToFloat(bits);
            float got = FloatFormat.FP32.decode(bits);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got));
            } else {
                assertEquals(bits, Float.floatToRawIntBits(got));
            }
        }
    }

    static Method jdkMethod(String name, Class<?> arg) {
        try {
            return Float.class.getMethod(name, arg);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }
}
