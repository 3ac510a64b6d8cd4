package org.distillery.quant.packed;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A linear layer whose weight is packed ({@link PackedWeights}): {@code y = x W^T + b}, x [N, in],
 * W [out, in], b [out] or none, y [N, out] (the layout of {@link org.distillery.engine.kernels.LinearKernel}),
 * computed on the packed codes (below {@link #GEMM_FROM} rows) or on W dequantized into a shared scratch:
 *
 * <ul>
 *   <li>N below {@link #BATCHED_FROM} (decode, batch 1): a matrix-vector product per input row on the codes
 *   ({@link PackedKernels#matvec8}, {@link PackedKernels#matvec4}): per group, {@code scale * dot(x_g, codes)}
 *   accumulated in fp32 vectors, minus {@code scale * zero * sum(x_g)} for the formats with a zero. A layer made by
 *   {@link #withInt8Activations()} quantizes x to int8 here and sums in integer lanes instead ({@link Int4A8MatVec},
 *   {@link Int8A8MatVec}).</li>
 *   <li>N from {@link #BATCHED_FROM} (up to {@link #GEMM_FROM} on FloatTensors): W is dequantized four rows at a time into a small float tile
 *   ({@code 16 * in} bytes, cache-resident; the values are exact), which is multiplied with all N rows, so
 *   the unpacking is paid once per call instead of once per row.</li>
 *   <li>N at least {@link #GEMM_FROM}, through {@link #forward(FloatTensor, FloatTensor)} on rank-2 tensors (a
 *   model's prefill or evaluation batch): W is dequantized whole into the {@link Workspace}'s float buffer (one
 *   buffer for all the layers that share the workspace, sized by the largest: the scratch of one layer in
 *   float32, not a float copy of the model) and multiplied by the engine's {@link LinearKernel} (BLAS GEMM), the
 *   same call the float model makes, so the result equals the float layer's on the dequantized weight bit for
 *   bit. Dequantizing costs about one pass over W, small against 2 N out in flops from a few dozen rows.</li>
 * </ul>
 * Accuracy: all paths but the int8-activation ones differ from the dequantize-then-multiply product in double only by fp32 rounding of
 * the accumulation (a different summation order, and for the formats with a zero the subtraction of
 * {@code scale * zero * sum(x_g)}); the tests bound the error by {@code in * 2^-24 * sum_k |x_k| (|c_k| + |z|) |s|}
 * per output element (the standard bound for recursive summation, with room for the split).
 *
 * <p>Not thread-safe: the instance uses scratch buffers ({@link Workspace}, its own or one shared by layers
 * that run one after the other; grown on demand, so after the first call with the largest N the packed-code
 * paths allocate nothing, and the GEMM path only ND4J's small per-call wrapper objects).
 */
public final class QuantizedLinear {
    /** The batch size from which the dequantized-tile path is used. */
    public static final int BATCHED_FROM = 4;
    /** The batch size from which {@link #forward(FloatTensor, FloatTensor)} dequantizes W whole and uses GEMM. */
    public static final int GEMM_FROM = 16;
    private static final int TILE_ROWS = 4;

    private final PackedWeights w;
    private final FloatTensor bias;       // [out], or null
    private final boolean pairs;          // INT4/INT4_ASYM: x permuted to the nibble order
    private final Workspace ws;
    private final boolean a8;             // int8 activations below BATCHED_FROM rows: W4A8 or W8A8
    private final int[] a8Order;          // W4A8 (Int4A8MatVec): qx's chunk order, null for the identity
    private final short[] a8Codes;        // the codes in Int4A8MatVec's layout (W4A8 path), or null
    private final int a8Streams;          // the streams of that layout (Int4A8MatVec.STREAMS unless a benchmark chose)
    private final float[] a8Scales;       // groups below a chunk: the scales in Int4A8MatVec's order, or null
    private final float a8Static;         // W8A8 with a static activation scale (> 0), or 0 for dynamic scales

    /**
     * The scratch buffers of {@link #forward}, grown on demand: layers that run one after the other (the
     * layers of a model) can share one, so that the scratch is sized by the largest layer and batch once,
     * not once per layer. Not thread-safe.
     */
    public static final class Workspace {
        private float[] tile = new float[0];  // [TILE_ROWS, in]
        private float[] xs = new float[0];    // [N, in]   x copied from a FloatTensor
        private float[] xp = new float[0];    // [N, in]   x in nibble order (INT4 only)
        private float[] xsum = new float[0];  // [N, groups]
        private float[] ys = new float[0];    // [N, out]  y before it is copied to a FloatTensor
        private float[] row = new float[0];   // [in]      one dequantized row (GEMM path)
        private float[] rowNat = new float[0]; // [in]     the same in natural column order (INT4)
        private final float[] acc = new float[PackedKernels.ACC];       // the kernels' lane accumulators
        private short[] qx = new short[0];    // x quantized to int8: [in * 5/4] Int4A8MatVec's plane multipliers
                                              // (W4A8), or [in] in natural order (W8A8)
        private int[] qi = new int[0];        // [in]      the same in natural order, as ints
        private float[] sx = new float[0];    // [groups]  its scales
        private FloatTensor wflat;            // [max out * in] dequantized W (GEMM path), or null
        private FloatBuffer wflatBuffer;      // wflat as a FloatBuffer (bulk row copies)
        private final Map<Long, FloatTensor> views = new HashMap<>();   // [out, in] views of wflat by shape

        /** Bytes of scratch held now. */
        public long bytes() {
            return 4L * ((long) tile.length + xs.length + xp.length + xsum.length + ys.length + row.length + acc.length
                    + rowNat.length + sx.length + qi.length + (wflat == null ? 0 : wflat.size())) + 2L * qx.length;
        }

        /** wflat viewed as [out, in] (grown first if too small; the views of a smaller buffer are dropped). */
        private FloatTensor weight(int out, int in) {
            long need = (long) out * in;
            if (wflat == null || wflat.size() < need) {
                wflat = FloatTensor.zeros(Math.toIntExact(need));
                wflatBuffer = wflat.buffer().asFloatBuffer();
                views.clear();
            }
            Long key = ((long) out << 32) | in;
            FloatTensor v = views.get(key);
            if (v == null) {
                v = FloatTensor.wrap(Nd4j.create(wflat.nd().data(), new long[] {out, in}, new long[] {in, 1}, 0L, 'c'));
                views.put(key, v);
            }
            return v;
        }
    }

    /**
     * A layer with scratch buffers of its own.
     *
     * @param weight the packed weight W [out, in]
     * @param bias   b [out] (copied), or null for no bias
     */
    public QuantizedLinear(PackedWeights weight, float[] bias) {
        this(weight, bias, new Workspace());
    }

    /**
     * A layer that uses {@code workspace} for its scratch buffers (shared with other layers that never run at
     * the same time).
     *
     * @param weight    the packed weight W [out, in]
     * @param bias      b [out] (copied), or null for no bias
     * @param workspace the scratch buffers
     */
    public QuantizedLinear(PackedWeights weight, float[] bias, Workspace workspace) {
        this(weight, biasTensor(weight, bias), workspace, 0, 0f);
    }

    /**
     * int8Streams: 0 for float activations, else the W4A8 layout's streams ({@link Int4A8MatVec#layout}) for 4-bit
     * weights, {@link Int8A8MatVec#STREAMS} for 8-bit ones (W8A8 reads the codes in place); staticScale: W8A8's fixed
     * activation scale, or 0 for dynamic ones.
     */
    private QuantizedLinear(PackedWeights weight, FloatTensor bias, Workspace workspace, int int8Streams,
                            float staticScale) {
        org.distillery.util.JitSettings.warnIfTrapLimitLow();
        this.a8 = int8Streams > 0;
        boolean w4a8 = a8 && weight.format().bits() == 4;
        this.w = weight;
        this.ws = Objects.requireNonNull(workspace, "workspace");
        this.bias = bias;
        this.pairs = weight.format() == PackedFormat.INT4 || weight.format() == PackedFormat.INT4_ASYM;
        this.a8Order = w4a8 ? Int4A8MatVec.order(weight.format(), weight.group()) : null;
        this.a8Codes = w4a8 ? Int4A8MatVec.layout(weight, int8Streams) : null;
        this.a8Scales = w4a8 ? Int4A8MatVec.partScales(weight, int8Streams) : null;
        this.a8Streams = int8Streams;
        this.a8Static = staticScale;
    }

    /** The bias as a tensor (a copy), or null; checks it against the weight's rows. */
    private static FloatTensor biasTensor(PackedWeights weight, float[] bias) {
        Objects.requireNonNull(weight, "weight");
        if (bias == null) return null;
        if (bias.length != weight.out()) {
            throw new IllegalArgumentException("bias: length " + bias.length + " but W has out = " + weight.out()
                    + " rows");
        }
        return FloatTensor.zeros(bias.length).copyFrom(bias);
    }

    private static volatile boolean warmedUp;

    /**
     * Runs each W4A8 kernel case once (groups of a whole, a half and a quarter of a kernel step), then the W8A8 kernel,
     * on a small layer. This was the workaround of sessions 13-15: on JDK 17, C2 compiled the int8-activation kernels
     * into slow, allocating code when other vector code ran first (README, "JDK 17"). The cause, found in session 16,
     * was C2's per-method trap limit, which the launchers now raise ({@link org.distillery.util.JitSettings}); with it
     * the order does not matter, and this matters only in a JVM started without the setting. {@code Notebook.profile()}
     * calls this (the first call of every notebook), and so does {@code PackedBench --a8-first}. Once per JVM (later
     * calls return at once); a few milliseconds. Nothing is kept.
     */
    public static void warmUp() {
        if (warmedUp) return;
        warmedUp = true;
        java.util.Random rnd = new java.util.Random(3);
        int out = 8, in = 2 * Int4A8MatVec.C;
        float[] w = new float[out * in], x = new float[in], y = new float[out];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < in; i++) x[i] = (float) rnd.nextGaussian();
        for (int g : new int[] {Int4A8MatVec.C, Int4A8MatVec.C / 2, Int4A8MatVec.C / 4}) {
            PackedWeights pw = PackedWeights.quantize(w, out, in, PackedFormat.INT4, g);
            if (supportsInt8Activations(pw)) new QuantizedLinear(pw, null).withInt8Activations().forward(x, 1, y);
        }
        PackedWeights w8 = PackedWeights.quantize(w, out, in, PackedFormat.INT8, in);                 // W8A8
        if (supportsInt8Activations(w8)) new QuantizedLinear(w8, null).withInt8Activations().forward(x, 1, y);
    }

    /** What {@link #supportsInt8Activations} asks of a weight, for error messages: one of the two kernels' needs. */
    static final String INT8_ACTIVATION_REQUIREMENT = Int4A8MatVec.REQUIREMENT + ", or " + Int8A8MatVec.REQUIREMENT;

    /**
     * Whether {@link #withInt8Activations()} applies to {@code w}: a 4-bit format whose groups are whole
     * multiples, halves or quarters of the W4A8 kernel's step of {@code 4 * 16-bit lanes} columns (128 with 512-bit
     * vectors, 64 with 256-bit ones), in rows of whole steps; or an 8-bit format whose groups are multiples of the
     * W8A8 kernel's step of {@code 2 * 16-bit lanes} columns (64 with 512-bit vectors, 32 with 256-bit ones: every
     * per-channel INT8 weight of such a width, not Q8_0's groups of 32 with 512-bit vectors).
     */
    public static boolean supportsInt8Activations(PackedWeights w) {
        return Int4A8MatVec.supports(w) || Int8A8MatVec.supports(w);
    }

    /**
     * This layer (same weight, bias and workspace) with integer matrix-vector products: below {@link #BATCHED_FROM}
     * rows, x is quantized to int8 per group and the products are summed in integer lanes, as llama.cpp does with its
     * Q8 activations: faster, and no longer exact. Batched products are unchanged.
     * <ul>
     *   <li>4-bit weights, W4A8 ({@link Int4A8MatVec}, where the error is bounded): the layer keeps a copy of the codes
     *   in the kernel's layout ({@link Int4A8MatVec#layout}), half a byte per weight more memory; for groups below a
     *   kernel step also of the scales ({@link Int4A8MatVec#partScales}); {@link #int8ActivationCopyBytes()} counts
     *   both.</li>
     *   <li>8-bit weights, W8A8 ({@link Int8A8MatVec}, where the error is bounded): the codes are read in place, no
     *   copy. With one group per row (per-channel INT8), x is quantized per token, as in SmoothQuant's W8A8.</li>
     * </ul>
     *
     * @throws IllegalArgumentException when {@link #supportsInt8Activations} is false for the weight
     */
    public QuantizedLinear withInt8Activations() {
        return withInt8Activations(w.format().bits() == 8 ? Int8A8MatVec.STREAMS : Int4A8MatVec.STREAMS);
    }

    /**
     * As {@link #withInt8Activations()}, with a 4-bit kernel's rows read from {@code streams} sequential streams (1, 2,
     * 4 or 8; {@link Int4A8MatVec#layout}): for tests and {@code PackedBench}, which compare the layouts. The W8A8
     * kernel has one layout, the codes in place, read as {@link Int8A8MatVec#STREAMS} streams: only that count.
     */
    QuantizedLinear withInt8Activations(int streams) {
        if (!supportsInt8Activations(w)) {
            throw new IllegalArgumentException("int8 activations: need " + INT8_ACTIVATION_REQUIREMENT + "; got " + w);
        }
        if (w.format().bits() == 8 && streams != Int8A8MatVec.STREAMS) {
            throw new IllegalArgumentException("streams = " + streams + ": the W8A8 kernel reads the codes in place as "
                    + Int8A8MatVec.STREAMS + " streams; accepted " + Int8A8MatVec.STREAMS);
        }
        if (w.format().bits() == 4) Int4A8MatVec.perStream(streams);   // other counts refused: 0 means float activations
        return new QuantizedLinear(w, bias, ws, streams, 0f);
    }

    /**
     * This layer with W8A8 products whose activations are quantized with one static scale instead of per group at
     * run time: {@code q = round(clamp(x / scale, -127, 127))} (values beyond 127 scales clipped), as SmoothQuant's
     * per-tensor static quantization with a scale calibrated beforehand ({@code ActivationQuantizer.scale(max|X|, 8)}).
     * Otherwise as {@link #withInt8Activations()}.
     *
     * @param scale the activation scale, finite and &gt; 0
     * @throws IllegalArgumentException when the weight is not one the W8A8 kernel takes ({@link Int8A8MatVec#REQUIREMENT})
     *                                  or the scale is not finite and positive
     */
    public QuantizedLinear withInt8Activations(float scale) {
        if (!Int8A8MatVec.supports(w)) {
            throw new IllegalArgumentException("int8 activations with a static scale: need " + Int8A8MatVec.REQUIREMENT
                    + "; got " + w);
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("scale = " + scale + ": a static activation scale must be finite and > 0");
        }
        return new QuantizedLinear(w, bias, ws, Int8A8MatVec.STREAMS, scale);
    }

    /** The static activation scale of {@link #withInt8Activations(float)}, or 0 (dynamic scales, or float activations). */
    public float staticActivationScale() { return a8Static; }

    /** Whether matrix-vector products quantize x to int8 ({@link #withInt8Activations()}). */
    public boolean int8Activations() { return a8; }

    /** The scratch buffers this layer uses. */
    public Workspace workspace() { return ws; }

    /** Bytes of the copies in the W4A8 kernel's layout ({@link #withInt8Activations()}: codes, scales), else 0 (W8A8 keeps none). */
    public long int8ActivationCopyBytes() {
        return (a8Codes == null ? 0 : 2L * a8Codes.length) + (a8Scales == null ? 0 : 4L * a8Scales.length);
    }

    /** Bytes of the bias held (4 per output, 0 without a bias). */
    public long biasBytes() { return bias == null ? 0 : 4L * bias.size(); }

    public PackedWeights weight() { return w; }

    /** A copy of the bias, or null. */
    public float[] bias() { return bias == null ? null : bias.toFloatArray(); }

    public int in() { return w.in(); }

    public int out() { return w.out(); }

    /**
     * y = x W^T + b on FloatTensors (read as matrices: rows = product of leading dimensions); from
     * {@link #GEMM_FROM} rows of rank-2 tensors, by GEMM on W dequantized into the workspace.
     *
     * @param x input [N, in]
     * @param y output [N, out] (overwritten)
     */
    public void forward(FloatTensor x, FloatTensor y) {
        if (x == null || y == null) throw new IllegalArgumentException((x == null ? "x" : "y") + ": must not be null");
        int in = w.in(), out = w.out(), n = x.rows();
        if (x.cols() != in) {
            throw new IllegalArgumentException("x: shape " + x.shapeString() + " needs " + in
                    + " columns to match W [" + out + ", " + in + "]");
        }
        if (y.cols() != out || y.rows() != n) {
            throw new IllegalArgumentException("y: expected shape [" + n + ", " + out + "] but got " + y.shapeString());
        }
        if (n >= GEMM_FROM && x.rank() == 2 && y.rank() == 2) {
            LinearKernel.forward(x, dequantizeInto(ws.weight(out, in)), bias, y);   // y [N, out] = x W^T + b
            return;
        }
        if (ws.xs.length < n * in) ws.xs = new float[n * in];
        if (ws.ys.length < n * out) ws.ys = new float[n * out];
        float[] xs = ws.xs, ys = ws.ys;
        var xb = x.buffer();
        for (int i = 0; i < n * in; i++) xs[i] = xb.getFloat(i * Float.BYTES);
        forward(xs, n, ys);
        var yb = y.buffer();
        for (int i = 0; i < n * out; i++) yb.putFloat(i * Float.BYTES, ys[i]);
    }

    /** Writes W dequantized (exact in float) into {@code wt} [out, in], a view of the workspace's buffer; returns it. */
    private FloatTensor dequantizeInto(FloatTensor wt) {
        int in = w.in(), out = w.out();
        if (ws.row.length < in) {
            ws.row = new float[in];
            ws.rowNat = new float[in];
        }
        float[] row = ws.row, nat = ws.rowNat;
        FloatBuffer fb = ws.wflatBuffer;
        for (int o = 0; o < out; o++) {
            PackedKernels.dequantizeRow(w, o, row, 0);                     // INT4: in nibble (pair-permuted) order
            if (pairs) PackedKernels.unpermutePairs(row, 0, in, w.group(), nat, 0);
            fb.put(o * in, pairs ? nat : row, 0, in);
        }
        return wt;
    }

    /**
     * y = x W^T + b on heap arrays.
     *
     * @param x input [n, in], row-major (at least n * in long)
     * @param n rows of x, >= 1
     * @param y output [n, out] (at least n * out long; overwritten)
     */
    public void forward(float[] x, int n, float[] y) {
        int in = w.in(), out = w.out(), groups = w.groups();
        if (n < 1) throw new IllegalArgumentException("n = " + n + ": need at least one row");
        if (x == null || x.length < n * in) {
            throw new IllegalArgumentException("x: need [" + n + ", " + in + "] = " + n * in + " floats, got "
                    + (x == null ? "null" : x.length));
        }
        if (y == null || y.length < n * out) {
            throw new IllegalArgumentException("y: need [" + n + ", " + out + "] = " + n * out + " floats, got "
                    + (y == null ? "null" : y.length));
        }
        if (a8 && n < BATCHED_FROM && w.format().bits() == 8) {
            if (ws.qx.length < in) ws.qx = new short[in];
            if (ws.qi.length < in) ws.qi = new int[in];
            if (ws.sx.length < groups) ws.sx = new float[groups];
            if (ws.xsum.length < groups) ws.xsum = new float[groups];
            for (int r = 0; r < n; r++) {
                Int8A8MatVec.quantize(x, r * in, in, w.group(), ws.qi, ws.qx, ws.sx, ws.xsum, a8Static);
                Int8A8MatVec.matvec(w.q, w.scales, w.offsets, out, in, w.group(), ws.qx, ws.sx, ws.xsum, y, r * out);
            }
            addBias(y, n);
            return;
        }
        if (a8 && n < BATCHED_FROM) {
            if (ws.qx.length < Int4A8MatVec.qxLength(in)) ws.qx = new short[Int4A8MatVec.qxLength(in)];
            if (ws.qi.length < in) ws.qi = new int[in];
            if (ws.sx.length < groups + PackedKernels.LANES) ws.sx = new float[groups + PackedKernels.LANES];  // + a vector
            if (ws.xsum.length < groups) ws.xsum = new float[groups];
            for (int r = 0; r < n; r++) {
                Int4A8MatVec.quantize(x, r * in, in, w.group(), a8Order, Int4A8MatVec.zero(w.format()), ws.qi, ws.qx,
                        ws.sx, ws.xsum);
                Int4A8MatVec.matvec(a8Codes, a8Streams, w.format(), w.scales, a8Scales, w.offsets, out, in, w.group(),
                        ws.qx, ws.sx, ws.xsum, y, r * out);
            }
            addBias(y, n);
            return;
        }
        float[] xk = x;
        if (pairs) {
            if (ws.xp.length < n * in) ws.xp = new float[n * in];
            float[] xp = ws.xp;
            for (int r = 0; r < n; r++) PackedKernels.permutePairs(x, r * in, in, w.group(), xp, r * in);
            xk = xp;
        }
        if (n < BATCHED_FROM) {
            boolean sums = w.offsets != null;
            if (sums && ws.xsum.length < n * groups) ws.xsum = new float[n * groups];
            float[] xsum = ws.xsum;
            for (int r = 0; r < n; r++) {
                if (sums) PackedKernels.groupSums(x, r * in, in, w.group(), xsum, r * groups);
                if (w.format().bits() == 8) {
                    PackedKernels.matvec8(w.q, w.scales, w.offsets, in, w.group(), x, r * in, xsum, r * groups,
                            y, r * out, 0, out, ws.acc);
                } else {
                    PackedKernels.matvec4(w.q, w.scales, w.offsets, in, w.group(), w.format() == PackedFormat.Q4_0,
                            x, xk, r * in, xsum, r * groups, y, r * out, 0, out, ws.acc);
                }
            }
        } else {
            if (ws.tile.length < TILE_ROWS * in) ws.tile = new float[TILE_ROWS * in];
            float[] tile = ws.tile;
            for (int o = 0; o < out; o += TILE_ROWS) {
                int rows = Math.min(TILE_ROWS, out - o);
                for (int t = 0; t < rows; t++) PackedKernels.dequantizeRow(w, o + t, tile, t * in);
                for (int r = 0; r < n; r++) PackedKernels.tileDot(tile, rows, in, xk, r * in, y, r * out + o);
            }
        }
        addBias(y, n);
    }

    /** y[r, o] += b[o] for the n rows of y [n, out]. */
    private void addBias(float[] y, int n) {
        if (bias == null) return;
        int out = w.out();
        for (int o = 0; o < out; o++) {
            float b = bias.get(o);
            for (int r = 0; r < n; r++) y[r * out + o] += b;
        }
    }

    /**
     * The double-precision reference: W dequantized exactly ({@link PackedWeights#dequantize()}), then
     * y [n, out] = x [n, in] W^T + b in double.
     */
    public static double[] forwardReference(PackedWeights w, float[] bias, double[] x, int n) {
        int in = w.in(), out = w.out();
        double[] wd = w.dequantize();
        double[] y = new double[n * out];
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int k = 0; k < in; k++) s += x[r * in + k] * wd[o * in + k];
                y[r * out + o] = s;
            }
        }
        return y;
    }

    @Override
    public String toString() {
        return "QuantizedLinear[" + w + (bias == null ? ", no bias" : ", bias") + (a8 ? ", int8 activations" : "")
                + "]";
    }
}
