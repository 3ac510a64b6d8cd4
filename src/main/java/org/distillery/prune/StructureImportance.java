package org.distillery.prune;

import java.util.List;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.Gptq;

/**
 * Importance scores of the units of structured pruning ({@link Structure}: heads, FFN neurons, layers); the
 * least important are removed first ({@link StructuredPruning}). Three criteria:
 * <ul>
 *   <li>{@link Criterion#WEIGHT_NORM}: the L2 norm of the unit's parameters ({@link Structure}'s list);</li>
 *   <li>{@link Criterion#ACTIVATION}: the RMS norm, over calibration tokens, of the unit's contribution to the
 *   residual stream: head k: {@code sqrt(mean_n ||W_k o_k(n)||^2)} with o_k(n) [hs] the head's output at token n
 *   and W_k = c_proj[:, head k's columns] [E, hs] (computed from the head's Gram matrix sum_n o_k o_k^T);
 *   neuron j: {@code ||c_proj[:, j]|| sqrt(mean_n g_j(n)^2)} with g = GELU output; layer l:
 *   {@code sqrt(mean_n ||y_l(n) - x_l(n)||^2)}, block output minus block input;</li>
 *   <li>{@link Criterion#TAYLOR}: first-order Taylor (Molchanov et al. 2019), the sum over the unit's parameters of
 *   {@code |w * dL/dw|}, with dL/dw the gradient of the mean next-token loss over the calibration windows
 *   (average of the per-batch gradients; targets are the next tokens inside each window).</li>
 * </ul>
 * Scores are raw (not normalised per layer), so that global ranking compares absolute contributions.
 */
public final class StructureImportance {
    private StructureImportance() {}

    /** The importance criterion. */
    public enum Criterion { WEIGHT_NORM, ACTIVATION, TAYLOR }

    /**
     * {@code scores[l][k]} for unit k of layer l ({@code scores[l][0]} for layers).
     *
     * @param windows calibration token windows of one length &lt;= maxT (unused for WEIGHT_NORM, may be null then)
     */
    public static double[][] scores(Gpt model, Structure structure, Criterion criterion, List<int[]> windows) {
        if (model == null || structure == null || criterion == null) {
            throw new IllegalArgumentException("model, structure, criterion: must not be null");
        }
        return switch (criterion) {
            case WEIGHT_NORM -> weightNorm(model, structure);
            case ACTIVATION -> activation(model, structure, windows);
            case TAYLOR -> taylor(model, structure, windows);
        };
    }

    private static double[][] empty(Gpt model, Structure s) {
        int layers = model.config().nLayer();
        double[][] out = new double[layers][];
        for (int l = 0; l < layers; l++) out[l] = new double[s.count(model.config(), l)];
        return out;
    }

    static double[][] weightNorm(Gpt model, Structure s) {
        double[][] out = empty(model, s);
        for (int l = 0; l < out.length; l++) {
            for (int k = 0; k < out[l].length; k++) {
                double sq = 0;
                for (Structure.Part p : s.parts(model, l, k)) {
                    FloatTensor t = model.parameters().get(p.name());
                    for (int i : p.indices()) sq += (double) t.get(i) * t.get(i);
                }
                out[l][k] = Math.sqrt(sq);
            }
        }
        return out;
    }

    static double[][] taylor(Gpt model, Structure s, List<int[]> windows) {
        int t = checkCalibration(model, windows);
        List<int[]> batches = Gptq.batches(windows, model.maxBatch(), t);
        boolean wasTraining = model.isTraining();
        model.train();
        model.zeroGrad();
        try {
            for (int[] ids : batches) {
                int[] targets = new int[ids.length];
                for (int i = 0; i < ids.length; i++) targets[i] = (i + 1) % t == 0 ? Gpt.IGNORE_INDEX : ids[i + 1];
                model.forward(ids, targets, ids.length / t, t);
                model.backward();                                   // gradients add up over the batches
            }
            double[][] out = empty(model, s);
            double scale = 1.0 / batches.size();
            for (int l = 0; l < out.length; l++) {
                for (int k = 0; k < out[l].length; k++) {
                    double sum = 0;
                    for (Structure.Part p : s.parts(model, l, k)) {
                        FloatTensor w = model.parameters().get(p.name()), g = model.gradients().get(p.name());
                        for (int i : p.indices()) sum += Math.abs((double) w.get(i) * g.get(i) * scale);
                    }
                    out[l][k] = sum;
                }
            }
            return out;
        } finally {
            model.zeroGrad();
            if (!wasTraining) model.eval();
        }
    }

    static double[][] activation(Gpt model, Structure s, List<int[]> windows) {
        int t = checkCalibration(model, windows);
        List<int[]> batches = Gptq.batches(windows, model.maxBatch(), t);
        int layers = model.config().nLayer();
        double[][] out = empty(model, s);
        long tokens = 0;
        boolean wasTraining = model.isTraining();
        model.train();
        try {
            if (s == Structure.LAYER) {
                for (int[] ids : batches) {
                    int b = ids.length / t;
                    FloatTensor x = model.embed(ids, b, t);                      // [N, E]
                    for (int l = 0; l < layers; l++) {
                        float[] in = x.toFloatArray();
                        FloatTensor y = model.forwardBlock(l, x, b, t);
                        float[] o = y.toFloatArray();
                        double sq = 0;
                        for (int i = 0; i < o.length; i++) sq += ((double) o[i] - in[i]) * ((double) o[i] - in[i]);
                        out[l][0] += sq;
                        x = y;
                    }
                    tokens += ids.length;
                }
            } else {
                int hs = model.config().headSize();
                double[][][] gram = new double[layers][][];                     // HEAD: per layer [heads][hs * hs]
                InputNorms[] norms = new InputNorms[layers];                    // NEURON: per layer over [I]
                for (int l = 0; l < layers; l++) {
                    if (s == Structure.HEAD) gram[l] = new double[out[l].length][hs * hs];
                    else norms[l] = new InputNorms(out[l].length);
                }
                for (int[] ids : batches) {
                    model.forward(ids, null, ids.length / t, t);
                    for (int l = 0; l < layers; l++) {
                        if (s == Structure.NEURON) {
                            norms[l].add(model.linearInput("h." + l + ".mlp.c_proj.weight"));   // GELU output [N, I]
                            continue;
                        }
                        FloatTensor o = model.linearInput("h." + l + ".attn.c_proj.weight");    // heads merged [N, A]
                        float[] v = o.toFloatArray();
                        int a = o.cols();
                        for (int n = 0; n < o.rows(); n++) {
                            for (int k = 0; k < gram[l].length; k++) {
                                double[] g = gram[l][k];
                                int base = n * a + k * hs;
                                for (int i = 0; i < hs; i++) {
                                    double vi = v[base + i];
                                    for (int j = 0; j < hs; j++) g[i * hs + j] += vi * v[base + j];
                                }
                            }
                        }
                    }
                    tokens += ids.length;
                }
                for (int l = 0; l < layers; l++) {
                    if (s == Structure.NEURON) {
                        FloatTensor w = model.parameters().get("h." + l + ".mlp.c_proj.weight");   // [E, I]
                        double[] nrm = norms[l].norms();
                        int inner = w.dim(1);
                        for (int j = 0; j < inner; j++) {
                            double col = 0;
                            for (int r = 0; r < w.dim(0); r++) col += (double) w.get(r * inner + j) * w.get(r * inner + j);
                            out[l][j] = nrm[j] * nrm[j] * col;                 // sum_n ||g_j(n) W[:, j]||^2
                        }
                    } else {
                        FloatTensor w = model.parameters().get("h." + l + ".attn.c_proj.weight");  // [E, A]
                        int a = w.dim(1);
                        for (int k = 0; k < out[l].length; k++) {
                            // sum_n ||W_k o_k(n)||^2 = sum_{i,j} (W_k^T W_k)_ij G_k,ij
                            double sum = 0;
                            for (int i = 0; i < hs; i++) {
                                for (int j = 0; j < hs; j++) {
                                    double wtw = 0;
                                    for (int r = 0; r < w.dim(0); r++) {
                                        wtw += (double) w.get(r * a + k * hs + i) * w.get(r * a + k * hs + j);
                                    }
                                    sum += wtw * gram[l][k][i * hs + j];
                                }
                            }
                            out[l][k] = sum;
                        }
                    }
                }
            }
        } finally {
            if (!wasTraining) model.eval();
        }
        for (double[] row : out) for (int k = 0; k < row.length; k++) row[k] = Math.sqrt(Math.max(row[k], 0) / tokens);
        return out;
    }

    private static int checkCalibration(Gpt model, List<int[]> windows) {
        int t = Gptq.checkWindows(windows, model);
        if (model.dropoutProbability() > 0) {
            throw new IllegalArgumentException("model: dropout is on (p = " + model.dropoutProbability() + "); switch it off"
                    + " (setDropout(0, seed)) for importance scores");
        }
        return t;
    }
}
