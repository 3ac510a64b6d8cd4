package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.Arrays;
import java.util.List;

/**
 * The per-channel maximum |x_j| of the input of every linear layer of a {@link Gpt} over calibration windows
 * (SmoothQuant's "activation scales", and the range of a static per-tensor activation quantizer):
 * <pre>
 *   channelMax[l][k][j] = max over calibration tokens n of |X[n, j]|,   X [N, in] the input of linear k of block l
 * </pre>
 * with k = {@link Gpt.LinearInputHook#ATTN_QKV}, {@code ATTN_PROJ}, {@code MLP_FC}, {@code MLP_PROJ}. Collected by
 * full forward passes in evaluation mode through an observing {@link Gpt.LinearInputHook}, so the inputs are
 * those of the model as it is (with whatever hook it had installed applied first: a model that already
 * fake-quantizes its activations is observed after that).
 *
 * @param channelMax [L][4][in] per-channel maxima (in = n_embd, or the inner size for {@code MLP_PROJ})
 * @param tokens     calibration tokens observed (N)
 */
public record ActivationStatistics(float[][][] channelMax, long tokens) {

    /** The weight name of linear layer {@code linear} of block {@code block}, e.g. {@code h.0.mlp.c_fc.weight}. */
    public static String weightName(int block, int linear) {
        return BlockQuantizer.linearNames(block).get(linear);
    }

    /**
     * Runs the windows through {@code model} (evaluation mode, no targets; mode and hook restored) and collects
     * the maxima.
     *
     * @param windows   calibration windows, all of one length T &lt;= maxT, at least one
     * @param batchSize windows per forward, in [1, maxB]
     */
    public static ActivationStatistics collect(Gpt model, List<int[]> windows, int batchSize) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        int t = Gptq.checkWindows(windows, model);
        if (batchSize < 1 || batchSize > model.maxBatch()) {
            throw new IllegalArgumentException("batchSize = " + batchSize + " is outside [1, maxB = " + model.maxBatch() + "]");
        }
        int layers = model.config().nLayer();
        float[][][] max = new float[layers][4][];
        for (int l = 0; l < layers; l++) {
            for (int k = 0; k < 4; k++) max[l][k] = new float[model.parameters().get(weightName(l, k)).dim(1)];
        }
        Gpt.LinearInputHook previous = model.linearInputHook();
        long[] n = {0};
        model.setLinearInputHook((block, linear, x) -> {
            if (previous != null) previous.apply(block, linear, x);
            if (block == 0 && linear == Gpt.LinearInputHook.ATTN_QKV) n[0] += x.rows();
            accumulate(x, max[block][linear]);
        });
        try {
            model.inEvalMode(() -> {
                for (int[] batch : Gptq.batches(windows, batchSize, t)) model.forward(batch, null, batch.length / t, t);
                return null;
            });
        } finally {
            model.setLinearInputHook(previous);
        }
        return new ActivationStatistics(max, n[0]);
    }

    /** max[j] = max(max[j], max_n |x[n, j]|) for x [N, in]. */
    static void accumulate(FloatTensor x, float[] max) {
        int rows = x.rows(), in = x.cols();
        for (int r = 0; r < rows; r++) {
            int off = r * in;
            for (int j = 0; j < in; j++) max[j] = Math.max(max[j], Math.abs(x.get(off + j)));
        }
    }

    /** The per-channel maxima of one layer's input [in] (a copy). */
    public float[] channelMax(int block, int linear) {
        return channelMax[block][linear].clone();
    }

    /** max over channels and tokens of |x|: the range of a static per-tensor quantizer. */
    public float tensorMax(int block, int linear) {
        float m = 0;
        for (float v : channelMax[block][linear]) m = Math.max(m, v);
        return m;
    }

    /** The per-tensor maxima [L][4]. */
    public float[][] tensorMax() {
        float[][] out = new float[channelMax.length][4];
        for (int l = 0; l < out.length; l++) for (int k = 0; k < 4; k++) out[l][k] = tensorMax(l, k);
        return out;
    }

    /**
     * How far the largest channel stands out: max_j m_j / median_j m_j with m_j the channel maxima (the median of
     * an even count is the mean of the two middle values). 1 for a flat profile; SmoothQuant's outliers give tens.
     */
    public double outlierRatio(int block, int linear) {
        return outlierRatio(channelMax[block][linear]);
    }

    /** max / median of {@code m}, as {@link #outlierRatio(int, int)}. */
    public static double outlierRatio(float[] m) {
        float[] s = m.clone();
        Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : 0.5 * ((double) s[n / 2 - 1] + s[n / 2]);
        return s[n - 1] / median;
    }
}
