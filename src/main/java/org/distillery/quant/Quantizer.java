package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.FloatFormat;
import org.distillery.formats.IntFormat;
import org.distillery.io.Dtype;

/**
 * How a weight matrix W [rows = out, cols = in] is rounded: an integer grid ({@link IntFormat}'s
 * conventions) with one (scale, zero point) per tensor, per output row or per group of {@code g}
 * consecutive input columns of a row, optionally with an MSE-optimal clipping range; or, as a pass-through,
 * element-wise rounding to a {@link FloatFormat} (FP16, BF16, FP8 E4M3/E5M2) with no parameters.
 *
 * <p>Integer grid, for one block of values x (a tensor, a row, or a row's group), see
 * {@code shared/notes/methods.md}, "Quantizer basics":
 * <pre>
 *   asymmetric:  [min, max] = [min(x, 0), max(x, 0)],   scale = (max - min) / (2^b - 1),
 *                zero = round(-min / scale),             q in [0, 2^b - 1]
 *   symmetric:   scale = max|x| / (2^(b-1) - 1),         zero = 0,  q in [-(2^(b-1) - 1), 2^(b-1) - 1]
 *   q  = clamp(round(x / scale) + zero, qmin, qmax)      (round half to even, x / scale in double)
 *   x' = scale * (q - zero)
 * </pre>
 * (The symmetric grid is {@link IntFormat}'s signed one, which leaves the most negative code unused; GPTQ's
 * reference code instead shifts an unsigned grid by 2^(b-1), one more level. The asymmetric grid is GPTQ's.)
 *
 * <p><b>Clipping search</b> ({@code clipSearch}, GPTQ's {@code mse=True} option with its defaults
 * {@code grid = 100, maxshrink = 0.8}, but with the squared error, {@code norm = 2}): for each block the
 * range [p·min, p·max] is tried for the 80 shrink factors p = 1 - k/100, k = 0..79 (1.00, 0.99, ..., 0.21),
 * and the p with the least sum of squared rounding errors over the block wins (the first on ties, so p = 1,
 * plain min-max, unless a smaller range is strictly better). Since p = 1 is on the grid, the search is never
 * worse than min-max in MSE.
 *
 * @param bits         2 to 8 for the integer grid (ignored with a float format)
 * @param symmetric    signed symmetric codes (zero point 0) or unsigned codes with a zero point
 * @param granularity  one parameter set per tensor, per output row, or per group of input columns
 * @param groupSize    g, the group width along the input dimension for {@link Granularity#GROUP} (it must
 *                     divide the input width); 0 otherwise
 * @param clipSearch   MSE-optimal range by the shrink grid above, instead of plain min/max
 * @param floatFormat  null for the integer grid; a float format for element-wise rounding (pass-through)
 * @param fp16Scales   round every fitted scale to the nearest fp16 value (the stored type of the packed
 *                     formats, {@code quant.packed}), so that {@code scale * (q - zero)} is exactly what a
 *                     packed file holds: the scale of the fitted range is rounded to fp16 (2^-24, the smallest
 *                     fp16 subnormal, if it rounds to 0), and the asymmetric zero point is recomputed with the
 *                     rounded scale, {@code zero = clamp(round(-min / scale), 0, qmax)}; the clipping search
 *                     compares the candidates with their rounded scales. Integer grids only.
 */
public record Quantizer(int bits, boolean symmetric, Granularity granularity, int groupSize, boolean clipSearch,
                        FloatFormat floatFormat, boolean fp16Scales) {

    /** Where one (scale, zero point) pair applies. */
    public enum Granularity {
        /** One pair for the whole tensor. */
        PER_TENSOR,
        /** One pair per output row (per output channel). */
        PER_CHANNEL,
        /** One pair per group of {@code groupSize} consecutive input columns of each row. */
        GROUP
    }

    /** Number of shrink factors of the clipping search: p = 1 - k / CLIP_GRID for k = 0..CLIP_STEPS-1. */
    public static final int CLIP_GRID = 100, CLIP_STEPS = 80;

    /** The spec with float32 scales (no fp16 rounding). */
    public Quantizer(int bits, boolean symmetric, Granularity granularity, int groupSize, boolean clipSearch,
                     FloatFormat floatFormat) {
        this(bits, symmetric, granularity, groupSize, clipSearch, floatFormat, false);
    }

    public Quantizer {
        if (granularity == null) throw new IllegalArgumentException("granularity: must not be null");
        if (fp16Scales && floatFormat != null) {
            throw new IllegalArgumentException("fp16Scales: a float format (" + floatFormat.name() + ") has no scales");
        }
        if (floatFormat == null) {
            if (bits < 2 || bits > 8) {
                throw new IllegalArgumentException("bits = " + bits + " is out of range: accepted 2 to 8 for integer"
                        + " quantization (use a FloatFormat for 16-bit FP16/BF16 or FP8)");
            }
        } else {
            bits = floatFormat.bits();
        }
        if (granularity == Granularity.GROUP) {
            if (groupSize < 1) {
                throw new IllegalArgumentException("groupSize = " + groupSize + " must be >= 1 for group-wise quantization");
            }
        } else if (groupSize != 0) {
            throw new IllegalArgumentException("groupSize = " + groupSize + " is only accepted with Granularity.GROUP"
                    + " (granularity is " + granularity + "); use 0");
        }
    }

    /** Asymmetric min-max (GPTQ's default grid) with one pair per output row. */
    public static Quantizer perChannel(int bits, boolean symmetric) {
        return new Quantizer(bits, symmetric, Granularity.PER_CHANNEL, 0, false, null);
    }

    /** One pair for the whole tensor. */
    public static Quantizer perTensor(int bits, boolean symmetric) {
        return new Quantizer(bits, symmetric, Granularity.PER_TENSOR, 0, false, null);
    }

    /** One pair per group of {@code groupSize} input columns of each row. */
    public static Quantizer grouped(int bits, boolean symmetric, int groupSize) {
        return new Quantizer(bits, symmetric, Granularity.GROUP, groupSize, false, null);
    }

    /** Element-wise rounding to a float format (FP16, BF16, FP8 E4M3/E5M2): no scales, no groups. */
    public static Quantizer floating(FloatFormat format) {
        if (format == null) throw new IllegalArgumentException("format: must not be null");
        return new Quantizer(format.bits(), false, Granularity.PER_TENSOR, 0, false, format);
    }

    /** The same with the clipping search switched on or off. */
    public Quantizer withClipSearch(boolean on) {
        if (on && floatFormat != null) {
            throw new IllegalArgumentException("clipSearch: not available with a float format (" + floatFormat.name() + ")");
        }
        return new Quantizer(bits, symmetric, granularity, groupSize, on, floatFormat, fp16Scales);
    }

    /** The same with the scales rounded to fp16 (exactly packable, see {@code fp16Scales}) or not. */
    public Quantizer withFp16Scales(boolean on) {
        if (on && floatFormat != null) {
            throw new IllegalArgumentException("fp16Scales: not available with a float format (" + floatFormat.name() + ")");
        }
        return new Quantizer(bits, symmetric, granularity, groupSize, clipSearch, floatFormat, on);
    }

    /** Whether this is the float-format pass-through. */
    public boolean isFloat() {
        return floatFormat != null;
    }

    /** The integer grid (codes, rounding); null for a float format. */
    public IntFormat intFormat() {
        return floatFormat == null ? new IntFormat(bits, symmetric) : null;
    }

    /** A short name, e.g. {@code INT4-asym g128 clip}, {@code INT8 per-channel}, {@code FP16}. */
    public String name() {
        if (floatFormat != null) return floatFormat.name();
        String g = switch (granularity) {
            case PER_TENSOR -> "per-tensor";
            case PER_CHANNEL -> "per-channel";
            case GROUP -> "g" + groupSize;
        };
        return intFormat().name() + " " + g + (clipSearch ? " clip" : "") + (fp16Scales ? " fp16-scales" : "");
    }

    /**
     * The group width for a matrix with {@code cols} input columns: g for {@link Granularity#GROUP} (which
     * must divide {@code cols}), {@code cols} otherwise.
     */
    public int groupWidth(int cols) {
        if (granularity != Granularity.GROUP) return cols;
        if (cols % groupSize != 0) {
            throw new IllegalArgumentException("groupSize = " + groupSize + " does not divide the input width " + cols
                    + "; use a divisor of " + cols + " (e.g. " + largestDivisorAtMost(cols, groupSize) + ")");
        }
        return groupSize;
    }

    private static int largestDivisorAtMost(int n, int limit) {
        for (int d = Math.min(n, limit); d > 1; d--) if (n % d == 0) return d;
        return 1;
    }

    // ------------------------------------------------------------------------------------------------
    // quantizing a whole matrix

    /** Quantizes a weight matrix {@code w} [out, in] (rank 2). */
    public QuantizedTensor quantize(FloatTensor w) {
        if (w == null) throw new IllegalArgumentException("w: must not be null");
        if (w.rank() != 2) {
            throw new IllegalArgumentException("w: shape " + w.shapeString() + " is not a matrix [out, in]");
        }
        return quantize(w.toFloatArray(), w.dim(0), w.dim(1));
    }

    /**
     * Quantizes a row-major matrix {@code w} [rows, cols] with this spec's parameters fitted on it.
     *
     * @throws IllegalArgumentException on NaN/Inf values, a group size not dividing {@code cols}
     */
    public QuantizedTensor quantize(float[] w, int rows, int cols) {
        checkMatrix(w, rows, cols);
        if (floatFormat != null) {
            int[] codes = new int[w.length];
            for (int i = 0; i < w.length; i++) codes[i] = floatFormat.encode(w[i]);
            return QuantizedTensor.ofFloat(this, rows, cols, codes);
        }
        int g = groupWidth(cols);
        int groups = cols / g;
        float[] scales = new float[rows * groups];                       // [rows, groups]
        int[] zeros = new int[rows * groups];                            // [rows, groups]
        int[] codes = new int[rows * cols];                              // [rows, cols]
        IntFormat fmt = intFormat();
        if (granularity == Granularity.PER_TENSOR) {
            IntFormat.Params p = fitBlock(w, 0, cols, 1, rows, cols);
            java.util.Arrays.fill(scales, p.scale());
            java.util.Arrays.fill(zeros, p.zeroPoint());
        } else {
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < groups; k++) {
                    IntFormat.Params p = fitBlock(w, r * cols + k * g, 0, 1, 1, g);
                    scales[r * groups + k] = p.scale();
                    zeros[r * groups + k] = p.zeroPoint();
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = r * groups + c / g;
                codes[r * cols + c] = fmt.quantize(w[r * cols + c], scales[k], zeros[k]);
            }
        }
        return QuantizedTensor.ofInt(this, rows, cols, g, null, codes, scales, zeros);
    }

    /** Round trip: {@code quantize(w).dequantize()}, the simulated-quantization weights. */
    public float[] roundTrip(float[] w, int rows, int cols) {
        return quantize(w, rows, cols).dequantize();
    }

    static void checkMatrix(float[] w, int rows, int cols) {
        if (w == null) throw new IllegalArgumentException("w: must not be null");
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("shape [" + rows + ", " + cols + "]: dimensions must be >= 1");
        if ((long) rows * cols != w.length) {
            throw new IllegalArgumentException("w: length " + w.length + " but shape [" + rows + ", " + cols + "] has "
                    + (long) rows * cols + " elements");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw new IllegalArgumentException("w[" + i / cols + ", " + i % cols + "] = " + w[i]
                        + " is not finite: cannot quantize NaN/Inf weights");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // parameters of one block (the building block of RTN and GPTQ)

    /**
     * Fits (scale, zero point) to a strided block of values: element (i, j), i &lt; {@code n}, j &lt;
     * {@code m}, is {@code x[off + i * strideI + j * strideJ]}. Plain min/max, or the clipping search.
     * Integer grids only.
     */
    public IntFormat.Params fitBlock(float[] x, int off, int strideI, int strideJ, int n, int m) {
        IntFormat fmt = intFormat();
        if (fmt == null) throw new IllegalStateException("fitBlock: a float format (" + floatFormat.name() + ") has no parameters");
        float min = 0, max = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float v = x[off + i * strideI + j * strideJ];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("value " + v + " is not finite: cannot quantize NaN/Inf weights");
                }
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        IntFormat.Params best = params(fmt, min, max);
        if (!clipSearch) return best;
        double bestErr = blockError(fmt, best, x, off, strideI, strideJ, n, m);
        for (int k = 1; k < CLIP_STEPS; k++) {
            float p = 1f - (float) k / CLIP_GRID;
            IntFormat.Params cand = params(fmt, p * min, p * max);
            double err = blockError(fmt, cand, x, off, strideI, strideJ, n, m);
            if (err < bestErr) {
                bestErr = err;
                best = cand;
            }
        }
        return best;
    }

    /** {@code fmt.params(min, max)}, with the scale rounded to fp16 and the zero point refitted when {@code fp16Scales}. */
    private IntFormat.Params params(IntFormat fmt, float min, float max) {
        IntFormat.Params p = fmt.params(min, max);
        if (!fp16Scales) return p;
        float s = Dtype.halfToFloat(Dtype.floatToHalf(p.scale()));
        if (Float.isInfinite(s)) {
            throw new IllegalArgumentException("scale " + p.scale() + " overflows fp16 (accepted: |scale| <= 65504):"
                    + " the weights are too large for fp16 scales");
        }
        if (s == 0) s = Dtype.halfToFloat(1);                           // 2^-24, the smallest fp16 subnormal
        if (symmetric) return new IntFormat.Params(s, 0);
        float lo = Math.min(min, 0), hi = Math.max(max, 0);
        if (lo == 0 && hi == 0) lo = -1;                                 // IntFormat's empty range [-1, 1]
        int zero = (int) Math.rint(-lo / s);
        return new IntFormat.Params(s, Math.min(Math.max(zero, 0), fmt.qmax()));
    }

    /** Sum of squared rounding errors of a strided block with the given parameters. */
    static double blockError(IntFormat fmt, IntFormat.Params p, float[] x, int off, int strideI, int strideJ, int n, int m) {
        float s = p.scale();
        int z = p.zeroPoint();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                float v = x[off + i * strideI + j * strideJ];
                double d = fmt.dequantize(fmt.quantize(v, s, z), s, z) - (double) v;
                sum += d * d;
            }
        }
        return sum;
    }

    /** The rounded value of {@code w} on the grid (scale, zero) or, for a float format, in that format. */
    public float round(float w, float scale, int zero) {
        if (floatFormat != null) return floatFormat.round(w);
        IntFormat fmt = intFormat();
        return fmt.dequantize(fmt.quantize(w, scale, zero), scale, zero);
    }
}
