package org.distillery.prune;

import java.util.Arrays;
import java.util.List;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.Gptq;
import org.distillery.quant.GptqHessian;
import org.distillery.quant.InverseCholesky;
import org.distillery.quant.LinearLayers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * SparseGPT (Frantar &amp; Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
 * Algorithm 1) for one linear layer W [out, in] with calibration inputs X [n, in]: it prunes the columns of W
 * one at a time and, as Optimal Brain Surgeon, moves each column's pruning error onto the columns not yet
 * processed so as to minimise {@code ||X W^T - X W'^T||^2}. Same machinery as GPTQ, with "quantize" replaced
 * by "apply the mask":
 * <pre>
 *   0. H = (2/n) X^T X                                   [in, in]   ({@link GptqHessian}, shared with GPTQ)
 *   1. dead columns (H_ii = 0): W[:, i] = 0, H_ii = 1
 *   2. dampening: H += percdamp * mean(diag H) * I
 *   3. U = upper Cholesky factor of H^-1 (H^-1 = U^T U)   [in, in]   ({@link InverseCholesky}, shared with GPTQ)
 *   4. for blocks [i1, i2) of B = 128 columns:
 *        adaptive mask selection (unstructured): over the block's out x B weights, prune the k_b smallest
 *          w_ij^2 / U_jj^2 (the OBS saliency; U_jj^2 = [H_F^-1]_jj of the columns F not yet processed), with
 *          k_b = round(s out i2) - round(s out i1) so the layer total is exactly round(s out in)
 *        for i in [i1, i2):
 *          (N:M: at i % M == 0, in every row prune the M - N smallest w^2 / U_jj^2 of columns i..i+M-1)
 *          q     = W[:, i] with the pruned entries set to 0                    [out]
 *          err   = (W[:, i] - q) / U[i, i]                                     [out]
 *          W[:, i] = q;  W[:, i+1:i2] -= err U[i, i+1:i2]                      eager OBS update inside the block
 *        W[:, i2:] -= Err[:, i1:i2] U[i1:i2, i2:]                              one lazy update per block (GEMM)
 * </pre>
 * The masks are chosen on the weights as updated so far (the paper's adaptive selection; the reference code
 * selects {@code numel * s + 1} weights per block through {@code <=} on the threshold, this class exactly
 * round(s numel)). W is held transposed ([in, out], a column of W is a contiguous row) in double; the lazy
 * update is an ND4J double GEMM. Whole models go block by block like {@link Gptq#quantize} ({@link #prune}).
 */
public final class SparseGpt {
    private SparseGpt() {}

    /**
     * SparseGPT's options.
     *
     * @param sparsity       fraction pruned, in [0, 1); with a pattern it must be 1 - N/M
     * @param pattern        N:M pattern (M must divide the block size), or null for unstructured
     * @param percDamp       dampening as a fraction of mean(diag H), finite and &gt;= 0 (0.01)
     * @param blockSize      columns per mask-selection and lazy-update block, &gt;= 1 (128)
     * @param trueSequential prune the four layers of a block one after the other
     */
    public record Options(double sparsity, NmPattern pattern, double percDamp, int blockSize, boolean trueSequential) {
        public Options {
            MagnitudePruning.checkSparsity(sparsity);
            if (pattern != null && Math.abs(sparsity - pattern.sparsity()) > 1e-12) {
                throw new IllegalArgumentException("sparsity " + sparsity + " does not match pattern " + pattern + " (sparsity "
                        + pattern.sparsity() + ")");
            }
            if (!(percDamp >= 0) || Double.isInfinite(percDamp)) {
                throw new IllegalArgumentException("percDamp = " + percDamp + " must be finite and >= 0 (default 0.01)");
            }
            if (blockSize < 1) throw new IllegalArgumentException("blockSize = " + blockSize + " must be >= 1 (default 128)");
            if (pattern != null && blockSize % pattern.m() != 0) {
                throw new IllegalArgumentException("blockSize = " + blockSize + " is not a multiple of the pattern's M = "
                        + pattern.m());
            }
        }

        /** Unstructured at sparsity s: percdamp 0.01, blocks of 128, one pass per block. */
        public static Options unstructured(double s) {
            return new Options(s, null, 0.01, 128, false);
        }

        /** N:M: percdamp 0.01, blocks of 128, one pass per block. */
        public static Options nm(NmPattern pattern) {
            if (pattern == null) throw new IllegalArgumentException("pattern: must not be null");
            return new Options(pattern.sparsity(), pattern, 0.01, 128, false);
        }

        public Options withPercDamp(double p) {
            return new Options(sparsity, pattern, p, blockSize, trueSequential);
        }

        public Options withBlockSize(int b) {
            return new Options(sparsity, pattern, percDamp, b, trueSequential);
        }

        public Options withTrueSequential(boolean on) {
            return new Options(sparsity, pattern, percDamp, blockSize, on);
        }
    }

    /**
     * One layer's result.
     *
     * @param weights     W' [out, in] row-major: zero where pruned, reconstructed elsewhere
     * @param keep        the mask [out * in], true = kept
     * @param loss        the algorithm's own error estimate, sum over columns of ||W[:, i] - q||^2 / (2 U_ii^2)
     * @param deadColumns input columns with H_ii = 0 (zeroed)
     */
    public record LayerResult(float[] weights, boolean[] keep, double loss, int deadColumns) {}

    /** SparseGPT for W [out, in] with the Hessian accumulated in {@code hessian}. */
    public static LayerResult pruneLayer(FloatTensor w, GptqHessian hessian, Options options) {
        if (w == null || hessian == null) throw new IllegalArgumentException("w, hessian: must not be null");
        if (w.rank() != 2) throw new IllegalArgumentException("w: shape " + w.shapeString() + " is not [out, in]");
        return pruneLayer(w.toFloatArray(), w.dim(0), w.dim(1), hessian.hessian(), options);
    }

    /**
     * SparseGPT for a row-major W [rows = out, cols = in] and H [in, in] (row-major, symmetric; not changed).
     *
     * @throws IllegalArgumentException for NaN/Inf weights, bad shapes, a pattern whose M does not divide cols
     * @throws IllegalStateException    when H + damping is not positive definite
     */
    public static LayerResult pruneLayer(float[] w, int rows, int cols, double[] hessian, Options options) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        if (w == null || rows < 1 || cols < 1 || w.length != (long) rows * cols) {
            throw new IllegalArgumentException("w: need [" + rows + ", " + cols + "] values (rows, cols >= 1)");
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) throw new IllegalArgumentException("w: non-finite weight " + w[i] + " at flat index " + i);
        }
        int n = cols, m = rows;
        if (hessian == null || hessian.length != (long) n * n) {
            throw new IllegalArgumentException("hessian: need [" + n + ", " + n + "] values for in = " + n);
        }
        NmPattern pattern = options.pattern();
        if (pattern != null) pattern.checkWidth(n, "w");
        double[] wt = new double[n * m];                                 // W^T [in, out]: column i of W is row i
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) wt[c * m + r] = w[r * n + c];
        }
        double[] h = hessian.clone();                                    // [in, in]

        // 1. dead columns
        int dead = 0;
        for (int i = 0; i < n; i++) {
            if (h[i * n + i] == 0) {
                h[i * n + i] = 1;
                Arrays.fill(wt, i * m, (i + 1) * m, 0);
                dead++;
            }
        }
        // 2. dampening, 3. U = chol(H^-1) upper
        double[] u = InverseCholesky.dampedUpperOfInverse(h, n, options.percDamp(), "SparseGPT", c -> c);
        INDArray un = Nd4j.create(u, new long[] {n, n}, 'c');

        // 4. the blocked sweep
        boolean[] keepT = new boolean[n * m];                            // [in, out], true = kept
        Arrays.fill(keepT, true);
        double s = options.sparsity();
        double loss = 0;
        for (int i1 = 0; i1 < n; i1 += options.blockSize()) {
            int i2 = Math.min(i1 + options.blockSize(), n), b = i2 - i1;
            if (pattern == null) {                                       // adaptive mask selection over the block
                double[] score = new double[b * m];                      // [b, out]
                for (int i = i1; i < i2; i++) {
                    double d2 = u[i * n + i] * u[i * n + i];
                    for (int r = 0; r < m; r++) score[(i - i1) * m + r] = wt[i * m + r] * wt[i * m + r] / d2;
                }
                int kb = Ranking.count(s, (long) m * i2) - Ranking.count(s, (long) m * i1);
                boolean[] kp = new boolean[b * m];
                Arrays.fill(kp, true);
                Ranking.pruneSmallest(score, 0, b * m, kb, kp);
                System.arraycopy(kp, 0, keepT, i1 * m, b * m);
            }
            double[] err = new double[b * m];                            // Err^T [b, out]
            for (int i = i1; i < i2; i++) {
                if (pattern != null && i % pattern.m() == 0) selectNm(wt, u, n, m, i, pattern, keepT);
                double d = u[i * n + i];
                int row = i * m, e0 = (i - i1) * m;
                for (int r = 0; r < m; r++) {
                    double x = wt[row + r];
                    double q = keepT[row + r] ? x : 0;
                    double e = (x - q) / d;
                    err[e0 + r] = e;
                    loss += e * e / 2;
                    wt[row + r] = q;
                }
                for (int j = i + 1; j < i2; j++) {                       // W[:, j] -= err U[i, j]
                    double uij = u[i * n + j];
                    int rj = j * m;
                    for (int r = 0; r < m; r++) wt[rj + r] -= err[e0 + r] * uij;
                }
            }
            if (i2 < n) {                                                // lazy: W[:, i2:] -= Err U[i1:i2, i2:]
                INDArray errN = Nd4j.create(err, new long[] {b, m}, 'c');
                INDArray c = Nd4j.create(DataType.DOUBLE, new long[] {n - i2, m}, 'c');
                Nd4j.gemm(un.get(NDArrayIndex.interval(i1, i2), NDArrayIndex.interval(i2, n)), errN, c, true, false, 1.0, 0.0);
                double[] upd = c.data().asDouble();                      // [n - i2, m]
                for (int k = 0; k < upd.length; k++) wt[i2 * m + k] -= upd[k];
            }
        }
        float[] out = new float[m * n];
        boolean[] keep = new boolean[m * n];
        for (int c = 0; c < n; c++) {
            for (int r = 0; r < m; r++) {
                out[r * n + c] = keepT[c * m + r] ? (float) wt[c * m + r] : 0f;
                keep[r * n + c] = keepT[c * m + r];
            }
        }
        return new LayerResult(out, keep, loss, dead);
    }

    /** N:M at column i (a group start): in every row prune the M - N smallest w^2 / U_jj^2 of columns i..i+M-1. */
    private static void selectNm(double[] wt, double[] u, int n, int m, int i, NmPattern p, boolean[] keepT) {
        int w = p.m();
        double[] score = new double[w];
        boolean[] kp = new boolean[w];
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < w; j++) {
                double d = u[(i + j) * n + i + j];
                double x = wt[(i + j) * m + r];
                score[j] = x * x / (d * d);
            }
            Arrays.fill(kp, true);
            Ranking.pruneSmallest(score, 0, w, w - p.n(), kp);
            for (int j = 0; j < w; j++) keepT[(i + j) * m + r] = kp[j];
        }
    }

    /**
     * Prunes every linear layer of {@code model} in place with SparseGPT, block by block on {@code windows} (token
     * windows of one length &lt;= maxT); embeddings and LayerNorms are untouched. The report rows carry the relative
     * layer-output error on the calibration inputs (undamped H).
     */
    public static PruningResult prune(Gpt model, List<int[]> windows, Options options) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        PruningMask.requireFinite(model.parameters(), org.distillery.quant.LinearLayers.names(model));
        if (options.pattern() != null) {
            for (String n : LinearLayers.names(model)) options.pattern().checkWidth(model.parameters().get(n).dim(1), n);
        }
        return SequentialCalibration.run(model, windows, options.trueSequential(), new SequentialCalibration.LayerStep<GptqHessian>() {
            @Override
            public GptqHessian statistic(int in) {
                return new GptqHessian(in);
            }

            @Override
            public void add(GptqHessian s, FloatTensor x) {
                s.add(x);
            }

            @Override
            public SequentialCalibration.Outcome prune(String name, FloatTensor weight, GptqHessian s) {
                float[] w = weight.toFloatArray();
                double[] h = s.hessian();
                LayerResult r = pruneLayer(w, weight.dim(0), weight.dim(1), h, options);
                weight.copyFrom(r.weights());
                return new SequentialCalibration.Outcome(r.keep(),
                        Gptq.relativeOutputError(w, r.weights(), weight.dim(0), weight.dim(1), h));
            }
        });
    }
}
