package org.distillery.formats;

import java.util.List;

/**
 * A binary floating-point format: 1 sign bit, {@code exponentBits} exponent bits with the given
 * {@code bias}, {@code mantissaBits} stored fraction bits, gradual underflow (subnormals), and the special
 * values described by {@code hasInfinity} and {@code nanEncoding}. Every value of a format must be exactly
 * representable as a Java {@code float}, so encode/decode work between {@code float} and the format's code
 * (an {@code int} holding the {@link #bits()} low bits: sign, then exponent, then mantissa).
 *
 * <p>Encoding (float to code) is round-to-nearest, ties-to-even on the mantissa, exact for normals,
 * subnormals (gradual underflow; values at or below half the smallest subnormal round to a signed zero,
 * the exact half being a tie that goes to the even code, zero), signed zeros, infinities and NaN. Values
 * beyond the largest finite value are handled by the format's {@link Overflow} mode (see there):
 * IEEE formats default to {@link Overflow#NON_SATURATING} (overflow to ±infinity exactly as IEEE 754
 * round-to-nearest-even), FP8 E4M3 defaults to {@link Overflow#SATURATE}. {@link #withOverflow} gives the
 * other behaviour. For FP16 and BF16 the result is bit-identical to {@code Float.floatToFloat16} (JDK 20+)
 * and to PyTorch's {@code tensor.to(torch.bfloat16)} for every non-NaN input; a NaN input gives a quiet
 * NaN of the same sign (payload not preserved). (The unit tests check this on millions of inputs and every
 * tie; a one-off exhaustive run over all 2^32 floats on JDK 25 found no difference from either reference.)
 *
 * @param name          display name, e.g. {@code FP16}
 * @param exponentBits  exponent field width, 1 to 8
 * @param mantissaBits  stored fraction bits (without the implicit leading 1), 0 to 23
 * @param bias          exponent bias: a normal value is {@code 1.m × 2^(field - bias)}
 * @param hasInfinity   whether the format has ±infinity (only with {@link NanEncoding#IEEE})
 * @param nanEncoding   which codes are NaN
 * @param overflow      what {@link #encode(float)} does on overflow
 */
public record FloatFormat(String name, int exponentBits, int mantissaBits, int bias, boolean hasInfinity,
                          NanEncoding nanEncoding, Overflow overflow) implements NumericFormat {

    /** IEEE 754 binary32, Java's {@code float}: encode/decode are the identity on non-NaN values. */
    public static final FloatFormat FP32 =
            new FloatFormat("FP32", 8, 23, 127, true, NanEncoding.IEEE, Overflow.NON_SATURATING);
    /** IEEE 754 binary16 ("half"): max finite 65504. */
    public static final FloatFormat FP16 =
            new FloatFormat("FP16", 5, 10, 15, true, NanEncoding.IEEE, Overflow.NON_SATURATING);
    /** bfloat16: the top 16 bits of FP32 (same exponent range, 7 fraction bits). */
    public static final FloatFormat BF16 =
            new FloatFormat("BF16", 8, 7, 127, true, NanEncoding.IEEE, Overflow.NON_SATURATING);
    /**
     * OCP FP8 E4M3 ("E4M3FN"): bias 7, no infinities, only {@code S.1111.111} is NaN, max finite 448.
     * Saturates on overflow by default; {@code withOverflow(Overflow.NON_SATURATING)} gives NaN instead.
     */
    public static final FloatFormat FP8_E4M3 =
            new FloatFormat("FP8_E4M3", 4, 3, 7, false, NanEncoding.ALL_ONES, Overflow.SATURATE);
    /** OCP FP8 E5M2: IEEE-like (bias 15, infinities, NaN), max finite 57344. */
    public static final FloatFormat FP8_E5M2 =
            new FloatFormat("FP8_E5M2", 5, 2, 15, true, NanEncoding.IEEE, Overflow.NON_SATURATING);

    /** The standard formats, widest first: FP32, FP16, BF16, FP8_E4M3, FP8_E5M2. */
    public static final List<FloatFormat> STANDARD = List.of(FP32, FP16, BF16, FP8_E4M3, FP8_E5M2);

    private static final String SATURATE_SUFFIX = "-sat";
    private static final String NON_SATURATING_SUFFIX = "-nonsat";

    /** Validates the description; every value of the format must be exactly representable as a float. */
    public FloatFormat {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank");
        }
        if (exponentBits < 1 || exponentBits > 8) {
            throw new IllegalArgumentException("exponentBits = " + exponentBits + " is out of range: accepted 1 to 8");
        }
        if (mantissaBits < 0 || mantissaBits > 23) {
            throw new IllegalArgumentException("mantissaBits = " + mantissaBits + " is out of range: accepted 0 to 23");
        }
        if (nanEncoding == null || overflow == null) {
            throw new IllegalArgumentException("nanEncoding and overflow must not be null");
        }
        if (hasInfinity != (nanEncoding == NanEncoding.IEEE)) {
            throw new IllegalArgumentException("hasInfinity = " + hasInfinity + " with nanEncoding = " + nanEncoding
                    + ": infinities exist exactly when the NaN encoding is IEEE");
        }
        if (nanEncoding == NanEncoding.IEEE && mantissaBits == 0) {
            throw new IllegalArgumentException("mantissaBits = 0 with nanEncoding = IEEE: no code is left for NaN");
        }
        int topField = (1 << exponentBits) - (nanEncoding == NanEncoding.IEEE ? 2 : 1);
        int emax = topField - bias;
        int eminSub = 1 - bias - mantissaBits;
        if (emax > 127 || eminSub < -149) {
            throw new IllegalArgumentException("bias = " + bias + " puts the values of " + name
                    + " outside float (largest exponent " + emax + ", accepted up to 127; smallest subnormal 2^"
                    + eminSub + ", accepted down to 2^-149)");
        }
        if (nanEncoding == NanEncoding.ALL_ONES && exponentBits == 1 && mantissaBits == 0) {
            throw new IllegalArgumentException("a 1-bit exponent with no mantissa and an ALL_ONES NaN has no positive value");
        }
    }

    /** This format with another overflow mode; the name gets {@code -sat} or {@code -nonsat} when it differs from the standard one. */
    public FloatFormat withOverflow(Overflow mode) {
        if (mode == overflow) {
            return this;
        }
        String base = name;
        if (base.endsWith(SATURATE_SUFFIX)) {
            base = base.substring(0, base.length() - SATURATE_SUFFIX.length());
        } else if (base.endsWith(NON_SATURATING_SUFFIX)) {
            base = base.substring(0, base.length() - NON_SATURATING_SUFFIX.length());
        }
        Overflow standard = hasInfinity ? Overflow.NON_SATURATING : Overflow.SATURATE;
        String newName = mode == standard ? base
                : base + (mode == Overflow.SATURATE ? SATURATE_SUFFIX : NON_SATURATING_SUFFIX);
        return new FloatFormat(newName, exponentBits, mantissaBits, bias, hasInfinity, nanEncoding, mode);
    }

    // ---------------------------------------------------------------- properties

    /** Total bits: 1 + exponentBits + mantissaBits. */
    @Override
    public int bits() {
        return 1 + exponentBits + mantissaBits;
    }

    /** Unbiased exponent of the smallest normal value, {@code 1 - bias} (also the exponent of subnormals). */
    public int minExponent() {
        return 1 - bias;
    }

    /** Unbiased exponent of the largest finite value. */
    public int maxExponent() {
        return (maxFiniteCode() >>> mantissaBits) - bias;
    }

    /** The code (without sign) of the largest finite value. */
    public int maxFiniteCode() {
        int magnitudeBits = exponentBits + mantissaBits;
        return switch (nanEncoding) {
            case IEEE -> (((1 << exponentBits) - 1) << mantissaBits) - 1;
            case ALL_ONES -> (1 << magnitudeBits) - 2;
            case NONE -> (1 << magnitudeBits) - 1;
        };
    }

    /** Largest finite value. */
    public float maxFinite() {
        return decode(maxFiniteCode());
    }

    /** Smallest positive normal value, {@code 2^(1 - bias)}. */
    public float minNormal() {
        return Math.scalb(1f, 1 - bias);
    }

    /** Smallest positive (subnormal) value, {@code 2^(1 - bias - mantissaBits)}; equals minNormal when mantissaBits is 0. */
    public float minSubnormal() {
        return Math.scalb(1f, 1 - bias - mantissaBits);
    }

    /** Machine epsilon: the distance from 1 to the next larger value, {@code 2^-mantissaBits}. */
    public float epsilon() {
        return Math.scalb(1f, -mantissaBits);
    }

    /** Largest relative rounding error for values in the normal range (unit roundoff), {@code 2^-(mantissaBits+1)}. */
    public float unitRoundoff() {
        return Math.scalb(1f, -mantissaBits - 1);
    }

    /** Decimal digits of precision, {@code (mantissaBits + 1) · log10(2)}. */
    public double decimalDigits() {
        return (mantissaBits + 1) * Math.log10(2);
    }

    /** Dynamic range in binades (powers of two): {@code log2(maxFinite / minSubnormal)}. */
    public double dynamicRangeBinades() {
        return log2((double) maxFinite() / minSubnormal());
    }

    /** Binades of the normal range: {@code log2(maxFinite / minNormal)}. */
    public double normalRangeBinades() {
        return log2((double) maxFinite() / minNormal());
    }

    /**
     * All positive finite values in increasing order (the negative ones are their mirror image); only for
     * formats of at most 16 bits.
     */
    public float[] positiveValues() {
        if (bits() > 16) {
            throw new IllegalArgumentException("positiveValues() of " + name + ": bits = " + bits()
                    + " is too many to list, accepted up to 16");
        }
        int max = maxFiniteCode();
        float[] v = new float[max];
        for (int c = 1; c <= max; c++) {
            v[c - 1] = decode(c);
        }
        return v;
    }

    // ---------------------------------------------------------------- encode / decode

    /** The code of {@code x} rounded to nearest, ties to even, with this format's overflow mode. */
    public int encode(float x) {
        return encode(x, overflow);
    }

    /**
     * The code of {@code x} rounded to nearest, ties to even, with the given overflow mode (see
     * {@link Overflow}). Throws ArithmeticException for NaN (or a non-saturated overflow) in a format
     * without NaN ({@link NanEncoding#NONE}).
     */
    public int encode(float x, Overflow mode) {
        int fb = Float.floatToRawIntBits(x);
        int magnitudeBits = exponentBits + mantissaBits;
        int signBit = (fb >>> 31) << magnitudeBits;
        int abs = fb & 0x7FFF_FFFF;
        if (abs >= 0x7F80_0000) {
            if (abs > 0x7F80_0000) {
                return nanCode(signBit, x);
            }
            return overflowCode(signBit, mode, x);
        }
        if (abs == 0) {
            return signBit;
        }
        // |x| = sig * 2^exp2 exactly
        int fieldF = abs >>> 23;
        long sig;
        int exp2;
        if (fieldF == 0) {
            sig = abs;
            exp2 = -149;
        } else {
            sig = (abs & 0x7F_FFFF) | 0x80_0000;
            exp2 = fieldF - 150;
        }
        int e = exp2 + 63 - Long.numberOfLeadingZeros(sig); // floor(log2 |x|)
        int q = Math.max(e, 1 - bias) - mantissaBits;        // exponent of one unit in the last place
        int shift = q - exp2;                                // >= 0 because the format's values are floats
        long n;                                              // |x| / 2^q rounded to nearest even integer
        if (shift <= 0) {
            n = sig << -shift;
        } else if (shift >= 62) {
            n = 0;
        } else {
            n = sig >>> shift;
            long rem = sig & ((1L << shift) - 1);
            long half = 1L << (shift - 1);
            if (rem > half || (rem == half && (n & 1) != 0)) {
                n++;
            }
        }
        // For normals n is in [2^m, 2^(m+1)], for subnormals in [0, 2^m]; in both cases the code is
        // ((biased exponent - 1) << m) + n, and a carry out of the mantissa increments the exponent.
        long code = ((long) (q + mantissaBits + bias - 1) << mantissaBits) + n;
        if (code > maxFiniteCode()) {
            return overflowCode(signBit, mode, x);
        }
        return signBit | (int) code;
    }

    private int overflowCode(int signBit, Overflow mode, float x) {
        if (mode == Overflow.SATURATE) {
            return signBit | maxFiniteCode();
        }
        if (hasInfinity) {
            return signBit | (((1 << exponentBits) - 1) << mantissaBits);
        }
        return nanCode(signBit, x);
    }

    private int nanCode(int signBit, float x) {
        return switch (nanEncoding) {
            case IEEE -> signBit | (((1 << exponentBits) - 1) << mantissaBits) | (1 << (mantissaBits - 1));
            case ALL_ONES -> signBit | ((1 << (exponentBits + mantissaBits)) - 1);
            case NONE -> throw new ArithmeticException(x + " cannot be encoded in " + name + ", which has no NaN");
        };
    }

    /** The value of a code; only the low {@link #bits()} bits of {@code code} are used. */
    public float decode(int code) {
        int m = mantissaBits;
        int allOnes = (1 << exponentBits) - 1;
        boolean negative = ((code >>> (exponentBits + m)) & 1) != 0;
        int field = (code >>> m) & allOnes;
        int mant = code & ((1 << m) - 1);
        float mag;
        if (field == allOnes && nanEncoding == NanEncoding.IEEE) {
            mag = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (field == allOnes && nanEncoding == NanEncoding.ALL_ONES && mant == (1 << m) - 1) {
            mag = Float.NaN;
        } else if (field == 0) {
            mag = Math.scalb((float) mant, 1 - bias - m);
        } else {
            mag = Math.scalb((float) (mant | (1 << m)), field - bias - m);
        }
        return negative ? -mag : mag;
    }

    /** {@code x} rounded to this format: {@code decode(encode(x))}. */
    public float round(float x) {
        return decode(encode(x));
    }

    /** Rounds every element (see {@link #round(float)}); {@code in} and {@code out} may be the same array. */
    @Override
    public void round(float[] in, float[] out) {
        if (in.length != out.length) {
            throw new IllegalArgumentException("out.length = " + out.length + " must equal in.length = " + in.length);
        }
        if (this.equals(FP32)) {
            System.arraycopy(in, 0, out, 0, in.length);
            return;
        }
        for (int i = 0; i < in.length; i++) {
            out[i] = decode(encode(in[i]));
        }
    }

    // ---------------------------------------------------------------- display

    /** The bit layout of {@code x} rounded to this format. */
    public BitLayout layout(float x) {
        return layoutOfCode(encode(x));
    }

    /** The bit layout of a code (only its low {@link #bits()} bits are used). */
    public BitLayout layoutOfCode(int code) {
        int m = mantissaBits;
        int allOnes = (1 << exponentBits) - 1;
        int c = bits() == 32 ? code : code & ((1 << bits()) - 1);
        int signBit = (c >>> (exponentBits + m)) & 1;
        int field = (c >>> m) & allOnes;
        int mant = c & ((1 << m) - 1);
        float value = decode(c);
        BitLayout.Kind kind;
        if (Float.isNaN(value)) {
            kind = BitLayout.Kind.NAN;
        } else if (Float.isInfinite(value)) {
            kind = BitLayout.Kind.INFINITY;
        } else if (field == 0) {
            kind = mant == 0 ? BitLayout.Kind.ZERO : BitLayout.Kind.SUBNORMAL;
        } else {
            kind = BitLayout.Kind.NORMAL;
        }
        int unbiased = field == 0 ? 1 - bias : field - bias;
        return new BitLayout(name, c, Integer.toString(signBit), binary(field, exponentBits), binary(mant, m),
                unbiased, kind, value);
    }

    static String binary(long v, int width) {
        StringBuilder sb = new StringBuilder(width);
        for (int i = width - 1; i >= 0; i--) {
            sb.append(((v >>> i) & 1) != 0 ? '1' : '0');
        }
        return sb.toString();
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
