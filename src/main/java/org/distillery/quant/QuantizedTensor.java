package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.IntFormat;

import java.util.Arrays;

/**
 * A quantized matrix [rows = out, cols = in] in memory (one {@code int} per code: simulated quantization;
 * packed storage is another matter): integer codes, and one (scale, zero point) per row and group,
 * {@code value(r, c) = scales[r, k] * (codes[r, c] - zeros[r, k])} with k = {@link #groupOf}(c). A
 * per-tensor spec stores its one pair repeated on every row; per-channel has one group per row.
 *
 * <p>Groups are {@code groupWidth} consecutive columns ({@code k = c / groupWidth}) unless
 * {@code columnGroup} is given: GPTQ with act-order and dynamic groups forms its groups in the permuted
 * column order, so the group of a column is stored explicitly (GPTQ's {@code g_idx}).
 *
 * <p>For a float-format spec the codes are that format's bit patterns and there are no scales.
 *
 * @param quantizer   the spec that produced it
 * @param rows        output rows
 * @param cols        input columns
 * @param groupWidth  columns per group (cols for per-tensor and per-channel)
 * @param columnGroup [cols] the group index of each column, or null for {@code c / groupWidth}
 * @param codes       [rows, cols] row-major
 * @param scales      [rows, groups] row-major, groups = cols / groupWidth (empty for a float format)
 * @param zeros       [rows, groups] (empty for a float format)
 */
public record QuantizedTensor(Quantizer quantizer, int rows, int cols, int groupWidth, int[] columnGroup,
                              int[] codes, float[] scales, int[] zeros) {

    public QuantizedTensor {
        if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("shape [" + rows + ", " + cols + "] must be positive");
        if (codes == null || codes.length != rows * cols) {
            throw new IllegalArgumentException("codes: need " + rows * cols + " codes for [" + rows + ", " + cols + "]");
        }
        if (groupWidth < 1 || cols % groupWidth != 0) {
            throw new IllegalArgumentException("groupWidth = " + groupWidth + " must divide cols = " + cols);
        }
        int groups = cols / groupWidth;
        int expected = quantizer.isFloat() ? 0 : rows * groups;
        if (scales == null || zeros == null || scales.length != expected || zeros.length != expected) {
            throw new IllegalArgumentException("scales/zeros: need " + expected + " each for [" + rows + ", " + groups
                    + "] groups; got " + (scales == null ? "null" : scales.length) + " and "
                    + (zeros == null ? "null" : zeros.length));
        }
        if (columnGroup != null) {
            if (columnGroup.length != cols) throw new IllegalArgumentException("columnGroup: need " + cols + " entries");
            for (int k : columnGroup) {
                if (k < 0 || k >= groups) throw new IllegalArgumentException("columnGroup: group " + k + " outside [0, " + groups + ")");
            }
        }
        IntFormat fmt = quantizer.intFormat();
        if (fmt != null) {
            for (int i = 0; i < codes.length; i++) {
                if (codes[i] < fmt.qmin() || codes[i] > fmt.qmax()) {
                    throw new IllegalArgumentException("codes[" + i + "] = " + codes[i] + " outside [" + fmt.qmin() + ", "
                            + fmt.qmax() + "]");
                }
            }
        }
    }

    static QuantizedTensor ofInt(Quantizer q, int rows, int cols, int groupWidth, int[] columnGroup, int[] codes,
                                 float[] scales, int[] zeros) {
        return new QuantizedTensor(q, rows, cols, groupWidth, columnGroup, codes, scales, zeros);
    }

    static QuantizedTensor ofFloat(Quantizer q, int rows, int cols, int[] codes) {
        return new QuantizedTensor(q, rows, cols, cols, null, codes, new float[0], new int[0]);
    }

    /** Groups per row: cols / groupWidth. */
    public int groups() {
        return cols / groupWidth;
    }

    /** The group of column {@code c}. */
    public int groupOf(int c) {
        return columnGroup == null ? c / groupWidth : columnGroup[c];
    }

    /** The code of element (r, c). */
    public int code(int r, int c) {
        return codes[r * cols + c];
    }

    /** The scale of row r, group k. */
    public float scale(int r, int k) {
        return scales[r * groups() + k];
    }

    /** The zero point of row r, group k. */
    public int zero(int r, int k) {
        return zeros[r * groups() + k];
    }

    /** The represented values [rows, cols] row-major. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        if (quantizer.isFloat()) {
            for (int i = 0; i < out.length; i++) out[i] = quantizer.floatFormat().decode(codes[i]);
            return out;
        }
        IntFormat fmt = quantizer.intFormat();
        int groups = groups();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = r * groups + groupOf(c);
                out[r * cols + c] = fmt.dequantize(codes[r * cols + c], scales[k], zeros[k]);
            }
        }
        return out;
    }

    /** The represented values as a new [rows, cols] tensor. */
    public FloatTensor dequantizeTensor() {
        FloatTensor t = FloatTensor.zeros(rows, cols);
        t.copyFrom(dequantize());
        return t;
    }

    /** Writes the represented values into {@code target} [rows, cols] (e.g. a model's weight, in place). */
    public void dequantizeInto(FloatTensor target) {
        if (target.rank() != 2 || target.dim(0) != rows || target.dim(1) != cols) {
            throw new IllegalArgumentException("target: shape " + target.shapeString() + " but this tensor is ["
                    + rows + ", " + cols + "]");
        }
        target.copyFrom(dequantize());
    }

    @Override
    public String toString() {
        return "QuantizedTensor[" + rows + ", " + cols + "] " + quantizer.name() + ", " + groups() + " group(s) per row";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedTensor t && quantizer.equals(t.quantizer) && rows == t.rows && cols == t.cols
                && groupWidth == t.groupWidth && Arrays.equals(columnGroup, t.columnGroup) && Arrays.equals(codes, t.codes)
                && Arrays.equals(scales, t.scales) && Arrays.equals(zeros, t.zeros);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codes) * 31 + Arrays.hashCode(scales);
    }
}
