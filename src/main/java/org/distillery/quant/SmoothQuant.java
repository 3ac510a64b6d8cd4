package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * SmoothQuant (Xiao et al. 2023, "SmoothQuant: Accurate and Efficient Post-Training Quantization for Large
 * Language Models"; {@code shared/notes/methods.md}, "SmoothQuant and AWQ") for a {@link Gpt}: activation
 * outliers sit in a few input channels, so part of their range is migrated into the weights by a per-channel
 * scale that leaves the float model's function unchanged, and then weights and activations are both quantized
 * to 8 bits (W8A8).
 * <pre>
 *   1. statistics:  run the float model on calibration windows; for every linear layer that follows a LayerNorm
 *                   (attn.c_attn after ln_1, mlp.c_fc after ln_2) take max|X_j| over tokens, per input channel j
 *   2. scales:      s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)                         (the paper's eq. 4)
 *                   max|W_j| = max over the output rows of |W[:, j]| (W [out, in]; c_attn's rows are q, k and v
 *                   together, as the reference concatenates the three projections); both floored at 1e-5 as in
 *                   the reference code
 *   3. fold:        X diag(1/s) (diag(s) W^T) = X W^T: ln.weight_j /= s_j, ln.bias_j /= s_j, W[:, j] *= s_j
 *   4. W8A8:        RTN of every linear weight (default INT8 symmetric per output channel) and fake quantization
 *                   of the inputs of every block linear layer ({@link ActivationQuantizer}: per-token dynamic, or
 *                   per-tensor static with max|X| calibrated on the smoothed float model)
 * </pre>
 * alpha = 0.5 is the paper's default (larger alpha moves more of the difficulty into the weights). Steps 1-3 alone
 * ({@link #smooth}) change the logits only by fp32 rounding. {@code attn.c_proj} and {@code mlp.c_proj} are not
 * smoothed (their inputs do not come from a LayerNorm: the attention output and GELU, as in the reference for
 * OPT's fc2), but their inputs are quantized in step 4.
 */
public final class SmoothQuant {
    private SmoothQuant() {}

    /** The reference's floor on max|W_j| and on s_j. */
    static final double MIN_SCALE = 1e-5;

    /**
     * SmoothQuant's options.
     *
     * @param alpha       migration strength in [0, 1] (the paper: 0.5)
     * @param smooth      fold the smoothing scales (false: plain W8A8, the baseline)
     * @param weights     the weight quantizer (the paper: INT8 symmetric per output channel)
     * @param activations per-token dynamic or per-tensor static activation quantization
     * @param actBits     activation bits, 2 to 8 (the paper: 8)
     * @param batchSize   windows per calibration forward, in [1, maxB]
     */
    public record Options(double alpha, boolean smooth, Quantizer weights, ActivationQuantizer.Granularity activations,
                          int actBits, int batchSize) {
        public Options {
            checkAlpha(alpha);
            if (weights == null) throw new IllegalArgumentException("weights: must not be null");
            if (activations == null) throw new IllegalArgumentException("activations: must not be null");
            if (actBits < 2 || actBits > 8) throw new IllegalArgumentException("actBits = " + actBits + " is out of range: accepted 2 to 8");
            if (batchSize < 1) throw new IllegalArgumentException("batchSize = " + batchSize + " must be >= 1");
        }

        /** alpha 0.5, smoothing on, INT8 symmetric per-channel weights, A8 per-token, the given batch size. */
        public static Options defaults(int batchSize) {
            return new Options(0.5, true, Quantizer.perChannel(8, true), ActivationQuantizer.Granularity.PER_TOKEN, 8, batchSize);
        }

        public Options withAlpha(double a) { return new Options(a, smooth, weights, activations, actBits, batchSize); }

        public Options withSmoothing(boolean on) { return new Options(alpha, on, weights, activations, actBits, batchSize); }

        public Options withWeights(Quantizer q) { return new Options(alpha, smooth, q, activations, actBits, batchSize); }

        public Options withActivations(ActivationQuantizer.Granularity g, int bits) {
            return new Options(alpha, smooth, weights, g, bits, batchSize);
        }
    }

    static void checkAlpha(double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha = " + alpha + " is out of range: accepted 0 to 1 (the paper: 0.5)");
        }
    }

    /**
     * The smoothing of one linear layer.
     *
     * @param name          weight name, e.g. {@code h.0.attn.c_attn.weight}
     * @param scales        s [in]
     * @param outlierBefore max/median of the per-channel max|X_j| before smoothing ({@link ActivationStatistics#outlierRatio})
     * @param outlierAfter  the same of max|X_j| / s_j, the smoothed input's maxima
     */
    public record LayerSmoothing(String name, double[] scales, double outlierBefore, double outlierAfter) {}

    /**
     * What {@link #apply} did.
     *
     * @param smoothing   one row per smoothed layer (c_attn, c_fc per block), empty without smoothing
     * @param layers      the weight quantizer's rows, one per linear layer
     * @param tensors     the quantized weights by name (for packing)
     * @param activations the installed activation quantizer
     */
    public record Result(List<LayerSmoothing> smoothing, List<LayerReport> layers, Map<String, QuantizedTensor> tensors,
                         ActivationQuantizer activations) {}

    /** The smoothed linear layers of block l and the LayerNorm before each: {c_attn, ln_1}, {c_fc, ln_2}. */
    static String[][] smoothedPairs(int block) {
        String h = "h." + block + ".";
        return new String[][] {{h + "attn.c_attn.weight", h + "ln_1"}, {h + "mlp.c_fc.weight", h + "ln_2"}};
    }

    /** Step 2: s_j = actMax_j^alpha / weightMax_j^(1 - alpha), with both maxima and s floored at 1e-5. */
    public static double[] scales(float[] actMax, float[] weightMax, double alpha) {
        checkAlpha(alpha);
        if (actMax == null || weightMax == null || actMax.length != weightMax.length) {
            throw new IllegalArgumentException("actMax, weightMax: need two arrays of the same length (one value per input channel)");
        }
        double[] s = new double[actMax.length];
        for (int j = 0; j < s.length; j++) {
            double w = Math.max(weightMax[j], MIN_SCALE);
            s[j] = Math.max(Math.pow(actMax[j], alpha) / Math.pow(w, 1 - alpha), MIN_SCALE);
        }
        return s;
    }

    /** max over the output rows of |W[:, j]| for W [out, in]: [in]. */
    public static float[] weightColumnMax(FloatTensor w) {
        int out = w.dim(0), in = w.dim(1);
        float[] m = new float[in];
        for (int r = 0; r < out; r++) for (int j = 0; j < in; j++) m[j] = Math.max(m[j], Math.abs(w.get(r * in + j)));
        return m;
    }

    /**
     * Steps 1-3: collects the activation maxima of the float model on {@code windows} and folds the smoothing
     * scales into every c_attn/ln_1 and c_fc/ln_2 pair, in place (the model computes the same function).
     */
    public static List<LayerSmoothing> smooth(Gpt model, List<int[]> windows, double alpha, int batchSize) {
        checkAlpha(alpha);
        ActivationStatistics stats = ActivationStatistics.collect(model, windows, batchSize);
        Map<String, FloatTensor> p = model.parameters();
        List<LayerSmoothing> out = new ArrayList<>();
        int[] linears = {Gpt.LinearInputHook.ATTN_QKV, Gpt.LinearInputHook.MLP_FC};
        for (int l = 0; l < model.config().nLayer(); l++) {
            String[][] pairs = smoothedPairs(l);
            for (int i = 0; i < 2; i++) {
                FloatTensor w = p.get(pairs[i][0]);                       // [out, E]
                float[] actMax = stats.channelMax(l, linears[i]);         // [E]
                double[] s = scales(actMax, weightColumnMax(w), alpha);   // [E]
                Awq.scaleColumns(w, s);                                   // W[:, j] *= s_j
                Awq.divide(p.get(pairs[i][1] + ".weight"), s, 0);         // ln weight_j /= s_j
                Awq.divide(p.get(pairs[i][1] + ".bias"), s, 0);           // ln bias_j /= s_j
                float[] after = new float[actMax.length];
                for (int j = 0; j < after.length; j++) after[j] = (float) (actMax[j] / s[j]);
                out.add(new LayerSmoothing(pairs[i][0], s, ActivationStatistics.outlierRatio(actMax),
                        ActivationStatistics.outlierRatio(after)));
            }
        }
        return out;
    }

    /**
     * SmoothQuant W8A8 in place: smoothing (if on), static activation ranges (per-tensor: calibrated on the
     * smoothed float model), RTN of every linear weight, and the activation quantizer installed as the model's
     * {@link Gpt.LinearInputHook} (evaluate the model as it is; {@code model.setLinearInputHook(null)} removes
     * the activation quantization). The model must have no hook installed.
     */
    public static Result apply(Gpt model, List<int[]> windows, Options options) {
        if (model == null || options == null) throw new IllegalArgumentException("model, options: must not be null");
        Gptq.checkWindows(windows, model);
        for (String n : LinearLayers.names(model)) options.weights().groupWidth(model.parameters().get(n).dim(1));
        if (model.linearInputHook() != null) {
            throw new IllegalArgumentException("model: already has a linear-input hook (activation quantization?); remove it"
                    + " with setLinearInputHook(null) first");
        }
        List<LayerSmoothing> smoothing = options.smooth() ? smooth(model, windows, options.alpha(), options.batchSize()) : List.of();
        ActivationQuantizer act = activationQuantizer(model, windows, options);
        Rtn.Result r = Rtn.quantizeCopy(model, options.weights());
        for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
            e.getValue().dequantizeInto(model.parameters().get(e.getKey()));
        }
        act.install(model);
        return new Result(smoothing, r.layers(), r.tensors(), act);
    }

    /** The activation quantizer of {@code options} for {@code model} as it is (per-tensor: calibrated on it now). */
    public static ActivationQuantizer activationQuantizer(Gpt model, List<int[]> windows, Options options) {
        return options.activations() == ActivationQuantizer.Granularity.PER_TOKEN
                ? ActivationQuantizer.perToken(options.actBits(), model.config().nLayer())
                : ActivationQuantizer.calibrate(model, windows, options.actBits(), options.batchSize());
    }

    /**
     * The W8A8 step of one block as a {@link BlockQuantizer}, for block-wise drivers ({@link NormTweak}: SmoothQuant
     * + Norm Tweaking): RTN of the block's four linear weights with {@code weights}, then activation quantization
     * of the block switched on in {@code activations} (which must be installed on the model, all blocks off to
     * start with, so that each block's float reference output is computed without it). Smooth the model first
     * ({@link #smooth}).
     */
    public static BlockQuantizer blockQuantizer(Quantizer weights, ActivationQuantizer activations, Map<String, QuantizedTensor> tensors) {
        if (weights == null || activations == null) throw new IllegalArgumentException("weights, activations: must not be null");
        return (model, block, pass) -> {
            if (model.linearInputHook() != activations) {
                throw new IllegalStateException("SmoothQuant.blockQuantizer: the activation quantizer is not installed on the model");
            }
            Rtn.Result r = Rtn.quantizeCopy(model.parameters(), BlockQuantizer.linearNames(block), weights);
            for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
                e.getValue().dequantizeInto(model.parameters().get(e.getKey()));
            }
            if (tensors != null) tensors.putAll(r.tensors());
            activations.setActive(block, true);
            return r.layers();
        };
    }
}
