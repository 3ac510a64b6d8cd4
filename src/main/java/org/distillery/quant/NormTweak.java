package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.train.AdamW;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Norm Tweaking (Li, Li, Zhang, Chu, AAAI 2024, "Norm Tweaking: High-performance Low-bit Quantization of
 * Large Language Models"; {@code shared/notes/methods.md}): after a block's linear weights are quantized,
 * only that block's LayerNorm gains and biases are trained so that the per-channel statistics of the
 * quantized block's output match the float block's. A plugin on top of any weight quantizer
 * ({@link BlockQuantizer}: RTN, GPTQ). Block by block, for l = 0 .. L-1:
 * <pre>
 *   X_l      = output of the already quantized-and-tweaked blocks 0..l-1 on the calibration windows
 *              (X_0 = the embeddings)
 *   Y_f      = block_l(X_l) with the float weights                                          [N, C]
 *   quantize block l's linear weights (frozen from here on)
 *   train ln_1.{weight,bias}, ln_2.{weight,bias} of block l with Adam (no weight decay), learning rate
 *            lr_l = lr_0 * (1 + scale * l / L),  for epochs x (windows / batch) steps, to minimise per batch
 *            L_dist = (1/C) sum_c ( |mu_f^c - mu_q^c| + |var_f^c - var_q^c| )
 *            (MSE option: L = mean over [N, C] of (Y_q - Y_f)^2)
 *   X_{l+1}  = block_l(X_l) with the quantized, tweaked block
 * </pre>
 * mu^c and var^c are the mean and (biased, 1/N) variance of channel c of a block output over the N = b*T
 * tokens of a batch. The paper writes {@code ||mu_f^c - mu_q^c||_2 + ||sigma_f^c^2 - sigma_q^c^2||_2}; for
 * one channel these are scalars, so the 2-norm is the absolute value (our reading; the sum over channels
 * then makes L_dist an L1 distance between the mean vectors plus one between the variance vectors). Its
 * gradient with respect to the quantized output y [N, C] (a subgradient: sign(0) = 0) is
 * <pre>
 *   dL/dy[n,c] = (1/(C N)) ( sign(mu_q^c - mu_f^c) + 2 sign(var_q^c - var_f^c) (y[n,c] - mu_q^c) )
 * </pre>
 * ({@link #distance}); it is back-propagated through the one block with {@link Gpt#backwardBlock}. The float
 * outputs Y_f are computed once per block and kept (N_total x C floats). With lr_0 = 0 (or 0 epochs) no step
 * is taken and the result is the plain block-wise quantization, bit for bit.
 */
public final class NormTweak {
    private NormTweak() {}

    /** The distribution distance to minimise. */
    public enum Loss {
        /** The paper's L_dist: per-channel |mean difference| + |variance difference|, averaged over channels. */
        DIST,
        /** Mean squared error between the quantized and float block outputs. */
        MSE
    }

    /**
     * Norm Tweaking's options.
     *
     * @param lr        lr_0, the learning rate of block 0, &gt;= 0 (0: no tweaking)
     * @param lrScale   growth with depth: lr_l = lr_0 (1 + lrScale * l / L), &gt;= 0
     * @param epochs    passes over the calibration windows per block, &gt;= 0 (the paper: 1 is best)
     * @param batchSize windows per Adam step (statistics over their b*T tokens), in [1, model maxB]
     * @param loss      {@link Loss#DIST} (the paper) or {@link Loss#MSE}
     * @param beta1     Adam's beta1
     * @param beta2     Adam's beta2
     * @param eps       Adam's epsilon
     */
    public record Options(double lr, double lrScale, int epochs, int batchSize, Loss loss, double beta1, double beta2,
                          double eps) {
        public Options {
            if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr = " + lr + " must be finite and >= 0");
            if (!(lrScale >= 0) || Double.isInfinite(lrScale)) {
                throw new IllegalArgumentException("lrScale = " + lrScale + " must be finite and >= 0");
            }
            if (epochs < 0) throw new IllegalArgumentException("epochs = " + epochs + " must be >= 0");
            if (batchSize < 1) throw new IllegalArgumentException("batchSize = " + batchSize + " must be >= 1");
            if (loss == null) throw new IllegalArgumentException("loss: must not be null");
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0)) {
                throw new IllegalArgumentException("Adam: need beta1, beta2 in [0, 1) and eps > 0; got " + beta1 + ", " + beta2 + ", " + eps);
            }
        }

        /** L_dist, Adam (0.9, 0.999, 1e-8), the given lr_0, scale, epochs and batch size. */
        public static Options of(double lr, double lrScale, int epochs, int batchSize) {
            return new Options(lr, lrScale, epochs, batchSize, Loss.DIST, 0.9, 0.999, 1e-8);
        }

        public Options withLoss(Loss l) { return new Options(lr, lrScale, epochs, batchSize, l, beta1, beta2, eps); }

        public Options withLr(double newLr) { return new Options(newLr, lrScale, epochs, batchSize, loss, beta1, beta2, eps); }

        public Options withEpochs(int e) { return new Options(lr, lrScale, e, batchSize, loss, beta1, beta2, eps); }

        /** lr_l = lr_0 (1 + lrScale * l / L) for block l of L. */
        public double lrOfBlock(int l, int layers) {
            return lr * (1 + lrScale * l / layers);
        }
    }

    /**
     * What happened in one block.
     *
     * @param block      block index
     * @param lr         its learning rate lr_l
     * @param steps      Adam steps taken
     * @param lossBefore the chosen loss of the quantized block before tweaking, mean over batches
     * @param lossAfter  the same after tweaking
     * @param distBefore L_dist before tweaking (whatever the loss), mean over batches
     * @param distAfter  L_dist after tweaking
     * @param layers     the quantizer's report rows of the block's linear layers
     */
    public record BlockReport(int block, double lr, int steps, double lossBefore, double lossAfter, double distBefore,
                              double distAfter, List<LayerReport> layers) {}

    /** The per-block reports, in order. */
    public record Result(List<BlockReport> blocks) {
        /** All the quantizer's layer rows, in order. */
        public List<LayerReport> layers() {
            List<LayerReport> all = new ArrayList<>();
            for (BlockReport b : blocks) all.addAll(b.layers());
            return all;
        }
    }

    /** The LayerNorm parameters of block l that Norm Tweaking trains. */
    public static List<String> normNames(int block) {
        String h = "h." + block + ".";
        return List.of(h + "ln_1.weight", h + "ln_1.bias", h + "ln_2.weight", h + "ln_2.bias");
    }

    /**
     * Quantizes {@code model} block by block with {@code quantizer} and tweaks each block's LayerNorms (see the
     * class comment). The model is changed in place (linear weights quantized, LayerNorms tweaked, gradients
     * zeroed); its mode is restored.
     *
     * @param windows calibration windows, all of one length T &lt;= maxT (e.g.
     *                {@link SelfGeneratedCalibration#generate}), at least one
     * @throws IllegalArgumentException on an empty calibration set, windows of unequal length or too long, a
     *                                  batch size above the model's maxB, dropout on
     */
    public static Result apply(Gpt model, List<int[]> windows, BlockQuantizer quantizer, Options options) {
        if (model == null || quantizer == null || options == null) {
            throw new IllegalArgumentException("model, quantizer, options: must not be null");
        }
        int t = Gptq.checkWindows(windows, model);
        if (options.batchSize() > model.maxBatch()) {
            throw new IllegalArgumentException("batchSize = " + options.batchSize() + " exceeds the model's maxB = " + model.maxBatch());
        }
        if (model.dropoutProbability() > 0) {
            throw new IllegalArgumentException("model: dropout is on (p = " + model.dropoutProbability() + "); switch it off"
                    + " (setDropout(0, seed)) for calibration");
        }
        int layers = model.config().nLayer(), e = model.config().nEmbd();
        boolean wasTraining = model.isTraining();
        model.train();
        try {
            // the batches and their block inputs X_0 = embeddings
            List<int[]> ids = Gptq.batches(windows, options.batchSize(), t);
            List<Integer> sizes = new ArrayList<>();
            List<float[]> x = new ArrayList<>();
            for (int[] batch : ids) {
                int b = batch.length / t;
                sizes.add(b);
                x.add(model.embed(batch, b, t).toFloatArray());
            }
            int nb = ids.size();
            Runner runner = new Runner(model, t, e);
            List<BlockReport> reports = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                final int block = l;
                final List<float[]> inputs = x;
                // float outputs on the quantized path's inputs
                List<float[]> yf = new ArrayList<>();
                for (int k = 0; k < nb; k++) yf.add(runner.run(block, x.get(k), sizes.get(k)).toFloatArray());
                // quantize the block's linear weights
                List<LayerReport> rows = quantizer.quantizeBlock(model, block, afterForward -> {
                    for (int k = 0; k < nb; k++) {
                        runner.run(block, inputs.get(k), sizes.get(k));
                        afterForward.run();
                    }
                });
                double[] before = evaluate(runner, block, x, yf, sizes, t, e, options.loss(), null);
                // tweak the LayerNorms
                double lr = options.lrOfBlock(l, layers);
                int steps = 0;
                if (lr > 0 && options.epochs() > 0) {
                    Map<String, FloatTensor> params = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
                    for (String n : normNames(l)) {
                        params.put(n, model.parameters().get(n));
                        grads.put(n, model.gradients().get(n));
                    }
                    AdamW adam = new AdamW(params, grads,
                            new AdamW.Options(lr, options.beta1(), options.beta2(), options.eps(), 0, 0),
                            AdamW.NONE, AdamW.NONE);
                    FloatTensor dy = null;
                    for (int epoch = 0; epoch < options.epochs(); epoch++) {
                        for (int k = 0; k < nb; k++) {
                            for (FloatTensor g : grads.values()) g.fill(0f);
                            FloatTensor y = runner.run(block, x.get(k), sizes.get(k));
                            int n = sizes.get(k) * t;
                            if (dy == null || dy.dim(0) != n) dy = FloatTensor.zeros(n, e);
                            lossAndGradient(options.loss(), y, yf.get(k), n, e, dy);
                            model.backwardBlock(block, dy);
                            adam.step();
                            steps++;
                        }
                    }
                }
                // after, and the next block's inputs
                List<float[]> next = new ArrayList<>();
                double[] after = evaluate(runner, block, x, yf, sizes, t, e, options.loss(), next);
                x = next;
                reports.add(new BlockReport(l, lr, steps, before[0], after[0], before[1], after[1], rows));
            }
            return new Result(reports);
        } finally {
            model.zeroGrad();
            if (!wasTraining) model.eval();
        }
    }

    /** Runs a block on batch inputs held as arrays, through one reused input tensor per batch size. */
    private static final class Runner {
        final Gpt model;
        final int t, e;
        final Map<Integer, FloatTensor> scratch = new java.util.HashMap<>();

        Runner(Gpt model, int t, int e) {
            this.model = model;
            this.t = t;
            this.e = e;
        }

        FloatTensor run(int block, float[] x, int b) {
            FloatTensor in = scratch.computeIfAbsent(b, k -> FloatTensor.zeros(k * t, e));
            return model.forwardBlock(block, in.copyFrom(x), b, t);
        }
    }

    /** {chosen loss, L_dist}, each the mean over batches; the outputs are added to {@code outputs} if not null. */
    private static double[] evaluate(Runner runner, int block, List<float[]> x, List<float[]> yf, List<Integer> sizes, int t,
                                     int e, Loss loss, List<float[]> outputs) {
        double sumLoss = 0, sumDist = 0;
        for (int k = 0; k < x.size(); k++) {
            float[] y = runner.run(block, x.get(k), sizes.get(k)).toFloatArray();
            int n = sizes.get(k) * t;
            double[] yd = toDouble(y), fd = toDouble(yf.get(k));
            double dist = distance(yd, fd, n, e, null);
            sumDist += dist;
            sumLoss += loss == Loss.DIST ? dist : mse(yd, fd, n, e, null);
            if (outputs != null) outputs.add(y);
        }
        return new double[] {sumLoss / x.size(), sumDist / x.size()};
    }

    private static void lossAndGradient(Loss loss, FloatTensor y, float[] yf, int n, int c, FloatTensor dy) {
        double[] g = new double[n * c];
        double[] yd = toDouble(y.toFloatArray()), fd = toDouble(yf);
        if (loss == Loss.DIST) distance(yd, fd, n, c, g);
        else mse(yd, fd, n, c, g);
        dy.copyFrom(g);
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /**
     * L_dist = (1/C) sum_c ( |mu_f^c - mu_q^c| + |var_f^c - var_q^c| ) between a quantized output {@code yq}
     * and a float output {@code yf}, both [n, c] row-major, with per-channel means and biased variances over
     * the n rows; the gradient with respect to {@code yq} (class comment) is written to {@code grad} [n, c]
     * when it is not null.
     */
    public static double distance(double[] yq, double[] yf, int n, int c, double[] grad) {
        check(yq, yf, n, c, grad);
        double[] muQ = new double[c], muF = new double[c], varQ = new double[c], varF = new double[c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                muQ[j] += yq[i * c + j];
                muF[j] += yf[i * c + j];
            }
        }
        for (int j = 0; j < c; j++) {
            muQ[j] /= n;
            muF[j] /= n;
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double dq = yq[i * c + j] - muQ[j], df = yf[i * c + j] - muF[j];
                varQ[j] += dq * dq;
                varF[j] += df * df;
            }
        }
        double sum = 0;
        for (int j = 0; j < c; j++) {
            varQ[j] /= n;
            varF[j] /= n;
            sum += Math.abs(muF[j] - muQ[j]) + Math.abs(varF[j] - varQ[j]);
        }
        if (grad != null) {
            for (int j = 0; j < c; j++) {
                double sm = Math.signum(muQ[j] - muF[j]) / ((double) c * n);
                double sv = 2 * Math.signum(varQ[j] - varF[j]) / ((double) c * n);
                for (int i = 0; i < n; i++) grad[i * c + j] = sm + sv * (yq[i * c + j] - muQ[j]);
            }
        }
        return sum / c;
    }

    /**
     * The MSE option: mean over [n, c] of (yq - yf)^2; its gradient 2 (yq - yf) / (n c) with respect to
     * {@code yq} goes to {@code grad} when it is not null.
     */
    public static double mse(double[] yq, double[] yf, int n, int c, double[] grad) {
        check(yq, yf, n, c, grad);
        double sum = 0, inv = 1.0 / ((double) n * c);
        for (int i = 0; i < n * c; i++) {
            double d = yq[i] - yf[i];
            sum += d * d;
            if (grad != null) grad[i] = 2 * d * inv;
        }
        return sum * inv;
    }

    private static void check(double[] yq, double[] yf, int n, int c, double[] grad) {
        if (n < 1 || c < 1) throw new IllegalArgumentException("n = " + n + ", c = " + c + ": need at least one row and channel");
        long size = (long) n * c;
        if (yq == null || yf == null || yq.length != size || yf.length != size || (grad != null && grad.length != size)) {
            throw new IllegalArgumentException("yq, yf, grad: need " + size + " = " + n + " x " + c + " values each");
        }
    }
}
