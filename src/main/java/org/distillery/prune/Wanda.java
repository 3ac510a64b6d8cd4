package org.distillery.prune;

import java.util.Arrays;
import java.util.List;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

/**
 * Wanda (Sun, Liu, Bair, Kolter 2023, "A Simple and Effective Pruning Approach for Large Language Models"):
 * prune by weight magnitude times input activation norm, per output row, with no weight update.
 * For a linear layer W [out, in] with calibration inputs X [n, in]:
 * <pre>
 *   1. ||X_j||_2 = sqrt(sum_n x_nj^2)                  [in]      ({@link InputNorms}, streamed)
 *   2. S_ij = |W_ij| * ||X_j||_2                       [out, in] (paper eq. 1)
 *   3. unstructured: in every row i, prune the round(s * in) smallest S_ij (the paper's per-output comparison
 *      group); N:M: in every row, keep the N largest S_ij of each M consecutive inputs
 *   4. W_ij = 0 where pruned; the remaining weights are unchanged
 * </pre>
 * Whole models go block by block ({@link #prune}): the inputs of block l come from the already pruned blocks
 * 0..l-1, as in the reference code.
 */
public final class Wanda {
    private Wanda() {}

    /**
     * Wanda's options.
     *
     * @param sparsity       fraction pruned per row, in [0, 1); with a pattern it must be 1 - N/M
     * @param pattern        N:M pattern, or null for unstructured
     * @param trueSequential prune the four layers of a block one after the other (see {@link SequentialCalibration})
     */
    public record Options(double sparsity, NmPattern pattern, boolean trueSequential) {
        public Options {
            MagnitudePruning.checkSparsity(sparsity);
            if (pattern != null && Math.abs(sparsity - pattern.sparsity()) > 1e-12) {
                throw new IllegalArgumentException("sparsity " + sparsity + " does not match pattern " + pattern + " (sparsity "
                        + pattern.sparsity() + ")");
            }
        }

        /** Unstructured at sparsity s, all four layers of a block from one pass. */
        public static Options unstructured(double s) {
            return new Options(s, null, false);
        }

        /** N:M, all four layers of a block from one pass. */
        public static Options nm(NmPattern pattern) {
            if (pattern == null) throw new IllegalArgumentException("pattern: must not be null");
            return new Options(pattern.sparsity(), pattern, false);
        }

        public Options withTrueSequential(boolean on) {
            return new Options(sparsity, pattern, on);
        }
    }

    /** Step 2: S_ij = |W_ij| * norms_j for W [rows, cols] row-major; returns S [rows * cols]. */
    public static double[] scores(float[] w, int rows, int cols, double[] norms) {
        if (w == null || w.length != (long) rows * cols) throw new IllegalArgumentException("w: need [" + rows + ", " + cols + "] values");
        if (norms == null || norms.length != cols) {
            throw new IllegalArgumentException("norms: need " + cols + " input norms; got " + (norms == null ? "null" : norms.length));
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) throw new IllegalArgumentException("w: non-finite weight " + w[i] + " at flat index " + i);
        }
        for (int j = 0; j < cols; j++) {
            if (!(norms[j] >= 0) || Double.isInfinite(norms[j])) {
                throw new IllegalArgumentException("norms: input norm " + norms[j] + " of column " + j + " is not finite and >= 0");
            }
        }
        double[] s = new double[w.length];
        for (int r = 0, o = 0; r < rows; r++, o += cols) {
            for (int j = 0; j < cols; j++) s[o + j] = Math.abs(w[o + j]) * norms[j];
        }
        return s;
    }

    /** Step 3: the keep flags [rows * cols] of W [rows, cols] with input norms {@code norms} [cols]. */
    public static boolean[] layerMask(float[] w, int rows, int cols, double[] norms, Options options) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        double[] s = scores(w, rows, cols, norms);
        if (options.pattern() != null) return options.pattern().select(s, rows, cols);
        boolean[] keep = new boolean[s.length];
        Arrays.fill(keep, true);
        int k = Ranking.count(options.sparsity(), cols);
        for (int r = 0; r < rows; r++) Ranking.pruneSmallest(s, r * cols, (r + 1) * cols, k, keep);
        return keep;
    }

    /** Prunes one weight [out, in] in place (steps 2-4) from its accumulated input norms; returns the keep flags. */
    public static boolean[] pruneLayer(FloatTensor weight, InputNorms inputs, Options options) {
        float[] w = weight.toFloatArray();
        boolean[] keep = layerMask(w, weight.dim(0), weight.dim(1), inputs.norms(), options);
        for (int i = 0; i < w.length; i++) if (!keep[i]) w[i] = 0f;
        weight.copyFrom(w);
        return keep;
    }

    /**
     * Prunes every linear layer of {@code model} in place, block by block on {@code windows} (token windows of
     * one length &lt;= maxT, e.g. {@code Gptq.calibrationWindows}); embeddings and LayerNorms are untouched.
     */
    public static PruningResult prune(Gpt model, List<int[]> windows, Options options) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        PruningMask.requireFinite(model.parameters(), org.distillery.quant.LinearLayers.names(model));
        if (options.pattern() != null) {
            for (String n : org.distillery.quant.LinearLayers.names(model)) {
                options.pattern().checkWidth(model.parameters().get(n).dim(1), n);
            }
        }
        return SequentialCalibration.run(model, windows, options.trueSequential(), new SequentialCalibration.LayerStep<InputNorms>() {
            @Override
            public InputNorms statistic(int in) {
                return new InputNorms(in);
            }

            @Override
            public void add(InputNorms s, FloatTensor x) {
                s.add(x);
            }

            @Override
            public SequentialCalibration.Outcome prune(String name, FloatTensor weight, InputNorms s) {
                return new SequentialCalibration.Outcome(pruneLayer(weight, s, options), Double.NaN);
            }
        });
    }
}
