package org.distillery.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.FloatFormat;
import org.distillery.formats.IntFormat;
import org.distillery.model.Gpt;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * GPTQ (Frantar, Ashkboos, Hoefler, Alistarh 2022, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers", Algorithm 1) for one linear layer W [out, in] with calibration
 * inputs X [n, in]. It quantizes the columns of W one at a time and spreads each column's rounding error
 * over the not-yet-quantized columns so as to minimise the layer-output error {@code ||W X^T - Q X^T||^2}:
 * <pre>
 *   0. H = (2/n) X^T X                                  [in, in]   ({@link GptqHessian}, streamed)
 *   1. dead columns (H_ii = 0): W[:, i] = 0, H_ii = 1
 *   2. quantizer parameters fitted on W up front: per tensor / per row, or per group (static groups)
 *   3. act-order: permute columns by descending diag(H) (W's columns and H's rows and columns)
 *   4. dampening: H += percdamp * mean(diag H) * I
 *   5. U = upper Cholesky factor of H^-1 (H^-1 = U^T U)   [in, in]   (Cholesky-based, double precision)
 *   6. for blocks [i1, i2) of B = 128 columns:
 *        for i in [i1, i2):
 *          (dynamic groups: at i % g == 0, refit the parameters on the current W[:, i:i+g])
 *          q     = quant(W[:, i])                                       [out]
 *          err   = (W[:, i] - q) / U[i, i]                              [out]     (paper eq. 2/3, Cholesky form)
 *          W[:, i+1:i2] -= err U[i, i+1:i2]                             inner, eager updates
 *        W[:, i2:] -= Err[:, i1:i2] U[i1:i2, i2:]                         one lazy update per block (GEMM)
 *   7. undo the permutation
 * </pre>
 * Implementation: W is held transposed ([in, out], a column of W is a contiguous row) in fp32 like the
 * reference code, the inner updates are vectorised (jdk.incubator.vector) axpys, the lazy update is an ND4J
 * GEMM, and step 5 is {@link InverseCholesky} in double. With dynamic groups a block also ends at every group
 * boundary, so a group's parameters are always fitted on fully updated weights (the reference code fits on
 * weights missing the current block's eager updates when g &lt; B; identical for g = B = 128). With
 * act-order, dynamic groups are consecutive in the permuted order (the reference code's {@code g_idx}),
 * stored in {@link QuantizedTensor#columnGroup()}; static groups stay contiguous in the original order.
 */
public final class Gptq {
    private Gptq() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /**
     * GPTQ's options.
     *
     * @param quantizer    the grid and granularity (GROUP: g along the input dimension)
     * @param percDamp     dampening, as a fraction of mean(diag H): 0.01 by default, &gt;= 0
     * @param blockSize    columns per lazy-update block, 128 by default
     * @param actOrder     process columns by descending diag(H)
     * @param staticGroups with GROUP granularity: fit every group's parameters on the original W up front
     *                     (false: re-fit every g columns during the sweep, GPTQ's default)
     */
    public record Options(Quantizer quantizer, double percDamp, int blockSize, boolean actOrder, boolean staticGroups,
                          boolean keepZeros) {
        public Options {
            if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
            if (!(percDamp >= 0) || Double.isInfinite(percDamp)) {
                throw new IllegalArgumentException("percDamp = " + percDamp + " must be finite and >= 0 (default 0.01)");
            }
            if (blockSize < 1) throw new IllegalArgumentException("blockSize = " + blockSize + " must be >= 1 (default 128)");
            if (staticGroups && quantizer.granularity() != Quantizer.Granularity.GROUP) {
                throw new IllegalArgumentException("staticGroups: only meaningful with group-wise quantization (granularity is "
                        + quantizer.granularity() + ")");
            }
        }

        /** percdamp 0.01, block 128, no act-order, dynamic groups. */
        public static Options defaults(Quantizer quantizer) {
            return new Options(quantizer, 0.01, 128, false, false, false);
        }

        public Options withActOrder(boolean on) {
            return new Options(quantizer, percDamp, blockSize, on, staticGroups, keepZeros);
        }

        public Options withStaticGroups(boolean on) {
            return new Options(quantizer, percDamp, blockSize, actOrder, on, keepZeros);
        }

        public Options withPercDamp(double p) {
            return new Options(quantizer, p, blockSize, actOrder, staticGroups, keepZeros);
        }

        public Options withBlockSize(int b) {
            return new Options(quantizer, percDamp, b, actOrder, staticGroups, keepZeros);
        }

        /**
         * Weights that are exactly 0 in W (e.g. pruned) stay exactly 0: their code is the one that dequantizes to 0
         * (the zero-point; every fitted range contains 0), and the error of forcing them there is propagated to
         * the columns not yet quantized like any other rounding error, as SparseGPT does with a fixed mask. So
         * GPTQ can follow pruning without undoing the sparsity.
         */
        public Options withKeepZeros(boolean on) {
            return new Options(quantizer, percDamp, blockSize, actOrder, staticGroups, on);
        }

        /** e.g. {@code GPTQ INT4-asym g128 act-order static keep-zeros}. */
        public String name() {
            return "GPTQ " + quantizer.name() + (actOrder ? " act-order" : "") + (staticGroups ? " static" : "")
                    + (keepZeros ? " keep-zeros" : "");
        }
    }

    /**
     * One layer's result.
     *
     * @param quantized   the codes and parameters (dequantize for Q)
     * @param loss        GPTQ's own error estimate, sum over columns of ||W[:, i] - q||^2 / (2 U_ii^2)
     * @param deadColumns input columns with H_ii = 0 (zeroed)
     * @param permutation the processing order (act-order), or the identity
     */
    public record LayerResult(QuantizedTensor quantized, double loss, int deadColumns, int[] permutation) {}

    /** GPTQ for W [out, in] with the Hessian accumulated in {@code hessian}. */
    public static LayerResult quantizeLayer(FloatTensor w, GptqHessian hessian, Options options) {
        if (w == null || hessian == null) throw new IllegalArgumentException("w, hessian: must not be null");
        if (w.rank() != 2) throw new IllegalArgumentException("w: shape " + w.shapeString() + " is not [out, in]");
        return quantizeLayer(w.toFloatArray(), w.dim(0), w.dim(1), hessian.hessian(), options);
    }

    /**
     * GPTQ for a row-major W [rows = out, cols = in] and H [in, in] (row-major, symmetric; not changed).
     *
     * @throws IllegalArgumentException for NaN/Inf weights, a group size not dividing {@code cols}, bad shapes
     * @throws IllegalStateException    when H + damping is not positive definite
     */
    public static LayerResult quantizeLayer(float[] w, int rows, int cols, double[] hessian, Options options) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        Quantizer quantizer = options.quantizer();
        Quantizer.checkMatrix(w, rows, cols);
        int n = cols, m = rows;
        if (hessian == null || hessian.length != (long) n * n) {
            throw new IllegalArgumentException("hessian: need [" + n + ", " + n + "] = " + (long) n * n + " values for in = " + n
                    + "; got " + (hessian == null ? "null" : hessian.length));
        }
        int g = quantizer.groupWidth(n);                                 // checks that g divides in
        boolean grouped = quantizer.granularity() == Quantizer.Granularity.GROUP;
        boolean dynamic = grouped && !options.staticGroups();
        IntFormat fmt = quantizer.intFormat();
        FloatFormat ff = quantizer.floatFormat();

        float[] wt = new float[n * m];                                   // W^T [in, out]: column i of W is row i
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) wt[c * m + r] = w[r * n + c];
        }
        double[] h = hessian.clone();                                    // [in, in]

        // 1. dead columns
        int dead = 0;
        float[] w0 = w;                                                  // W with dead columns zeroed [out, in]
        for (int i = 0; i < n; i++) {
            if (h[i * n + i] == 0) {
                h[i * n + i] = 1;
                Arrays.fill(wt, i * m, (i + 1) * m, 0f);
                if (w0 == w) w0 = w.clone();
                for (int r = 0; r < m; r++) w0[r * n + i] = 0f;
                dead++;
            }
        }

        // 2. parameters fitted up front on W [out, in] (rows contiguous): [out, groups], one group for
        //    per-tensor/per-channel
        int groups = n / g;
        float[] scales = new float[m * groups];                          // [out, groups]
        int[] zeros = new int[m * groups];                               // [out, groups]
        if (fmt != null && !dynamic) {
            if (quantizer.granularity() == Quantizer.Granularity.PER_TENSOR) {
                IntFormat.Params p = quantizer.fitBlock(w0, 0, n, 1, m, n);
                Arrays.fill(scales, p.scale());
                Arrays.fill(zeros, p.zeroPoint());
            } else {
                for (int r = 0; r < m; r++) {
                    for (int k = 0; k < groups; k++) {
                        IntFormat.Params p = quantizer.fitBlock(w0, r * n + k * g, 0, 1, 1, g);
                        scales[r * groups + k] = p.scale();
                        zeros[r * groups + k] = p.zeroPoint();
                    }
                }
            }
        }

        // 3. act-order permutation (stable: ties keep the original order)
        int[] perm = IntStream.range(0, n).toArray();
        if (options.actOrder()) {
            final double[] hh = h;
            perm = IntStream.range(0, n).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -hh[i * n + i]))
                    .mapToInt(Integer::intValue).toArray();
            float[] wp = new float[n * m];
            double[] hp = new double[n * n];
            for (int i = 0; i < n; i++) {
                System.arraycopy(wt, perm[i] * m, wp, i * m, m);
                for (int j = 0; j < n; j++) hp[i * n + j] = h[perm[i] * n + perm[j]];
            }
            wt = wp;
            h = hp;
        }

        // keep-zeros: which entries of W^T (permuted) were exactly 0 in W
        boolean[] zeroT = null;
        if (options.keepZeros()) {
            zeroT = new boolean[n * m];                                  // [in (permuted), out]
            for (int i = 0; i < n; i++) {
                for (int r = 0; r < m; r++) zeroT[i * m + r] = w[r * n + perm[i]] == 0f;
            }
        }

        // 4. dampening, 5. U = chol(H^-1) upper
        final int[] order = perm;
        double[] u = InverseCholesky.dampedUpperOfInverse(h, n, options.percDamp(), "GPTQ", c -> order[c]);
        float[] uf = new float[n * n];
        for (int i = 0; i < uf.length; i++) uf[i] = (float) u[i];
        INDArray un = Nd4j.create(uf, new long[] {n, n}, 'c');

        // 6. the blocked sweep
        int[] codesT = new int[n * m];                                   // [in (permuted), out]
        float[] cur = new float[m];                                      // scale of the current column, per row
        int[] curZ = new int[m];
        double loss = 0;
        int i2;
        for (int i1 = 0; i1 < n; i1 = i2) {
            i2 = Math.min(i1 + options.blockSize(), n);
            if (dynamic) i2 = Math.min(i2, (i1 / g + 1) * g);             // a block ends at every group boundary
            int b = i2 - i1;
            float[] err = new float[b * m];                              // Err^T [b, out]
            for (int i = i1; i < i2; i++) {
                if (fmt != null) {
                    int k;
                    if (dynamic) {
                        k = i / g;
                        if (i % g == 0) fitGroup(quantizer, wt, m, i, g, k, groups, scales, zeros);
                    } else {
                        k = grouped ? perm[i] / g : 0;
                    }
                    for (int r = 0; r < m; r++) {
                        cur[r] = scales[r * groups + k];
                        curZ[r] = zeros[r * groups + k];
                    }
                }
                float d = uf[i * n + i];
                int row = i * m, e0 = (i - i1) * m;
                for (int r = 0; r < m; r++) {
                    float x = wt[row + r];
                    float target = zeroT != null && zeroT[row + r] ? 0f : x;  // a kept zero is rounded from 0
                    int code;
                    float q;
                    if (fmt != null) {
                        code = fmt.quantize(target, cur[r], curZ[r]);
                        q = fmt.dequantize(code, cur[r], curZ[r]);
                    } else {
                        code = ff.encode(target);
                        q = ff.decode(code);
                    }
                    codesT[row + r] = code;
                    float e = (x - q) / d;
                    err[e0 + r] = e;
                    loss += (double) e * e / 2;
                }
                for (int j = i + 1; j < i2; j++) axpy(-uf[i * n + j], err, e0, wt, j * m, m);   // W[:, j] -= err U[i, j]
            }
            if (i2 < n) {                                                // lazy: W[:, i2:] -= Err U[i1:i2, i2:]
                INDArray errN = Nd4j.create(err, new long[] {b, m}, 'c');
                INDArray c = Nd4j.create(DataType.FLOAT, new long[] {n - i2, m}, 'c');
                Nd4j.gemm(un.get(NDArrayIndex.interval(i1, i2), NDArrayIndex.interval(i2, n)), errN, c, true, false, 1.0, 0.0);
                FloatBuffer cb = c.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
                float[] upd = new float[(n - i2) * m];
                cb.get(upd);
                Reference.reachabilityFence(c);      // the NIO view does not keep c's native memory alive
                sub(wt, i2 * m, upd);
            }
        }

        // 7. undo the permutation; the group of each original column
        int[] codes = new int[m * n];
        for (int i = 0; i < n; i++) {
            int c = perm[i];
            for (int r = 0; r < m; r++) codes[r * n + c] = codesT[i * m + r];
        }
        int[] columnGroup = null;
        if (dynamic && options.actOrder()) {
            columnGroup = new int[n];
            for (int i = 0; i < n; i++) columnGroup[perm[i]] = i / g;
        }
        QuantizedTensor qt = fmt == null
                ? QuantizedTensor.ofFloat(quantizer, m, n, codes)
                : QuantizedTensor.ofInt(quantizer, m, n, g, columnGroup, codes, scales, zeros);
        return new LayerResult(qt, loss, dead, perm);
    }

    /** Fits group k (columns [c0, c0 + width) of W, rows c0.. of W^T [in, out]) for every output row. */
    private static void fitGroup(Quantizer quantizer, float[] wt, int m, int c0, int width, int k, int groups,
                                 float[] scales, int[] zeros) {
        for (int r = 0; r < m; r++) {
            IntFormat.Params p = quantizer.fitBlock(wt, c0 * m + r, 0, m, 1, width);
            scales[r * groups + k] = p.scale();
            zeros[r * groups + k] = p.zeroPoint();
        }
    }

    /** y[yo .. yo+len) += a * x[xo .. xo+len). */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int len) {
        int i = 0;
        int bound = F.loopBound(len);
        FloatVector av = FloatVector.broadcast(F, a);
        for (; i < bound; i += F.length()) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + i);
            FloatVector yv = FloatVector.fromArray(F, y, yo + i);
            xv.lanewise(VectorOperators.FMA, av, yv).intoArray(y, yo + i);
        }
        for (; i < len; i++) y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
    }

    /** y[yo + i] -= d[i] for i &lt; d.length. */
    private static void sub(float[] y, int yo, float[] d) {
        int i = 0;
        int bound = F.loopBound(d.length);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, y, yo + i).sub(FloatVector.fromArray(F, d, i)).intoArray(y, yo + i);
        }
        for (; i < d.length; i++) y[yo + i] -= d[i];
    }

    // ------------------------------------------------------------------------------------------------
    // a whole model

    /**
     * Quantizes every linear layer of a GPT with GPTQ, block by block in order, as the reference code's
     * sequential driver does: the calibration inputs of a layer are captured by forwards of the model whose
     * preceding layers are already quantized ({@link Gpt#linearInput}), so each layer corrects for the error
     * its inputs already carry. With {@code trueSequential} (the reference code's {@code --true-sequential})
     * the four linear layers of a block are quantized one after the other (c_attn; attn.c_proj; mlp.c_fc;
     * mlp.c_proj), each with inputs from the partly quantized block; without it, all four Hessians of a block
     * are collected in one pass over the calibration set before any of them is quantized. Each pass is a full
     * forward over the calibration windows (simple rather than fast: 4L or L passes of the whole model).
     * Embeddings (the tied head) and LayerNorms stay in fp32. The model's weights are replaced in place.
     *
     * @param model          the model (dropout must be off); its mode is restored afterwards
     * @param windows        calibration windows of token ids, all of one length T &lt;= the model's maxT
     *                       (see {@link #calibrationWindows})
     * @param options        GPTQ's options for every layer
     * @param trueSequential quantize the layers of a block one after the other (see above)
     * @return one report row per layer, in order
     */
    public static List<LayerReport> quantize(Gpt model, List<int[]> windows, Options options, boolean trueSequential) {
        return quantize(model, windows, options, trueSequential, null);
    }

    /**
     * As {@link #quantize(Gpt, List, Options, boolean)}, also putting each layer's codes and parameters into
     * {@code tensors} (by parameter name, in order; e.g. for packing), when it is not null.
     */
    public static List<LayerReport> quantize(Gpt model, List<int[]> windows, Options options, boolean trueSequential,
                                             Map<String, QuantizedTensor> tensors) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        int t = checkWindows(windows, model);
        if (model.dropoutProbability() > 0) {
            throw new IllegalArgumentException("model: dropout is on (p = " + model.dropoutProbability() + "); switch it off"
                    + " (setDropout(0, seed)) for calibration");
        }
        int layers = model.config().nLayer();
        String[] kinds = {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"};
        List<LayerReport> report = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.train();                                            // keeps every layer's activations
        try {
            for (int l = 0; l < layers; l++) {
                List<List<String>> stages = new ArrayList<>();
                if (trueSequential) {
                    for (String k : kinds) stages.add(List.of("h." + l + "." + k));
                } else {
                    List<String> all = new ArrayList<>();
                    for (String k : kinds) all.add("h." + l + "." + k);
                    stages.add(all);
                }
                for (List<String> stage : stages) {
                    Map<String, GptqHessian> hs = new LinkedHashMap<>();
                    for (String name : stage) hs.put(name, new GptqHessian(model.parameters().get(name).dim(1)));
                    int maxB = model.maxBatch();
                    for (int first = 0; first < windows.size(); first += maxB) {
                        int b = Math.min(maxB, windows.size() - first);
                        int[] ids = new int[b * t];                                   // [b, T]
                        for (int i = 0; i < b; i++) System.arraycopy(windows.get(first + i), 0, ids, i * t, t);
                        model.forward(ids, null, b, t);
                        for (Map.Entry<String, GptqHessian> e : hs.entrySet()) e.getValue().add(model.linearInput(e.getKey()));
                    }
                    for (Map.Entry<String, GptqHessian> e : hs.entrySet()) {
                        report.add(quantizeParameter(model.parameters().get(e.getKey()), e.getKey(), e.getValue(), options,
                                tensors));
                    }
                }
            }
        } finally {
            if (!wasTraining) model.eval();
        }
        return report;
    }

    /** Quantizes one weight [out, in] in place with GPTQ and reports (weight errors, relative output error). */
    static LayerReport quantizeParameter(FloatTensor param, String name, GptqHessian hessian, Options options) {
        return quantizeParameter(param, name, hessian, options, null);
    }

    static LayerReport quantizeParameter(FloatTensor param, String name, GptqHessian hessian, Options options,
                                                 Map<String, QuantizedTensor> tensors) {
        long t0 = System.nanoTime();
        float[] w = param.toFloatArray();
        int rows = param.dim(0), cols = param.dim(1);
        double[] h = hessian.hessian();
        LayerResult r;
        try {
            r = quantizeLayer(w, rows, cols, h, options);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw e instanceof IllegalStateException ? new IllegalStateException(name + ": " + e.getMessage(), e)
                    : new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        float[] q = r.quantized().dequantize();
        param.copyFrom(q);
        if (tensors != null) tensors.put(name, r.quantized());
        double seconds = (System.nanoTime() - t0) / 1e9;
        double[] err = LayerReport.errors(w, q);
        return new LayerReport(name, rows, cols, options.name(), err[0], err[1], relativeOutputError(w, q, rows, cols, h), seconds);
    }

    /**
     * GPTQ's calibration set: {@code count} windows of {@code length} tokens at uniformly random offsets of
     * {@code tokens} (the reference code draws 128 windows of 2048 tokens from the training text, seed 0).
     *
     * @throws IllegalArgumentException when {@code tokens} is shorter than one window
     */
    public static List<int[]> calibrationWindows(int[] tokens, int count, int length, long seed) {
        if (tokens == null) throw new IllegalArgumentException("tokens: must not be null");
        if (count < 1) throw new IllegalArgumentException("count = " + count + ": the calibration set needs at least one window");
        if (length < 1) throw new IllegalArgumentException("length = " + length + " must be >= 1");
        if (tokens.length < length) {
            throw new IllegalArgumentException("tokens: the calibration text has " + tokens.length + " tokens, shorter than"
                    + " the window length " + length + "; use more text or a shorter context");
        }
        java.util.Random rnd = new java.util.Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int start = rnd.nextInt(tokens.length - length + 1);
            out.add(Arrays.copyOfRange(tokens, start, start + length));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------
    // evaluation

    /**
     * The relative layer-output error on the calibration inputs, from the (undamped) Hessian:
     * {@code tr(E H E^T) / tr(W H W^T)} with E = W - Q, which equals {@code ||X W^T - X Q^T||_F^2 / ||X W^T||_F^2}
     * for H = (2/n) X^T X. W and Q [rows, cols] row-major, H [cols, cols].
     */
    public static double relativeOutputError(float[] w, float[] q, int rows, int cols, double[] hessian) {
        double[] e = new double[rows * cols];
        double[] wd = new double[rows * cols];
        for (int i = 0; i < e.length; i++) {
            e[i] = (double) w[i] - q[i];
            wd[i] = w[i];
        }
        INDArray hn = Nd4j.create(hessian, new long[] {cols, cols}, 'c');
        return quadratic(e, rows, cols, hn) / quadratic(wd, rows, cols, hn);
    }

    /** tr(A H A^T) = sum over rows a of a^T H a, for A [rows, cols]. */
    private static double quadratic(double[] a, int rows, int cols, INDArray hn) {
        INDArray an = Nd4j.create(a, new long[] {rows, cols}, 'c');
        INDArray ah = Nd4j.create(DataType.DOUBLE, new long[] {rows, cols}, 'c');
        Nd4j.gemm(an, hn, ah, false, false, 1.0, 0.0);
        return ah.mul(an).sumNumber().doubleValue();
    }

    /**
     * Checks a calibration set for {@code model}: not empty, every window the same length in [1, maxT];
     * returns that length. Shared by the quantizers and pruners that run the model on calibration windows.
     */
    public static int checkWindows(List<int[]> windows, Gpt model) {
        if (windows == null || windows.isEmpty()) {
            throw new IllegalArgumentException("windows: the calibration set is empty; need at least one window of tokens");
        }
        for (int i = 0; i < windows.size(); i++) {
            if (windows.get(i) == null) throw new IllegalArgumentException("windows: window " + i + " is null");
        }
        int t = windows.get(0).length;
        if (t < 1) throw new IllegalArgumentException("windows: window 0 has no tokens; a window needs 1 or more");
        for (int i = 1; i < windows.size(); i++) {
            if (windows.get(i).length != t) {
                throw new IllegalArgumentException("windows: window " + i + " has " + windows.get(i).length + " tokens but window 0"
                        + " has " + t + "; every window needs the same length");
            }
        }
        if (t > model.maxSequenceLength()) {
            throw new IllegalArgumentException("windows: length " + t + " exceeds the model's maxT = " + model.maxSequenceLength());
        }
        return t;
    }

    /** The windows (each of length t) in consecutive batches of up to {@code batchSize}, each flattened [b*t]. */
    public static List<int[]> batches(List<int[]> windows, int batchSize, int t) {
        List<int[]> out = new ArrayList<>();
        for (int first = 0; first < windows.size(); first += batchSize) {
            int b = Math.min(batchSize, windows.size() - first);
            int[] batch = new int[b * t];
            for (int i = 0; i < b; i++) System.arraycopy(windows.get(first + i), 0, batch, i * t, t);
            out.add(batch);
        }
        return out;
    }
}
