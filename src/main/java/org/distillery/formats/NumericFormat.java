package org.distillery.formats;

/**
 * A number format that tensors can be rounded to: a {@link FloatFormat} (FP32, FP16, BF16, FP8, ...)
 * or an {@link IntFormat} (INTn with a per-tensor scale). Quantization code and
 * {@link RoundingError} treat both through this interface.
 */
public sealed interface NumericFormat permits FloatFormat, IntFormat {
    /** A short display name, e.g. {@code FP16} or {@code INT4}. */
    String name();

    /** Storage bits per element (not counting any per-tensor scale or zero point). */
    int bits();

    /**
     * Rounds every element of {@code in} to this format and writes the value it represents (as a float)
     * to {@code out}. {@code in} and {@code out} may be the same array; they must have the same length.
     * An integer format derives its per-tensor scale from {@code in} (see {@link IntFormat#params}).
     */
    void round(float[] in, float[] out);
}
