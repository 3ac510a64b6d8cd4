package org.distillery.formats;

/**
 * An integer format with a per-tensor scale: a real value {@code w} is stored as an integer code
 * {@code q} and represented by {@code w' = scale · (q - zeroPoint)}.
 *
 * <ul>
 *   <li><b>Symmetric</b> ({@link #symmetric}): signed codes in {@code [-(2^(b-1)-1), 2^(b-1)-1]} (the most
 *   negative two's-complement code is not used, so the range is symmetric around 0), zero point 0,
 *   {@code scale = absmax / (2^(b-1)-1)}.</li>
 *   <li><b>Asymmetric</b> ({@link #asymmetric}), GPTQ convention: unsigned codes in {@code [0, 2^b-1]},
 *   {@code min = min(w, 0)}, {@code max = max(w, 0)} (the range is widened to contain 0, so 0 is exact),
 *   {@code scale = (max - min) / (2^b - 1)}, {@code zeroPoint = round(-min / scale)}.</li>
 * </ul>
 * Quantization is {@code q = clamp(round(w / scale) + zeroPoint, qmin, qmax)} with round half to even
 * ({@link Math#rint}, like {@code torch.round}); {@code w / scale} is computed in double, so the code is
 * the nearest step to the exact quotient (the result {@code scale · (q - zeroPoint)} is a float, rounded
 * once), and the error of an in-range value is at most half a step plus half a float ulp. An all-zero tensor
 * gets scale 1 (symmetric) or, as in GPTQ, the range [-1, 1] (asymmetric); it is represented exactly.
 *
 * @param bits      2 to 8, or 16
 * @param symmetric signed symmetric codes with zero point 0, or unsigned codes with a zero point
 */
public record IntFormat(int bits, boolean symmetric) implements NumericFormat {

    public static final IntFormat INT8 = symmetric(8);
    public static final IntFormat INT4 = symmetric(4);
    public static final IntFormat INT8_ASYM = asymmetric(8);
    public static final IntFormat INT4_ASYM = asymmetric(4);

    /** The per-tensor parameters: {@code w' = scale · (q - zeroPoint)}. */
    public record Params(float scale, int zeroPoint) {
        public Params {
            if (!(scale > 0) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("scale = " + scale + " must be positive and finite");
            }
        }
    }

    public IntFormat {
        if (!(bits >= 2 && bits <= 8) && bits != 16) {
            throw new IllegalArgumentException("bits = " + bits + " is out of range: accepted 2 to 8, or 16");
        }
    }

    /** Signed symmetric {@code bits}-bit integers (zero point 0). */
    public static IntFormat symmetric(int bits) {
        return new IntFormat(bits, true);
    }

    /** Unsigned {@code bits}-bit integers with a zero point (GPTQ's asymmetric quantization). */
    public static IntFormat asymmetric(int bits) {
        return new IntFormat(bits, false);
    }

    /** {@code INT4} for symmetric, {@code INT4-asym} for asymmetric. */
    @Override
    public String name() {
        return "INT" + bits + (symmetric ? "" : "-asym");
    }

    /** Smallest code: {@code -(2^(b-1)-1)} symmetric, 0 asymmetric. */
    public int qmin() {
        return symmetric ? -qmax() : 0;
    }

    /** Largest code: {@code 2^(b-1)-1} symmetric, {@code 2^b-1} asymmetric. */
    public int qmax() {
        return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    }

    /** Number of distinct codes used: {@code qmax - qmin + 1}. */
    public int levels() {
        return qmax() - qmin() + 1;
    }

    /** Binades between the largest magnitude and the step, {@code log2(max(|qmin|, qmax))}: the dynamic range once a scale is fixed. */
    public double dynamicRangeBinades() {
        return Math.log(Math.max(-qmin(), qmax())) / Math.log(2);
    }

    /** Per-tensor parameters from the values (absmax for symmetric, min/max for asymmetric; see class doc). */
    public Params params(float[] w) {
        if (w.length == 0) {
            throw new IllegalArgumentException("w.length = 0: cannot derive a scale from no values");
        }
        float min = 0, max = 0;
        for (int i = 0; i < w.length; i++) {
            float v = w[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("w[" + i + "] = " + v + " is not finite");
            }
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        return params(min, max);
    }

    /**
     * Parameters for the value range [{@code min}, {@code max}] (e.g. a shrunk range in a clipping search):
     * the range is first widened to contain 0, then {@code scale = max(-min, max) / qmax} (symmetric) or
     * {@code scale = (max - min) / qmax}, {@code zeroPoint = clamp(round(-min / scale), 0, qmax)}
     * (asymmetric); an empty range [0, 0] is treated as in {@link #params(float[])}.
     */
    public Params params(float min, float max) {
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException("range [" + min + ", " + max + "] must be finite with min <= max");
        }
        min = Math.min(min, 0);
        max = Math.max(max, 0);
        if (symmetric) {
            float absmax = Math.max(-min, max);
            return new Params(absmax == 0 ? 1f : absmax / qmax(), 0);
        }
        if (min == 0 && max == 0) {
            min = -1;
            max = 1;
        }
        float scale = (max - min) / qmax();
        int zero = (int) Math.rint(-min / scale);
        return new Params(scale, Math.min(Math.max(zero, 0), qmax()));
    }

    /** The code of {@code w}: {@code clamp(rint(w / scale) + zeroPoint, qmin, qmax)}. */
    public int quantize(float w, Params p) {
        return quantize(w, p.scale(), p.zeroPoint());
    }

    /**
     * {@link #quantize(float, Params)} with the parameters unpacked, for loops over many (scale, zero point)
     * pairs that should not allocate: {@code clamp(rint(w / scale) + zeroPoint, qmin, qmax)}.
     */
    public int quantize(float w, float scale, int zeroPoint) {
        if (Float.isNaN(w)) {
            throw new IllegalArgumentException("w = NaN cannot be quantized");
        }
        double q = Math.rint((double) w / scale) + zeroPoint;
        return (int) Math.min(Math.max(q, qmin()), qmax());
    }

    /** The value a code represents with unpacked parameters: {@code scale · (q - zeroPoint)}. */
    public float dequantize(int q, float scale, int zeroPoint) {
        return scale * (q - zeroPoint);
    }

    /** Whether {@code w} lies outside the representable range, so that {@link #quantize} clamps it. */
    public boolean clips(float w, Params p) {
        double q = Math.rint((double) w / p.scale()) + p.zeroPoint();
        return q < qmin() || q > qmax();
    }

    /** The value a code represents: {@code scale · (q - zeroPoint)}. */
    public float dequantize(int q, Params p) {
        return dequantize(q, p.scale(), p.zeroPoint());
    }

    /** {@code dequantize(quantize(w, p), p)}. */
    public float round(float w, Params p) {
        return dequantize(quantize(w, p), p);
    }

    /** Rounds with parameters derived from {@code in} by {@link #params}. */
    @Override
    public void round(float[] in, float[] out) {
        round(in, params(in), out);
    }

    /** Rounds every element with the given parameters; {@code in} and {@code out} may be the same array. */
    public void round(float[] in, Params p, float[] out) {
        if (in.length != out.length) {
            throw new IllegalArgumentException("out.length = " + out.length + " must equal in.length = " + in.length);
        }
        for (int i = 0; i < in.length; i++) {
            out[i] = round(in[i], p);
        }
    }

    /** The codes of all elements. */
    public int[] quantize(float[] in, Params p) {
        int[] q = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            q[i] = quantize(in[i], p);
        }
        return q;
    }

    /** The stored bits of a code: two's complement for symmetric, plain binary for asymmetric. */
    public String bitString(int q) {
        if (q < qmin() || q > qmax()) {
            throw new IllegalArgumentException("q = " + q + " is out of range: accepted " + qmin() + " to " + qmax());
        }
        return FloatFormat.binary(q, bits);
    }
}
