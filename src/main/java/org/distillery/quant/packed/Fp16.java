package org.distillery.quant.packed;

import org.distillery.io.Dtype;

/** IEEE binary16 rounding of the scales (round to nearest even, as llama.cpp's and PyTorch's fp16 casts). */
final class Fp16 {
    private Fp16() {}

    /** The largest finite fp16 value. */
    static final float MAX = 65504f;

    /** The fp16 code of {@code x} (low 16 bits). */
    static int encode(float x) { return Dtype.floatToHalf(x); }

    /** The float value of an fp16 code. */
    static float decode(int code) { return Dtype.halfToFloat(code); }

    /** {@code x} rounded to the nearest fp16 value (an infinity when |x| rounds above {@link #MAX}). */
    static float round(float x) { return decode(encode(x)); }
}
