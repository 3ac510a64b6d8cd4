package org.distillery.quant.packed;

import java.util.Objects;

/**
 * Precomputed integer codes of a linear layer's weight W [out, in] (for example GPTQ's output), to be packed
 * by {@link PackedWeights#pack(QuantizedCodes)} without re-rounding:
 * <pre>
 *   w[o, k] = scales[o * (in / group) + k / group] * (codes[o * in + k] - zeros[o * (in / group) + k / group])
 * </pre>
 * Arrays are row-major and are not copied (the packer reads them once).
 *
 * @param format the packed format; its code range ({@link PackedFormat#qmin()} to {@link PackedFormat#qmax()})
 *               bounds the codes: signed for the symmetric formats (INT8 [-127, 127], INT4 [-7, 7],
 *               Q8_0 [-128, 127], Q4_0 [-8, 7]), unsigned for the asymmetric ones (INT8_ASYM [0, 255],
 *               INT4_ASYM [0, 15])
 * @param out    rows of W (output features), >= 1
 * @param in     columns of W (input features), >= 1
 * @param group  columns per group: a divisor of {@code in} (32 for Q8_0/Q4_0, even for the 4-bit formats);
 *               {@code in} means one group per row (per-output-channel)
 * @param codes  [out, in] codes
 * @param scales [out, in / group] scales, finite; stored as fp16 (rounded to nearest even, so the packed
 *               value is {@code fp16(scale) * (code - zero)}), hence |scale| at most 65504
 * @param zeros  [out, in / group] zero-points in [0, {@link PackedFormat#zeroMax()}] for the asymmetric
 *               formats; null for the symmetric ones
 */
public record QuantizedCodes(PackedFormat format, int out, int in, int group, int[] codes, float[] scales,
                             int[] zeros) {

    /** Validates shapes and ranges; the messages name the argument, the position and the accepted range. */
    public QuantizedCodes {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(scales, "scales");
        if (out < 1) throw new IllegalArgumentException("out = " + out + ": need at least one row");
        format.checkGroup(group, in);
        int groups = in / group;
        if (codes.length != (long) out * in) {
            throw new IllegalArgumentException("codes: length " + codes.length + " but W [" + out + ", " + in
                    + "] has " + (long) out * in + " elements");
        }
        if (scales.length != (long) out * groups) {
            throw new IllegalArgumentException("scales: length " + scales.length + " but [out, in / group] = ["
                    + out + ", " + groups + "] needs " + (long) out * groups);
        }
        for (int i = 0; i < codes.length; i++) {
            if (codes[i] < format.qmin() || codes[i] > format.qmax()) {
                throw new IllegalArgumentException("codes[" + i / in + ", " + i % in + "] = " + codes[i]
                        + " is out of range for " + format.id() + " (accepted: " + format.qmin() + " to "
                        + format.qmax() + ")");
            }
        }
        for (int i = 0; i < scales.length; i++) {
            float s = scales[i];
            if (!Float.isFinite(s) || Math.abs(s) > Fp16.MAX) {
                throw new IllegalArgumentException("scales[" + i / groups + ", " + i % groups + "] = " + s
                        + " cannot be stored as fp16 (accepted: finite, |scale| <= " + Fp16.MAX + ")");
            }
        }
        if (format.symmetric()) {
            if (zeros != null) {
                throw new IllegalArgumentException("zeros: " + format.id()
                        + " is symmetric (zero-point 0); pass null");
            }
        } else {
            if (zeros == null) {
                throw new IllegalArgumentException("zeros: " + format.id() + " is asymmetric and needs [" + out
                        + ", " + groups + "] zero-points");
            }
            if (zeros.length != scales.length) {
                throw new IllegalArgumentException("zeros: length " + zeros.length + " but [out, in / group] = ["
                        + out + ", " + groups + "] needs " + scales.length);
            }
            for (int i = 0; i < zeros.length; i++) {
                if (zeros[i] < 0 || zeros[i] > format.zeroMax()) {
                    throw new IllegalArgumentException("zeros[" + i / groups + ", " + i % groups + "] = " + zeros[i]
                            + " is out of range for " + format.id() + " (accepted: 0 to " + format.zeroMax() + ")");
                }
            }
        }
    }

    /**
     * Codes given as bytes, row-major [out, in]: read as signed (two's complement) for the symmetric formats
     * and as unsigned for the asymmetric ones; zeros likewise unsigned bytes (null for symmetric formats).
     */
    public static QuantizedCodes ofBytes(PackedFormat format, int out, int in, int group, byte[] codes,
                                         float[] scales, byte[] zeros) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(codes, "codes");
        int[] c = new int[codes.length];
        for (int i = 0; i < c.length; i++) c[i] = format.symmetric() ? codes[i] : codes[i] & 0xFF;
        int[] z = null;
        if (zeros != null) {
            z = new int[zeros.length];
            for (int i = 0; i < z.length; i++) z[i] = zeros[i] & 0xFF;
        }
        return new QuantizedCodes(format, out, in, group, c, scales, z);
    }

    /** Groups per row, {@code in / group}. */
    public int groups() { return in / group; }

    @Override
    public String toString() {
        return "QuantizedCodes[" + format.id() + " [" + out + ", " + in + "] group " + group + "]";
    }
}
