package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.List;
import org.distillery.formats.FloatFormat;
import org.distillery.formats.IntFormat;

/**
 * The exercises of {@code 00-number-formats.ipynb}, checked against {@link FloatFormat} and {@link IntFormat}:
 * <ol>
 *   <li>00.1 decode the FP8 E4M3 code {@code 0 1010 011} by hand;</li>
 *   <li>00.2 decode the E4M3 code {@code 1 0000 101} (a subnormal);</li>
 *   <li>00.3 round 0.1f to BF16 with bit operations (round to nearest, ties to even);</li>
 *   <li>00.4 INT4-asym on the tensor {0.1, -3.5, 0.001}: scale, zero point and what -3.5 and 0.1 come back as.</li>
 * </ol>
 */
public final class NumberFormatExercises {
    private NumberFormatExercises() {}

    /** 00.1: sign 0, exponent 1010, mantissa 011. */
    public static final int NORMAL_CODE = 0b0_1010_011;
    /** 00.2: sign 1, exponent 0000, mantissa 101. */
    public static final int SUBNORMAL_CODE = 0b1_0000_101;
    /** 00.3: the float rounded to BF16. */
    public static final float BF16_INPUT = 0.1f;
    /** 00.4: the tensor that sets the INT4-asym scale. */
    public static final float[] INT4_TENSOR = {0.1f, -3.5f, 0.001f};

    /** The four exercises, in order. */
    public static List<Exercise> all() {
        return List.of(decodeNormal(), decodeSubnormal(), bf16Rounding(), int4Asymmetric());
    }

    static Exercise decodeNormal() {
        return new Exercise("00.1", "decode the FP8 E4M3 bits 0 1010 011 by hand", "a double: the value the bits stand for",
                "value = (-1)^sign x 1.mantissa (binary) x 2^(exponent field - bias), and E4M3's bias is 7;"
                        + " mantissa bits are worth 1/2, 1/4, 1/8.", null, (e, a, c) -> {
            double v = Answers.number(a), ref = FloatFormat.FP8_E4M3.decode(NORMAL_CODE);
            if (close(v, ref, 1e-12, 0)) {
                return e.correct("0 1010 011 is " + show(ref) + " in FP8 E4M3 (FloatFormat.FP8_E4M3.decode agrees).");
            }
            if (close(v, 0.375 * 8, 1e-12, 0)) return e.wrong(show(v) + " leaves out the implicit leading 1.", "a normal number is 1.mantissa, here 1.011 (binary).");
            if (close(v, 1.375 * Math.pow(2, 10 - 15), 1e-12, 0)) return e.wrong(show(v) + " uses E5M2's bias 15.", "E4M3's bias is 2^(4-1) - 1 = 7.");
            return e.wrong(show(v) + " is not the value of 0 1010 011.");
        });
    }

    static Exercise decodeSubnormal() {
        return new Exercise("00.2", "decode the FP8 E4M3 bits 1 0000 101 (a subnormal)", "a double: the value the bits stand for",
                "an all-zero exponent field means subnormal: (-1)^sign x 0.mantissa (binary) x 2^(1 - bias).", null, (e, a, c) -> {
            double v = Answers.number(a), ref = FloatFormat.FP8_E4M3.decode(SUBNORMAL_CODE);
            if (close(v, ref, 1e-12, 0)) {
                return e.correct("1 0000 101 is " + show(ref) + " = -(5/8) x 2^-6 in FP8 E4M3 (FloatFormat.FP8_E4M3.decode agrees).");
            }
            if (close(v, -ref, 1e-12, 0)) return e.wrong(show(v) + " has the wrong sign.", "the first bit is the sign, and it is 1.");
            if (close(v, -1.625 * Math.pow(2, -7), 1e-12, 0)) {
                return e.wrong(show(v) + " decodes it as a normal number.", "with exponent field 0000 there is no implicit 1: 0.101 (binary), not 1.101.");
            }
            if (close(v, -0.625 * Math.pow(2, -7), 1e-12, 0)) {
                return e.wrong(show(v) + " uses 2^(0 - 7).", "subnormals use the smallest normal exponent, 1 - bias = -6, not 0 - bias.");
            }
            return e.wrong(show(v) + " is not the value of 1 0000 101.");
        });
    }

    static Exercise bf16Rounding() {
        return new Exercise("00.3", "round 0.1f to BF16 with bit operations", "a float: 0.1f rounded to BF16",
                "BF16 keeps the upper 16 bits of a float's bits; to round to nearest with ties to even, add 0x7FFF plus the"
                        + " lowest kept bit ((bits >>> 16) & 1) before clearing the lower 16 bits.", null, (e, a, c) -> {
            double v = Answers.number(a);
            float ref = FloatFormat.BF16.round(BF16_INPUT);
            if ((float) v == ref && close(v, ref, 1e-12, 0)) {
                return e.correct("0.1f rounds up to " + show(ref) + " in BF16 (bits 0x" + Integer.toHexString(Float.floatToIntBits(ref))
                        + "; FloatFormat.BF16.round agrees).");
            }
            float truncated = Float.intBitsToFloat(Float.floatToIntBits(BF16_INPUT) & 0xFFFF0000);
            if ((float) v == truncated) {
                return e.wrong(show(v) + " is the truncated value (round toward zero).",
                        "the dropped 16 bits are 0xCCCD, more than half of 0x10000, so the kept part rounds up: add 0x7FFF + lowest kept bit first.");
            }
            if ((float) v == BF16_INPUT) return e.wrong(show(v) + " is still 0.1f itself, with FP32's 23 mantissa bits.");
            return e.wrong(show(v) + " is not 0.1f rounded to BF16.");
        });
    }

    static Exercise int4Asymmetric() {
        return new Exercise("00.4", "INT4-asym on {0.1, -3.5, 0.001}: scale, zero point, and what -3.5 and 0.1 come back as",
                "a double[4]: {scale, zero point, value of -3.5 after rounding, value of 0.1 after rounding}",
                "asymmetric (GPTQ): widen [min, max] to contain 0, scale = (max - min) / (2^4 - 1), zero = round(-min / scale),"
                        + " q = clamp(round(x / scale) + zero, 0, 15), value = scale x (q - zero).", null, (e, a, c) -> {
            double[] v = Answers.numbers(a, 4);
            IntFormat f = IntFormat.INT4_ASYM;
            IntFormat.Params p = f.params(INT4_TENSOR);
            double[] ref = {p.scale(), p.zeroPoint(), f.round(-3.5f, p), f.round(0.1f, p)};
            String[] parts = {"scale", "zero point", "value of -3.5", "value of 0.1"};
            StringBuilder wrongParts = new StringBuilder();
            for (int i = 0; i < 4; i++) {
                if (!close(v[i], ref[i], 1e-5, 1e-9)) wrongParts.append(wrongParts.length() == 0 ? "" : ", ").append(parts[i]);
            }
            if (wrongParts.length() == 0) {
                return e.correct("scale " + Answers.showFloat(ref[0]) + ", zero point " + (int) ref[1] + "; -3.5 comes back as "
                        + Answers.showFloat(ref[2]) + " and 0.1 as " + Answers.showFloat(ref[3]) + ": the rounded zero point shifts the grid, so even the extreme is not exact"
                        + " (IntFormat.INT4_ASYM agrees).");
            }
            if (close(v[0], 3.5 / 7, 1e-5, 0)) {
                return e.wrong("The scale " + show(v[0]) + " is the symmetric one (absmax / 7).",
                        "the asymmetric grid spans [min, max] = [-3.5, 0.1] with 15 steps: scale = 3.6 / 15.");
            }
            return e.wrong("Not right: " + wrongParts + ".");
        });
    }
}
