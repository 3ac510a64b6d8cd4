package org.distillery.quant.packed;

import java.util.Arrays;
import java.util.Objects;

/**
 * A linear layer's weight W [out, in] packed in one of the {@link PackedFormat}s: codes, per-group fp16
 * scales and (asymmetric formats) per-group zero-points, {@code w[o, k] = scale[o, k/g] * (code[o, k] -
 * zero[o, k/g])}. Immutable; built from float weights by round-to-nearest ({@link #quantize}) or from
 * precomputed codes ({@link #pack}, e.g. GPTQ's).
 *
 * <h2>Byte layout of the codes ({@link #qweightBytes()}, the {@code .qweight} tensor of a file)</h2>
 * Rows are contiguous, row {@code o} first at byte {@code o * rowBytes}.
 * <ul>
 *   <li>8-bit formats, {@code rowBytes = in}: byte {@code k} of a row is the code of column {@code k};
 *   INT8 and Q8_0 as int8 (two's complement), INT8_ASYM as uint8.</li>
 *   <li>INT4, INT4_ASYM, {@code rowBytes = in / 2}: byte {@code j} holds column {@code 2j} in its low nibble
 *   (bits 0-3) and column {@code 2j + 1} in its high nibble (bits 4-7), low nibble first. The nibble is the
 *   code for INT4_ASYM and {@code code + 8} (1 to 15) for INT4.</li>
 *   <li>Q4_0, {@code rowBytes = in / 2}: llama.cpp's block order. Block {@code b} (columns {@code 32b} to
 *   {@code 32b + 31}) is bytes {@code 16b} to {@code 16b + 15}; byte {@code 16b + j} holds column
 *   {@code 32b + j} in its low nibble and column {@code 32b + 16 + j} in its high nibble; nibble =
 *   {@code code + 8} (0 to 15), value {@code d * (nibble - 8)}.</li>
 * </ul>
 * Scales are [out, in/g] fp16 values, zero-points [out, in/g] uint8. {@link #toGgmlBlocks()} gives Q8_0 and
 * Q4_0 weights in llama.cpp's interleaved block bytes ({@code block_q8_0}: fp16 d then 32 int8, 34 bytes;
 * {@code block_q4_0}: fp16 d then 16 bytes of nibbles, 18 bytes).
 *
 * <h2>In memory</h2>
 * Codes in a {@code byte[]} in the layout above, except INT8_ASYM, held as {@code code - 128} (int8), so
 * that one signed byte-to-float conversion serves every 8-bit format; scales widened to a {@code float[]}
 * (exact), and per group the float {@code scale * zeroEffective} used by the kernels ({@link #memoryBytes()}
 * counts it all).
 */
public final class PackedWeights {
    private final PackedFormat format;
    private final int out;
    private final int in;
    private final int group;
    private final int groups;
    /** Codes, [out, rowBytes], in the in-memory layout (see the class comment). */
    final byte[] q;
    /** [out, groups] scales (fp16 values). */
    final float[] scales;
    /** [out, groups] zero-points (unsigned), or null for symmetric formats. */
    private final byte[] zeros;
    /**
     * [out, groups] {@code scale * z'} where z' is the zero of the in-memory code: {@code zero - 128} (INT8_ASYM),
     * {@code zero} (INT4_ASYM), 8 (INT4, Q4_0: nibble = code + 8); null for INT8 and Q8_0 (z' = 0). The kernels
     * compute {@code sum_g scale_g * dot(x_g, c'_g) - sum_g offsets_g * sum(x_g)}.
     */
    final float[] offsets;

    private PackedWeights(QuantizedCodes c) {
        this.format = c.format();
        this.out = c.out();
        this.in = c.in();
        this.group = c.group();
        this.groups = c.groups();
        this.scales = new float[out * groups];
        for (int i = 0; i < scales.length; i++) scales[i] = Fp16.round(c.scales()[i]);
        this.zeros = c.zeros() == null ? null : new byte[out * groups];
        if (zeros != null) for (int i = 0; i < zeros.length; i++) zeros[i] = (byte) c.zeros()[i];
        int[] codes = c.codes();
        this.q = new byte[Math.multiplyExact(out, rowBytes())];
        for (int o = 0; o < out; o++) {
            int row = o * in, base = o * rowBytes();
            switch (format) {
                case INT8, Q8_0 -> { for (int k = 0; k < in; k++) q[base + k] = (byte) codes[row + k]; }
                case INT8_ASYM -> { for (int k = 0; k < in; k++) q[base + k] = (byte) (codes[row + k] - 128); }
                case INT4, INT4_ASYM -> {
                    int shift = format == PackedFormat.INT4 ? 8 : 0;
                    for (int j = 0; j < in / 2; j++) {
                        q[base + j] = (byte) ((codes[row + 2 * j] + shift) | (codes[row + 2 * j + 1] + shift) << 4);
                    }
                }
                case Q4_0 -> {
                    for (int b = 0; b < in / 32; b++) {
                        for (int j = 0; j < 16; j++) {
                            q[base + 16 * b + j] = (byte) ((codes[row + 32 * b + j] + 8)
                                    | (codes[row + 32 * b + 16 + j] + 8) << 4);
                        }
                    }
                }
            }
        }
        if (format == PackedFormat.INT8 || format == PackedFormat.Q8_0) {
            this.offsets = null;
        } else {
            this.offsets = new float[out * groups];
            for (int i = 0; i < offsets.length; i++) {
                int z = switch (format) {
                    case INT8_ASYM -> (zeros[i] & 0xFF) - 128;
                    case INT4_ASYM -> zeros[i] & 0xFF;
                    default -> 8;
                };
                offsets[i] = scales[i] * z;
            }
        }
    }

    /** Packs precomputed codes (validated by {@link QuantizedCodes}); scales are rounded to fp16. */
    public static PackedWeights pack(QuantizedCodes codes) {
        return new PackedWeights(Objects.requireNonNull(codes, "codes"));
    }

    /**
     * Round-to-nearest quantization of float weights W [out, in] (row-major) into {@code format} with
     * {@code group} columns per scale ({@code in} for one group per row; 32 for Q8_0/Q4_0).
     * <ul>
     *   <li>INT8, INT4: scale = absmax / qmax over the group (1 for an all-zero group), rounded to fp16;
     *   code = clamp(rint(w / scale), -qmax, qmax) with the fp16 scale.</li>
     *   <li>INT8_ASYM, INT4_ASYM: min = min(w, 0), max = max(w, 0) over the group ([-1, 1] if both are 0),
     *   scale = (max - min) / qmax rounded to fp16, zero = clamp(rint(-min / scale), 0, qmax),
     *   code = clamp(rint(w / scale) + zero, 0, qmax).</li>
     *   <li>Q8_0 (llama.cpp's reference): d = absmax / 127, code = roundf(w * (1 / d)) (half away from zero,
     *   float arithmetic), stored d = fp16(d).</li>
     *   <li>Q4_0 (llama.cpp's reference): m = the value of largest magnitude (the first on ties),
     *   d = m / -8, nibble = min(15, (int) (w * (1 / d) + 8.5)) in float arithmetic, stored d = fp16(d).</li>
     * </ul>
     * A scale that rounds to fp16 zero (a group of magnitude below about 1e-5) becomes the smallest fp16
     * subnormal, 2^-24, so the group's codes round to (near) zero.
     *
     * @throws IllegalArgumentException for a NaN or infinite weight (named by position), a group too large for
     *                                  an fp16 scale, or a shape/group that does not fit
     */
    public static PackedWeights quantize(float[] w, int out, int in, PackedFormat format, int group) {
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(format, "format");
        if (out < 1) throw new IllegalArgumentException("out = " + out + ": need at least one row");
        format.checkGroup(group, in);
        if (w.length != (long) out * in) {
            throw new IllegalArgumentException("w: length " + w.length + " but W [" + out + ", " + in + "] has "
                    + (long) out * in + " elements");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw new IllegalArgumentException("w[" + i / in + ", " + i % in + "] = " + w[i]
                        + " is not finite: cannot quantize NaN or infinite weights");
            }
        }
        int groups = in / group;
        int[] codes = new int[w.length];
        float[] scales = new float[out * groups];
        int[] zeros = format.symmetric() ? null : new int[out * groups];
        for (int o = 0; o < out; o++) {
            for (int g = 0; g < groups; g++) {
                int from = o * in + g * group, sg = o * groups + g;
                switch (format) {
                    case Q8_0 -> scales[sg] = roundQ8_0(w, from, codes);
                    case Q4_0 -> scales[sg] = roundQ4_0(w, from, codes);
                    default -> scales[sg] = roundGroup(format, w, from, group, codes, zeros, sg, o, g);
                }
            }
        }
        return new PackedWeights(new QuantizedCodes(format, out, in, group, codes, scales, zeros));
    }

    /** INT8/INT4 (asymmetric too) on w[from, from + n): writes codes and zeros[sg]; returns the fp16 scale. */
    private static float roundGroup(PackedFormat f, float[] w, int from, int n, int[] codes, int[] zeros, int sg,
                                    int o, int g) {
        float min = 0, max = 0;
        for (int k = from; k < from + n; k++) {
            min = Math.min(min, w[k]);
            max = Math.max(max, w[k]);
        }
        float scale;
        if (f.symmetric()) {
            float absmax = Math.max(-min, max);
            scale = absmax == 0 ? 1f : absmax / f.qmax();
        } else {
            if (min == 0 && max == 0) {
                min = -1;
                max = 1;
            }
            scale = (max - min) / f.qmax();
        }
        float s = fp16Scale(scale, o, g);
        int zero = 0;
        if (!f.symmetric()) {
            zero = (int) Math.min(Math.max(Math.rint(-min / (double) s), 0), f.qmax());
            zeros[sg] = zero;
        }
        for (int k = from; k < from + n; k++) {
            double c = Math.rint(w[k] / (double) s) + zero;
            codes[k] = (int) Math.min(Math.max(c, f.qmin()), f.qmax());
        }
        return s;
    }

    /** llama.cpp's quantize_row_q8_0 reference on one block of 32; returns fp16(d). */
    private static float roundQ8_0(float[] w, int from, int[] codes) {
        float amax = 0;
        for (int k = from; k < from + 32; k++) amax = Math.max(amax, Math.abs(w[k]));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        for (int k = from; k < from + 32; k++) {
            float v = w[k] * id;
            codes[k] = (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);   // C roundf
        }
        return checkedFp16(d, from);
    }

    /** llama.cpp's quantize_row_q4_0 reference on one block of 32; returns fp16(d). */
    private static float roundQ4_0(float[] w, int from, int[] codes) {
        float amax = 0, m = 0;
        for (int k = from; k < from + 32; k++) {
            if (amax < Math.abs(w[k])) {
                amax = Math.abs(w[k]);
                m = w[k];
            }
        }
        float d = m / -8f;
        float id = d != 0 ? 1f / d : 0f;
        for (int k = from; k < from + 32; k++) {
            int nib = Math.min(15, (int) (w[k] * id + 8.5f));    // C: (int8_t) truncates toward zero
            codes[k] = nib - 8;
        }
        return checkedFp16(d, from);
    }

    private static float checkedFp16(float d, int from) {
        float s = Fp16.round(d);
        if (Float.isInfinite(s)) {
            throw new IllegalArgumentException("block at flat index " + from + ": scale " + d
                    + " overflows fp16 (weights too large, |w| > " + Fp16.MAX + " * 127)");
        }
        return s;
    }

    private static float fp16Scale(float scale, int o, int g) {
        float s = Fp16.round(scale);
        if (Float.isInfinite(s)) {
            throw new IllegalArgumentException("group [" + o + ", " + g + "]: scale " + scale
                    + " overflows fp16 (accepted: |scale| <= " + Fp16.MAX + ")");
        }
        return s == 0 ? Fp16.decode(1) : s;      // 2^-24, the smallest subnormal
    }

    /**
     * Codes from the file layout ({@link #qweightBytes()}, given as the byte values a safetensors reader
     * returns: -128..127 for I8, 0..255 for U8), validated by {@link QuantizedCodes}.
     */
    static QuantizedCodes codesFromStorage(PackedFormat format, int out, int in, int group, float[] qweight,
                                           float[] scales, float[] zeros) {
        int rb = format.bits() == 8 ? in : in / 2;
        int[] codes = new int[out * in];
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < rb; j++) {
                int v = (int) qweight[o * rb + j];
                switch (format) {
                    case INT8, INT8_ASYM, Q8_0 -> codes[o * in + j] = v;
                    case INT4, INT4_ASYM -> {
                        int shift = format == PackedFormat.INT4 ? 8 : 0;
                        codes[o * in + 2 * j] = (v & 15) - shift;
                        codes[o * in + 2 * j + 1] = (v >>> 4 & 15) - shift;
                    }
                    case Q4_0 -> {
                        int b = j / 16, i = j % 16;
                        codes[o * in + 32 * b + i] = (v & 15) - 8;
                        codes[o * in + 32 * b + 16 + i] = (v >>> 4 & 15) - 8;
                    }
                }
            }
        }
        int[] z = null;
        if (zeros != null) {
            z = new int[zeros.length];
            for (int i = 0; i < z.length; i++) z[i] = (int) zeros[i];
        }
        return new QuantizedCodes(format, out, in, group, codes, scales, z);
    }

    // ---------------------------------------------------------------- accessors

    public PackedFormat format() { return format; }

    /** Rows of W (output features). */
    public int out() { return out; }

    /** Columns of W (input features). */
    public int in() { return in; }

    /** Columns per scale. */
    public int group() { return group; }

    /** Groups per row, {@code in / group}. */
    public int groups() { return groups; }

    /** Bytes of codes per row: {@code in} for 8-bit formats, {@code in / 2} for 4-bit ones. */
    public int rowBytes() { return format.bits() == 8 ? in : in / 2; }

    /** The code of W[o, k] (signed for symmetric formats, unsigned for asymmetric ones). */
    public int code(int o, int k) {
        int base = o * rowBytes();
        return switch (format) {
            case INT8, Q8_0 -> q[base + k];
            case INT8_ASYM -> q[base + k] + 128;
            case INT4 -> nibbleGeneric(base, k) - 8;
            case INT4_ASYM -> nibbleGeneric(base, k);
            case Q4_0 -> {
                int b = k / 32, j = k % 32;
                int v = q[base + 16 * b + (j & 15)] & 0xFF;
                yield (j < 16 ? v & 15 : v >>> 4) - 8;
            }
        };
    }

    private int nibbleGeneric(int base, int k) {
        int v = q[base + k / 2] & 0xFF;
        return (k & 1) == 0 ? v & 15 : v >>> 4;
    }

    /** The scale of group {@code g} of row {@code o} (an fp16 value). */
    public float scale(int o, int g) { return scales[o * groups + g]; }

    /** The zero-point of group {@code g} of row {@code o} (0 for symmetric formats). */
    public int zero(int o, int g) { return zeros == null ? 0 : zeros[o * groups + g] & 0xFF; }

    /** W[o, k] = scale * (code - zero), exactly (in double). */
    public double weight(int o, int k) {
        return (double) scale(o, k / group) * (code(o, k) - zero(o, k / group));
    }

    /** The dequantized weight W [out, in], row-major, exactly (every value is also exact in float). */
    public double[] dequantize() {
        double[] w = new double[out * in];
        for (int o = 0; o < out; o++) for (int k = 0; k < in; k++) w[o * in + k] = weight(o, k);
        return w;
    }

    /** The codes, scales and zeros as a {@link QuantizedCodes} (packing it again gives equal weights). */
    public QuantizedCodes codes() {
        int[] c = new int[out * in];
        for (int o = 0; o < out; o++) for (int k = 0; k < in; k++) c[o * in + k] = code(o, k);
        int[] z = null;
        if (zeros != null) {
            z = new int[zeros.length];
            for (int i = 0; i < z.length; i++) z[i] = zeros[i] & 0xFF;
        }
        return new QuantizedCodes(format, out, in, group, c, scales.clone(), z);
    }

    /** A copy of the codes in the file layout (see the class comment): [out, rowBytes]. */
    public byte[] qweightBytes() {
        byte[] b = q.clone();
        if (format == PackedFormat.INT8_ASYM) for (int i = 0; i < b.length; i++) b[i] ^= (byte) 0x80;
        return b;
    }

    /** A copy of the scales, [out, groups]. */
    public float[] scales() { return scales.clone(); }

    /** A copy of the zero-points as unsigned values, [out, groups]; null for symmetric formats. */
    public int[] zeros() {
        if (zeros == null) return null;
        int[] z = new int[zeros.length];
        for (int i = 0; i < z.length; i++) z[i] = zeros[i] & 0xFF;
        return z;
    }

    // ---------------------------------------------------------------- sizes

    /** Bytes of the packed weight as stored: codes + fp16 scales + uint8 zero-points (no header, no bias). */
    public long storageBytes() {
        return (long) q.length + 2L * scales.length + (zeros == null ? 0 : zeros.length);
    }

    /** Storage bits per weight, {@code 8 * storageBytes / (out * in)}: e.g. 4.5 for Q4_0, 8.125 for INT8 g128. */
    public double bitsPerWeight() {
        return 8.0 * storageBytes() / ((double) out * in);
    }

    /** Bytes of the codes alone (what a matrix-vector product streams, besides the scales). */
    public long codeBytes() { return q.length; }

    /**
     * Bytes a matrix-vector product reads from memory: the codes, the float scales and (formats with a zero)
     * the float per-group offsets; the uint8 zero-points themselves are not read.
     */
    public long kernelBytes() {
        return (long) q.length + 4L * scales.length + (offsets == null ? 0 : 4L * offsets.length);
    }

    /** An equal weight with its own copies of the arrays (benchmarks that need data beyond the caches). */
    PackedWeights copy() {
        return new PackedWeights(this);
    }

    private PackedWeights(PackedWeights p) {
        this.format = p.format;
        this.out = p.out;
        this.in = p.in;
        this.group = p.group;
        this.groups = p.groups;
        this.q = p.q.clone();
        this.scales = p.scales.clone();
        this.zeros = p.zeros == null ? null : p.zeros.clone();
        this.offsets = p.offsets == null ? null : p.offsets.clone();
    }

    /** Heap bytes held in memory: codes, float scales, zero-points and the per-group float offsets. */
    public long memoryBytes() {
        return (long) q.length + 4L * scales.length + (zeros == null ? 0 : zeros.length)
                + (offsets == null ? 0 : 4L * offsets.length);
    }

    /** Bytes the same weight takes in float32, {@code 4 * out * in}. */
    public long float32Bytes() { return 4L * out * in; }

    // ---------------------------------------------------------------- llama.cpp block bytes

    /**
     * Q8_0 / Q4_0 weights as llama.cpp's blocks: row after row, {@code in / 32} blocks per row, each the fp16
     * scale d (little-endian) followed by the 32 int8 codes (Q8_0, 34 bytes) or the 16 nibble bytes (Q4_0,
     * 18 bytes, the order of {@link #qweightBytes()}).
     */
    public byte[] toGgmlBlocks() {
        int qs = blockQuantBytes();
        int blocks = out * groups, size = 2 + qs;
        byte[] b = new byte[blocks * size];
        for (int i = 0; i < blocks; i++) {
            int d = Fp16.encode(scales[i]);
            b[i * size] = (byte) d;
            b[i * size + 1] = (byte) (d >>> 8);
            System.arraycopy(q, i * qs, b, i * size + 2, qs);
        }
        return b;
    }

    /** The inverse of {@link #toGgmlBlocks()}: W [out, in] in {@code format} (Q8_0 or Q4_0) from block bytes. */
    public static PackedWeights fromGgmlBlocks(PackedFormat format, int out, int in, byte[] blocks) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(blocks, "blocks");
        if (!format.isBlockFormat()) {
            throw new IllegalArgumentException("format " + format.id() + " has no llama.cpp blocks (accepted: q8_0, q4_0)");
        }
        if (out < 1) throw new IllegalArgumentException("out = " + out + ": need at least one row");
        format.checkGroup(32, in);
        if ((long) out * in > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("[" + out + ", " + in + "]: " + (long) out * in + " codes, more than a Java array"
                    + " holds");
        }
        int qs = format.bits() == 8 ? 32 : 16, size = 2 + qs, n = out * (in / 32);   // no overflow: out * in fits an int
        if (blocks.length != (long) n * size) {
            throw new IllegalArgumentException("blocks: " + blocks.length + " bytes but [" + out + ", " + in + "] in "
                    + format.id() + " is " + n + " blocks of " + size + " bytes = " + (long) n * size);
        }
        int[] codes = new int[out * in];
        float[] scales = new float[n];
        for (int i = 0; i < n; i++) {
            int p = i * size;
            scales[i] = Fp16.decode((blocks[p] & 0xFF) | (blocks[p + 1] & 0xFF) << 8);
            int k0 = i * 32;
            for (int j = 0; j < qs; j++) {
                byte v = blocks[p + 2 + j];
                if (format.bits() == 8) {
                    codes[k0 + j] = v;
                } else {
                    codes[k0 + j] = (v & 15) - 8;
                    codes[k0 + 16 + j] = ((v & 0xFF) >>> 4) - 8;
                }
            }
        }
        return pack(new QuantizedCodes(format, out, in, 32, codes, scales, null));
    }

    private int blockQuantBytes() {
        if (!format.isBlockFormat()) {
            throw new IllegalStateException("format " + format.id() + " has no llama.cpp blocks (only q8_0, q4_0)");
        }
        return format.bits() == 8 ? 32 : 16;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PackedWeights p && format == p.format && out == p.out && in == p.in && group == p.group
                && Arrays.equals(q, p.q) && Arrays.equals(scales, p.scales) && Arrays.equals(zeros, p.zeros);
    }

    @Override
    public int hashCode() {
        return Objects.hash(format, out, in, group, Arrays.hashCode(q), Arrays.hashCode(scales));
    }

    @Override
    public String toString() {
        return "PackedWeights[" + format.id() + " [" + out + ", " + in + "] group " + group + ", "
                + String.format("%.3f", bitsPerWeight()) + " bits/weight]";
    }
}
