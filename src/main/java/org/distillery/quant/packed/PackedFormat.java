package org.distillery.quant.packed;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The packed storage formats of a linear layer's weight W [out, in]. Every format represents a weight as
 * <pre>
 *   w[o, k] = scale[o, k / g] * (code[o, k] - zero[o, k / g])
 * </pre>
 * with integer codes, one scale per group of {@code g} consecutive input columns of a row (rounded to fp16,
 * the stored type) and, for the asymmetric formats, one unsigned zero-point per group; the symmetric formats
 * have zero 0. The codes are stored as follows (byte layouts in {@link PackedWeights}):
 *
 * <table>
 *   <caption>formats</caption>
 *   <tr><th>format</th><th>code range</th><th>storage of a code</th><th>group</th><th>bits/weight</th></tr>
 *   <tr><td>{@link #INT8}</td><td>[-127, 127]</td><td>one int8</td><td>any g dividing in</td><td>8 + 16/g</td></tr>
 *   <tr><td>{@link #INT8_ASYM}</td><td>[0, 255], zero in [0, 255]</td><td>one uint8</td><td>any</td><td>8 + 24/g</td></tr>
 *   <tr><td>{@link #INT4}</td><td>[-7, 7]</td><td>nibble code + 8, two per byte</td><td>even g</td><td>4 + 16/g</td></tr>
 *   <tr><td>{@link #INT4_ASYM}</td><td>[0, 15], zero in [0, 15]</td><td>nibble, two per byte</td><td>even g</td><td>4 + 24/g</td></tr>
 *   <tr><td>{@link #Q8_0}</td><td>[-128, 127]</td><td>one int8</td><td>32</td><td>8.5</td></tr>
 *   <tr><td>{@link #Q4_0}</td><td>[-8, 7]</td><td>nibble code + 8, llama.cpp block order</td><td>32</td><td>4.5</td></tr>
 * </table>
 * INT8/INT4 follow {@link org.distillery.formats.IntFormat}'s conventions (symmetric: signed codes without
 * the most negative one, scale = absmax / qmax; asymmetric: GPTQ's min/max with the range widened to hold 0).
 * Q8_0 and Q4_0 have llama.cpp's value semantics (d * q, d * (nibble - 8)) and its reference rounding.
 */
public enum PackedFormat {
    INT8("int8", 8, true, 0, -127, 127),
    INT8_ASYM("int8-asym", 8, false, 0, 0, 255),
    INT4("int4", 4, true, 0, -7, 7),
    INT4_ASYM("int4-asym", 4, false, 0, 0, 15),
    Q8_0("q8_0", 8, true, 32, -128, 127),
    Q4_0("q4_0", 4, true, 32, -8, 7);

    private final String id;
    private final int bits;
    private final boolean symmetric;
    private final int fixedGroup;
    private final int qmin;
    private final int qmax;

    PackedFormat(String id, int bits, boolean symmetric, int fixedGroup, int qmin, int qmax) {
        this.id = id;
        this.bits = bits;
        this.symmetric = symmetric;
        this.fixedGroup = fixedGroup;
        this.qmin = qmin;
        this.qmax = qmax;
    }

    /** The name in files and on the command line, e.g. {@code int4-asym}, {@code q8_0}. */
    public String id() { return id; }

    /** Bits of one code: 8 or 4. */
    public int bits() { return bits; }

    /** Zero-point 0 (symmetric) or a stored zero-point per group (asymmetric). */
    public boolean symmetric() { return symmetric; }

    /** Whether the format is a llama.cpp-like block format (group fixed at 32). */
    public boolean isBlockFormat() { return fixedGroup != 0; }

    /** The block size of Q8_0/Q4_0 (32), or 0 when the group size is free. */
    public int fixedGroup() { return fixedGroup; }

    /** The smallest code. */
    public int qmin() { return qmin; }

    /** The largest code. */
    public int qmax() { return qmax; }

    /** The largest zero-point of an asymmetric format ({@code 2^bits - 1}); 0 for symmetric formats. */
    public int zeroMax() { return symmetric ? 0 : qmax; }

    /**
     * The storage bits per weight with group size {@code g}: {@code bits + 16 / g} (fp16 scale) plus
     * {@code 8 / g} for the asymmetric formats' uint8 zero-point; exact for every row length that g divides.
     */
    public double bitsPerWeight(int g) {
        return bits + 16.0 / g + (symmetric ? 0 : 8.0 / g);
    }

    /** The format named {@code id} in a file ({@link #id()}), if any. */
    public static Optional<PackedFormat> byId(String id) {
        return Arrays.stream(values()).filter(f -> f.id.equals(id)).findFirst();
    }

    /** The accepted names, comma-separated, for error messages. */
    public static String acceptedIds() {
        return Arrays.stream(values()).map(PackedFormat::id).collect(Collectors.joining(", "));
    }

    /**
     * Checks that group size {@code g} suits this format and a row of {@code in} columns; returns g.
     *
     * @throws IllegalArgumentException naming the group size, the row length and what is accepted
     */
    public int checkGroup(int g, int in) {
        if (in < 1) throw new IllegalArgumentException("in = " + in + ": a row needs at least one column");
        if (fixedGroup != 0 && g != fixedGroup) {
            throw new IllegalArgumentException("group = " + g + " for " + id + ": the block format fixes it at "
                    + fixedGroup);
        }
        if (g < 1 || in % g != 0) {
            throw new IllegalArgumentException("group = " + g + " does not divide the input width in = " + in
                    + " (accepted: a divisor of " + in + (fixedGroup != 0 ? ", which must be a multiple of "
                    + fixedGroup + " for " + id : "") + ")");
        }
        if (bits == 4 && g % 2 != 0) {
            throw new IllegalArgumentException("group = " + g + " for " + id
                    + ": two codes share a byte, so the group size must be even");
        }
        return g;
    }
}
