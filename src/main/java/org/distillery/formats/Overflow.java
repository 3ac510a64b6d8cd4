package org.distillery.formats;

/**
 * What {@link FloatFormat#encode(float, Overflow)} does with a value whose magnitude, after
 * round-to-nearest-even, lies beyond the format's largest finite value.
 *
 * <p>"After rounding" matters: a value between max finite and the midpoint to the next (unrepresentable)
 * step simply rounds down to max finite and is not an overflow. For IEEE formats (FP16, BF16, FP8 E5M2,
 * FP32) the overflow threshold is therefore {@code |x| >= max + ulp(max)/2} (the tie goes to the even
 * neighbour, which is the step above max because max has an all-ones mantissa). For FP8 E4M3 (max 448,
 * mantissa {@code 110}) the tie at 464 goes to the even mantissa 448, so only {@code |x| > 464} overflows.
 */
public enum Overflow {
    /**
     * Clamp to the largest finite value of the right sign. Infinite inputs become {@code ±max} as well
     * ("saturate to finite", like CUDA's {@code __NV_SATFINITE}); NaN stays NaN. This is the default for
     * formats without infinities (FP8 E4M3), and what the quantization code uses.
     */
    SATURATE,
    /**
     * IEEE 754 behaviour: overflow gives {@code ±infinity} in a format that has infinities; in a format
     * without infinities (FP8 E4M3, OCP "non-saturating" mode) it gives NaN. Infinite inputs map the same
     * way. This is the default for IEEE formats (FP32, FP16, BF16, FP8 E5M2).
     */
    NON_SATURATING
}
