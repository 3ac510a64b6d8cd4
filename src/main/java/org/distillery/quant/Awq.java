package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * AWQ, activation-aware weight quantization (Lin et al. 2023; {@code shared/notes/methods.md}) for a
 * {@link Gpt}. Block by block, for l = 0 .. L-1, with X_l = the outputs of the already quantized blocks
 * 0..l-1 on the calibration windows (X_0 = the embeddings):
 * <pre>
 *   run block l on X_l (float weights) and collect, for each scalable group, the input X [N, in] of its linear
 *   layer: per-channel mean |x_j| over the N tokens and H = X^T X (double)
 *   for alpha in {0, 1/grid, ..., (grid-1)/grid}:
 *       s_j = max(mean|x_j|^alpha, 1e-4),  s = s / sqrt(max(s) min(s))          (the reference's normalisation)
 *       Q   = quantizer(W diag(s)) diag(1/s)                                   (W [out, in])
 *       mse = ||X Q^T - X W^T||^2_F / (N out) = sum_r (q_r - w_r)^T H (q_r - w_r) / (N out)
 *   keep the alpha with the least mse (the first on ties, so alpha = 0, plain RTN, wins ties);
 *   W <- W diag(s), fold 1/s into the op that produces X; finally RTN of the block's four linear weights;
 *   X_{l+1} = the quantized block's output on X_l.
 * </pre>
 * The MSE is that of the one linear layer's output (bias cancels), as the reference measures the output of
 * the module fed by the scaled op (for our groups: the one linear layer). The scalable groups:
 * <ul>
 *   <li>{@code attn.c_attn}: input ln_1(x); 1/s is folded into ln_1's weight and bias;</li>
 *   <li>{@code mlp.c_fc}: input ln_2(x); folded into ln_2's weight and bias;</li>
 *   <li>{@code attn.c_proj}: input = the attention output, which is linear in V (softmax(QK^T) V, heads
 *       concatenated, channel j from V channel j): 1/s is folded into the V rows (2E + j) of c_attn's weight
 *       and bias, exactly.</li>
 * </ul>
 * {@code mlp.c_proj} is left RTN-only: its input is GELU(c_fc(..)), and GELU is not positively homogeneous
 * (GELU(x / s) != GELU(x) / s), so a scale cannot be folded into c_fc exactly (the reference scales fc2 only
 * after ReLU-free/linear predecessors, or via a scaled activation module we do not have). All scales of a
 * block are searched on that block's float inputs, then all applied, then the block is quantized, as the
 * reference does. With grid = 1 (alpha = 0 only) every s is exactly 1 and the result is RTN bit for bit.
 */
public final class Awq {
    private Awq() {}

    /** The reference's floor on the scales. */
    static final double MIN_SCALE = 1e-4;

    /**
     * AWQ's options.
     *
     * @param grid      number of alpha points {0, 1/grid, ..., (grid-1)/grid}; the paper: 20
     * @param batchSize windows per block forward, in [1, model maxB]
     * @param quantize  quantize the scaled weights at the end (false: only search and fold the scales, which
     *                  leaves the model's function unchanged up to fp32 rounding; for testing the folding)
     * @param alpha     a fixed alpha in [0, 1] used for every layer instead of the grid search, or NaN (the
     *                  default) to search the grid
     */
    public record Options(int grid, int batchSize, boolean quantize, double alpha) {
        public Options {
            if (grid < 1) throw new IllegalArgumentException("grid = " + grid + " must be >= 1");
            if (batchSize < 1) throw new IllegalArgumentException("batchSize = " + batchSize + " must be >= 1");
            if (!Double.isNaN(alpha) && !(alpha >= 0 && alpha <= 1)) {
                throw new IllegalArgumentException("alpha = " + alpha + " is out of range: accepted 0 to 1 (or NaN: grid search)");
            }
        }

        /** 20 alpha points, the given batch size, quantizing. */
        public static Options defaults(int batchSize) {
            return new Options(20, batchSize, true, Double.NaN);
        }

        public Options withGrid(int g) { return new Options(g, batchSize, quantize, alpha); }

        public Options withQuantize(boolean q) { return new Options(grid, batchSize, q, alpha); }

        /** A fixed alpha instead of the grid search (NaN: search). */
        public Options withAlpha(double a) { return new Options(grid, batchSize, quantize, a); }

        /** The alphas tried: {0, 1/grid, ..., (grid-1)/grid}, or the fixed alpha alone. */
        double[] alphas() {
            return Awq.alphas(grid, alpha);
        }
    }

    /** {0, 1/grid, ..., (grid-1)/grid}, or {@code {fixed}} when it is not NaN. */
    static double[] alphas(int grid, double fixed) {
        if (!Double.isNaN(fixed)) return new double[] {fixed};
        double[] a = new double[grid];
        for (int i = 0; i < grid; i++) a[i] = (double) i / grid;
        return a;
    }

    /**
     * The search's result for one scaled layer.
     *
     * @param name       weight name, e.g. {@code h.0.attn.c_attn.weight}
     * @param alpha      the chosen alpha
     * @param mseRtn     output MSE with alpha = 0 (plain RTN of the unscaled weight)
     * @param mseAwq     output MSE at the chosen alpha (&lt;= mseRtn when searched)
     * @param meanSquare mean over tokens and outputs of (X W^T)^2, to make the MSEs relative
     */
    public record LayerScale(String name, double alpha, double mseRtn, double mseAwq, double meanSquare) {}

    /** The scale search per layer (three per block, in order) and the final RTN rows (empty if not quantizing). */
    public record Result(List<LayerScale> scales, List<LayerReport> layers) {}

    /** The scalable linear weights of block l: c_attn, c_fc, attention c_proj. */
    public static List<String> scaledNames(int block) {
        String h = "h." + block + ".";
        return List.of(h + "attn.c_attn.weight", h + "mlp.c_fc.weight", h + "attn.c_proj.weight");
    }

    /**
     * Applies AWQ to {@code model} in place (see the class comment); its mode is restored.
     *
     * @throws IllegalArgumentException on an empty calibration set, windows of unequal length or too long, a
     *                                  group size not dividing a layer's input width, a batch size above maxB,
     *                                  dropout on
     */
    public static Result apply(Gpt model, List<int[]> windows, Quantizer quantizer, Options options) {
        return apply(model, windows, quantizer, options, null);
    }

    /**
     * As {@link #apply(Gpt, List, Quantizer, Options)}, also putting each layer's codes and parameters (of the
     * scaled weights) into {@code tensors} when it is not null (e.g. for packing).
     */
    public static Result apply(Gpt model, List<int[]> windows, Quantizer quantizer, Options options,
                               Map<String, QuantizedTensor> tensors) {
        if (model == null || quantizer == null || options == null) {
            throw new IllegalArgumentException("model, quantizer, options: must not be null");
        }
        int t = Gptq.checkWindows(windows, model);
        int e = model.config().nEmbd();
        quantizer.groupWidth(e);
        quantizer.groupWidth(model.parameters().get("h.0.mlp.c_proj.weight").dim(1));
        if (options.batchSize() > model.maxBatch()) {
            throw new IllegalArgumentException("batchSize = " + options.batchSize() + " exceeds the model's maxB = " + model.maxBatch());
        }
        if (model.dropoutProbability() > 0) {
            throw new IllegalArgumentException("model: dropout is on (p = " + model.dropoutProbability() + "); switch it off"
                    + " (setDropout(0, seed)) for calibration");
        }
        int layers = model.config().nLayer();
        boolean wasTraining = model.isTraining();
        model.train();
        try {
            List<Integer> sizes = new ArrayList<>();
            List<float[]> x = new ArrayList<>();
            for (int[] batch : Gptq.batches(windows, options.batchSize(), t)) {
                int b = batch.length / t;
                sizes.add(b);
                x.add(model.embed(batch, b, t).toFloatArray());
            }
            Map<Integer, FloatTensor> scratch = new HashMap<>();
            List<LayerScale> scales = new ArrayList<>();
            List<LayerReport> rows = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                final int block = l;
                final List<float[]> inputs = x;
                rows.addAll(searchAndQuantize(model, block, afterForward -> {
                    for (int k = 0; k < inputs.size(); k++) {
                        run(model, scratch, block, inputs.get(k), sizes.get(k), t, e);
                        afterForward.run();
                    }
                }, quantizer, options.alphas(), options.quantize(), scales, tensors));
                List<float[]> next = new ArrayList<>();
                for (int k = 0; k < x.size(); k++) next.add(run(model, scratch, l, x.get(k), sizes.get(k), t, e).toFloatArray());
                x = next;
            }
            return new Result(scales, rows);
        } finally {
            if (!wasTraining) model.eval();
        }
    }

    /**
     * AWQ as a {@link BlockQuantizer} for block-wise drivers ({@link NormTweak}: AWQ + Norm Tweaking): each call
     * searches, folds and RTN-quantizes one block on the inputs the driver's pass supplies; the chosen scales
     * are appended to {@code scales} (if not null).
     */
    public static BlockQuantizer blockQuantizer(Quantizer quantizer, int grid, List<LayerScale> scales) {
        return blockQuantizer(quantizer, grid, Double.NaN, scales, null);
    }

    /**
     * As {@link #blockQuantizer(Quantizer, int, List)} with a fixed {@code alpha} (NaN: grid search), also putting
     * each layer's codes and parameters into {@code tensors} when it is not null.
     */
    public static BlockQuantizer blockQuantizer(Quantizer quantizer, int grid, double alpha, List<LayerScale> scales,
                                                Map<String, QuantizedTensor> tensors) {
        if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
        double[] alphas = new Options(grid, 1, true, alpha).alphas();
        return (model, block, pass) -> {
            int e = model.config().nEmbd();
            quantizer.groupWidth(e);
            quantizer.groupWidth(model.parameters().get("h.0.mlp.c_proj.weight").dim(1));
            return searchAndQuantize(model, block, pass, quantizer, alphas, true, scales == null ? new ArrayList<>() : scales,
                    tensors);
        };
    }

    /** One block: collect input statistics through {@code pass}, search, fold, and RTN if {@code quantize}. */
    static List<LayerReport> searchAndQuantize(Gpt model, int l, BlockQuantizer.CalibrationPass pass, Quantizer quantizer,
                                               double[] alphas, boolean quantize, List<LayerScale> scales,
                                               Map<String, QuantizedTensor> tensors) {
        Map<String, FloatTensor> p = model.parameters();
        int e = model.config().nEmbd();
        List<String> names = scaledNames(l);
        int[] widths = new int[names.size()];
        double[][] absSum = new double[names.size()][], h = new double[names.size()][];
        for (int g = 0; g < names.size(); g++) {
            widths[g] = p.get(names.get(g)).dim(1);
            absSum[g] = new double[widths[g]];
            h[g] = new double[widths[g] * widths[g]];
        }
        long[] n = {0};
        pass.forEachBatch(() -> {
            for (int g = 0; g < names.size(); g++) {
                float[] in = model.linearInput(names.get(g)).toFloatArray();
                accumulate(in, widths[g], absSum[g], h[g]);
                if (g == 0) n[0] += in.length / widths[g];
            }
        });
        if (n[0] == 0) throw new IllegalStateException("Awq: the calibration pass ran no batch for block " + l);
        // search every group on the float block, then apply all
        double[][] s = new double[names.size()][];
        for (int g = 0; g < names.size(); g++) {
            double[] mean = new double[widths[g]];
            for (int j = 0; j < widths[g]; j++) mean[j] = absSum[g][j] / n[0];
            FloatTensor w = p.get(names.get(g));
            Search r = search(w.toFloatArray(), w.dim(0), widths[g], mean, h[g], n[0], quantizer, alphas);
            s[g] = r.s;
            scales.add(new LayerScale(names.get(g), r.alpha, r.mseRtn, r.mseBest, r.meanSquare));
        }
        String pre = "h." + l + ".";
        scaleColumns(p.get(names.get(0)), s[0]);
        divide(p.get(pre + "ln_1.weight"), s[0], 0);
        divide(p.get(pre + "ln_1.bias"), s[0], 0);
        scaleColumns(p.get(names.get(1)), s[1]);
        divide(p.get(pre + "ln_2.weight"), s[1], 0);
        divide(p.get(pre + "ln_2.bias"), s[1], 0);
        scaleColumns(p.get(names.get(2)), s[2]);
        divideRows(p.get(pre + "attn.c_attn.weight"), s[2], 2 * e);
        divide(p.get(pre + "attn.c_attn.bias"), s[2], 2 * e);
        return quantize ? BlockQuantizer.rtn(quantizer, tensors).quantizeBlock(model, l, unused -> {}) : List.of();
    }

    private static FloatTensor run(Gpt model, Map<Integer, FloatTensor> scratch, int block, float[] x, int b, int t, int e) {
        FloatTensor in = scratch.computeIfAbsent(b, k -> FloatTensor.zeros(k * t, e));
        return model.forwardBlock(block, in.copyFrom(x), b, t);
    }

    /** Adds sum_n |x[n, j]| to absSum and X^T X to h (upper triangle mirrored at the end of each call). */
    static void accumulate(float[] x, int in, double[] absSum, double[] h) {
        int rows = x.length / in;
        double[] row = new double[in];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < in; j++) {
                row[j] = x[r * in + j];
                absSum[j] += Math.abs(row[j]);
            }
            for (int i = 0; i < in; i++) {
                double xi = row[i];
                if (xi == 0) continue;
                int off = i * in;
                for (int j = i; j < in; j++) h[off + j] += xi * row[j];
            }
        }
        for (int i = 0; i < in; i++) for (int j = i + 1; j < in; j++) h[j * in + i] = h[i * in + j];
    }

    record Search(double alpha, double[] s, double mseRtn, double mseBest, double meanSquare) {}

    /** The normalised scales for one alpha. */
    static double[] scales(double[] mean, double alpha) {
        double[] s = new double[mean.length];
        double max = 0, min = Double.POSITIVE_INFINITY;
        for (int j = 0; j < s.length; j++) {
            s[j] = Math.max(Math.pow(mean[j], alpha), MIN_SCALE);
            max = Math.max(max, s[j]);
            min = Math.min(min, s[j]);
        }
        double norm = Math.sqrt(max * min);
        for (int j = 0; j < s.length; j++) s[j] /= norm;
        return s;
    }

    /**
     * Search of alpha over {@code alphas} for one layer: W [out, in], the input statistics over n tokens. The RTN
     * MSE (alpha = 0) is reported also when 0 is not among the alphas.
     */
    static Search search(float[] w, int out, int in, double[] mean, double[] h, long n, Quantizer quantizer, double[] alphas) {
        double meanSquare = 0;
        double[] wd = new double[in];
        for (int r = 0; r < out; r++) {
            for (int j = 0; j < in; j++) wd[j] = w[r * in + j];
            meanSquare += quadratic(wd, h, in);
        }
        meanSquare /= (double) n * out;
        double bestMse = Double.POSITIVE_INFINITY, bestAlpha = 0, rtn = Double.NaN;
        double[] best = null;
        float[] ws = new float[w.length];
        double[] d = new double[in];
        boolean withRtn = alphas[0] != 0;                 // the RTN row first when the alphas do not start at 0
        for (int i = withRtn ? -1 : 0; i < alphas.length; i++) {
            double alpha = i < 0 ? 0 : alphas[i];
            double[] s = scales(mean, alpha);
            for (int r = 0; r < out; r++) for (int j = 0; j < in; j++) ws[r * in + j] = (float) (w[r * in + j] * s[j]);
            float[] q = quantizer.roundTrip(ws, out, in);
            double sum = 0;
            for (int r = 0; r < out; r++) {
                for (int j = 0; j < in; j++) d[j] = q[r * in + j] / s[j] - w[r * in + j];
                sum += quadratic(d, h, in);
            }
            double mse = sum / ((double) n * out);
            if (i <= 0 && (i < 0 || !withRtn)) rtn = mse;
            if (i < 0) continue;
            if (mse < bestMse) {
                bestMse = mse;
                bestAlpha = alpha;
                best = s;
            }
        }
        return new Search(bestAlpha, best, rtn, bestMse, meanSquare);
    }

    private static double quadratic(double[] d, double[] h, int in) {
        double sum = 0;
        for (int i = 0; i < in; i++) {
            double di = d[i];
            if (di == 0) continue;
            double acc = 0;
            int off = i * in;
            for (int j = 0; j < in; j++) acc += h[off + j] * d[j];
            sum += di * acc;
        }
        return sum;
    }

    /** W[:, j] *= s_j for W [out, in]. */
    static void scaleColumns(FloatTensor w, double[] s) {
        int out = w.dim(0), in = w.dim(1);
        float[] a = w.toFloatArray();
        for (int r = 0; r < out; r++) for (int j = 0; j < in; j++) a[r * in + j] = (float) (a[r * in + j] * s[j]);
        w.copyFrom(a);
    }

    /** v[offset + j] /= s_j. */
    static void divide(FloatTensor v, double[] s, int offset) {
        float[] a = v.toFloatArray();
        for (int j = 0; j < s.length; j++) a[offset + j] = (float) (a[offset + j] / s[j]);
        v.copyFrom(a);
    }

    /** W[offset + j, :] /= s_j for W [out, in]. */
    static void divideRows(FloatTensor w, double[] s, int offset) {
        int in = w.dim(1);
        float[] a = w.toFloatArray();
        for (int j = 0; j < s.length; j++) for (int c = 0; c < in; c++) a[(offset + j) * in + c] = (float) (a[(offset + j) * in + c] / s[j]);
        w.copyFrom(a);
    }
}
