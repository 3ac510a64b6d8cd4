package org.distillery.io;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;
import org.distillery.formats.FloatFormat;

/**
 * The element types of the safetensors format, by their names in the header ({@code "F32"}, {@code "BF16"}
 * ...), with their sizes in bytes. Every type here can be read into {@code float}: floating types exactly
 * (F64 rounded to nearest), integer types by value conversion (exact up to 2^24 in magnitude), BOOL as 0/1.
 * {@link #F32}, {@link #F16} and {@link #BF16} can also be written, and so can {@link #I8} and {@link #U8}
 * (packed quantized weights, see {@code org.distillery.quant.packed}): their float values must then be
 * integers in the type's range ([-128, 127], [0, 255]); anything else is rejected, never rounded.
 *
 * <p>Sub-byte types of newer safetensors versions (F4, F6 ...) and complex types are not supported; a file
 * that uses them is rejected with the list of accepted names ({@link #acceptedNames()}).
 */
public enum Dtype {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
    I64(8), U64(8), F64(8);

    private final int bytes;

    Dtype(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes: 1, 2, 4 or 8. */
    public int bytes() {
        return bytes;
    }

    /**
     * Whether {@link Safetensors#write} can store float32 data in this type: F32, F16, BF16 (rounded to
     * nearest even), I8 and U8 (integer values in range only, stored exactly).
     */
    public boolean writable() {
        return this == F32 || this == F16 || this == BF16 || this == I8 || this == U8;
    }

    /** The writable type names, for error messages. */
    static final String WRITABLE_NAMES = "F32, F16, BF16, I8, U8";

    /** The type named {@code name} in a safetensors header (case-sensitive, e.g. {@code "F32"}), if any. */
    public static Optional<Dtype> byName(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** The accepted header names, comma-separated, for error messages. */
    public static String acceptedNames() {
        return Arrays.stream(values()).map(Dtype::name).collect(Collectors.joining(", "));
    }

    // ---------------------------------------------------------------- element conversion

    private static final float[] F16_TABLE = new float[1 << 16];
    private static final float[] E4M3_TABLE = new float[1 << 8];
    private static final float[] E5M2_TABLE = new float[1 << 8];

    static {
        for (int c = 0; c < F16_TABLE.length; c++) {
            F16_TABLE[c] = FloatFormat.FP16.decode(c);
        }
        for (int c = 0; c < 256; c++) {
            E4M3_TABLE[c] = FloatFormat.FP8_E4M3.decode(c);
            E5M2_TABLE[c] = FloatFormat.FP8_E5M2.decode(c);
        }
    }

    /** The float32 value of an IEEE binary16 code (low 16 bits of {@code code}); exact. */
    public static float halfToFloat(int code) {
        return F16_TABLE[code & 0xFFFF];
    }

    /** The float32 value of a bfloat16 code (low 16 bits of {@code code}): the bits shifted left by 16; exact. */
    public static float bf16ToFloat(int code) {
        return Float.intBitsToFloat((code & 0xFFFF) << 16);
    }

    /** {@code x} as an IEEE binary16 code, round to nearest even, overflow to infinity (as in IEEE 754). */
    public static int floatToHalf(float x) {
        return FloatFormat.FP16.encode(x);
    }

    /** {@code x} as a bfloat16 code, round to nearest even, overflow to infinity, NaN kept NaN. */
    public static int floatToBf16(float x) {
        return FloatFormat.BF16.encode(x);
    }

    /**
     * Decodes {@code count} little-endian elements of this type from {@code buf} (from its position, which
     * advances) into {@code out[offset ..]}.
     */
    void decode(java.nio.ByteBuffer buf, float[] out, int offset, int count) {
        int end = offset + count;
        switch (this) {
            case BOOL -> { for (int i = offset; i < end; i++) out[i] = buf.get() != 0 ? 1f : 0f; }
            case U8 -> { for (int i = offset; i < end; i++) out[i] = buf.get() & 0xFF; }
            case I8 -> { for (int i = offset; i < end; i++) out[i] = buf.get(); }
            case F8_E5M2 -> { for (int i = offset; i < end; i++) out[i] = E5M2_TABLE[buf.get() & 0xFF]; }
            case F8_E4M3 -> { for (int i = offset; i < end; i++) out[i] = E4M3_TABLE[buf.get() & 0xFF]; }
            case I16 -> { for (int i = offset; i < end; i++) out[i] = buf.getShort(); }
            case U16 -> { for (int i = offset; i < end; i++) out[i] = buf.getShort() & 0xFFFF; }
            case F16 -> { for (int i = offset; i < end; i++) out[i] = F16_TABLE[buf.getShort() & 0xFFFF]; }
            case BF16 -> { for (int i = offset; i < end; i++) out[i] = bf16ToFloat(buf.getShort()); }
            case I32 -> { for (int i = offset; i < end; i++) out[i] = buf.getInt(); }
            case U32 -> { for (int i = offset; i < end; i++) out[i] = buf.getInt() & 0xFFFF_FFFFL; }
            case F32 -> { for (int i = offset; i < end; i++) out[i] = buf.getFloat(); }
            case I64 -> { for (int i = offset; i < end; i++) out[i] = buf.getLong(); }
            case U64 -> { for (int i = offset; i < end; i++) out[i] = unsignedToFloat(buf.getLong()); }
            case F64 -> { for (int i = offset; i < end; i++) out[i] = (float) buf.getDouble(); }
            default -> throw new AssertionError(this);
        }
    }

    /** Encodes {@code count} floats from {@code in[offset ..]} into {@code buf} (little-endian) as this type. */
    void encode(float[] in, int offset, int count, java.nio.ByteBuffer buf) {
        int end = offset + count;
        switch (this) {
            case F32 -> { for (int i = offset; i < end; i++) buf.putFloat(in[i]); }
            case F16 -> { for (int i = offset; i < end; i++) buf.putShort((short) floatToHalf(in[i])); }
            case BF16 -> { for (int i = offset; i < end; i++) buf.putShort((short) floatToBf16(in[i])); }
            case I8 -> { for (int i = offset; i < end; i++) buf.put((byte) integerIn(in, i, -128, 127)); }
            case U8 -> { for (int i = offset; i < end; i++) buf.put((byte) integerIn(in, i, 0, 255)); }
            default -> throw new IllegalArgumentException("dtype " + this + " cannot be written (accepted: "
                    + WRITABLE_NAMES + ")");
        }
    }

    /**
     * Checks that every value of {@code data} can be stored in this (writable) type: always true for the
     * floating types; for I8 and U8 every value must be an integer in range.
     *
     * @throws IllegalArgumentException naming the first element that cannot be stored
     */
    void checkStorable(float[] data) {
        switch (this) {
            case I8 -> { for (int i = 0; i < data.length; i++) integerIn(data, i, -128, 127); }
            case U8 -> { for (int i = 0; i < data.length; i++) integerIn(data, i, 0, 255); }
            default -> { }
        }
    }

    /** {@code in[i]} as an int, which it must be exactly, within {@code [lo, hi]}. */
    private int integerIn(float[] in, int i, int lo, int hi) {
        float v = in[i];
        if (!(v >= lo && v <= hi) || v != Math.rint(v)) {
            throw new IllegalArgumentException("element " + i + " = " + v + " cannot be stored as " + this
                    + " (accepted: integers " + lo + " to " + hi + ")");
        }
        return (int) v;
    }

    private static float unsignedToFloat(long v) {
        // halve with a sticky low bit so the single rounding to float is still round-to-nearest-even
        return v >= 0 ? (float) v : (float) ((v >>> 1) | (v & 1)) * 2f;
    }
}
