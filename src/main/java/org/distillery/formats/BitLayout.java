package org.distillery.formats;

/**
 * One code of a {@link FloatFormat} taken apart for display.
 *
 * @param format            the format's name
 * @param code              the code (sign, exponent, mantissa in the low bits)
 * @param sign              the sign bit, {@code "0"} or {@code "1"}
 * @param exponent          the exponent field as a bit string
 * @param mantissa          the mantissa (fraction) field as a bit string, possibly empty
 * @param unbiasedExponent  the exponent the value is scaled by: field minus bias for normals, {@code 1 - bias}
 *                          for zeros and subnormals; for infinities and NaN simply field minus bias
 * @param kind              zero, subnormal, normal, infinity or NaN
 * @param value             the value the code encodes
 */
public record BitLayout(String format, int code, String sign, String exponent, String mantissa,
                        int unbiasedExponent, Kind kind, float value) {

    /** What a code encodes. */
    public enum Kind { ZERO, SUBNORMAL, NORMAL, INFINITY, NAN }

    /** All bits separated by {@code |}: sign | exponent | mantissa. */
    public String bits() {
        return mantissa.isEmpty() ? sign + "|" + exponent : sign + "|" + exponent + "|" + mantissa;
    }

    /**
     * The value as the format computes it, e.g. {@code -1.11 × 2^1} for -3.5 or {@code +0.01 × 2^-14} for a
     * subnormal (significand in binary); {@code +inf}, {@code NaN} for the special values.
     */
    public String formula() {
        String s = sign.equals("1") ? "-" : "+";
        return switch (kind) {
            case NAN -> "NaN";
            case INFINITY -> s + "inf";
            case ZERO, SUBNORMAL -> s + "0." + (mantissa.isEmpty() ? "0" : mantissa) + " × 2^" + unbiasedExponent;
            case NORMAL -> s + "1." + (mantissa.isEmpty() ? "0" : mantissa) + " × 2^" + unbiasedExponent;
        };
    }
}
