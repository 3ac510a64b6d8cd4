package org.distillery.quant;

/**
 * What quantizing one linear layer did, a row of the per-layer tables of {@link Rtn} and {@link Gptq}.
 *
 * @param name        parameter name, e.g. {@code h.0.attn.c_attn.weight}
 * @param rows        output rows (out)
 * @param cols        input columns (in)
 * @param method      e.g. {@code RTN INT4-asym per-channel}, {@code GPTQ INT3-asym g64 act-order}
 * @param weightMse   mean over elements of (W - Q)^2
 * @param maxAbsError max over elements of |W - Q|
 * @param outputError GPTQ's proxy loss on the calibration inputs, the relative layer-output error
 *                    {@code tr((W-Q) H (W-Q)^T) / tr(W H W^T)} = ||W X - Q X||^2_F / ||W X||^2_F; NaN for RTN
 *                    (no calibration data)
 * @param seconds     wall time of this layer's quantization (s)
 */
public record LayerReport(String name, int rows, int cols, String method, double weightMse, double maxAbsError,
                          double outputError, double seconds) {

    /** Mean squared and max absolute element-wise difference of two equal-length arrays: {mse, max}. */
    static double[] errors(float[] w, float[] q) {
        double sum = 0, max = 0;
        for (int i = 0; i < w.length; i++) {
            double d = (double) w[i] - q[i];
            sum += d * d;
            max = Math.max(max, Math.abs(d));
        }
        return new double[] {sum / w.length, max};
    }
}
