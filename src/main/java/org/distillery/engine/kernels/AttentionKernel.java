package org.distillery.engine.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Multi-head scaled dot-product attention (Vaswani et al. 2017, eq. 1) over the fused GPT-2
 * {@code c_attn} output, per sequence b and head h, with hd = C / nh:
 * <pre>
 *   S = Q K^T / sqrt(hd)                       [T, T]
 *   P = softmax(S + mask) row-wise             masked entries are exactly 0
 *   Y = P V                                    [T, hd]
 * backward:
 *   dP = dY V^T,  dV = P^T dY,  dS = P * (dP - rowsum(P * dP)),  dQ = dS K / sqrt(hd),  dK = dS^T Q / sqrt(hd)
 * </pre>
 * <p>Attention-probability dropout (HF GPT-2 {@code attn_pdrop}, BERT {@code attention_probs_dropout_prob}), off
 * unless a forward is given p &gt; 0: with M = the {@link DropoutKernel} mask of (p, seed) over the flat index of
 * P [B, nh, T, T] (the same function of (seed, index) as DropoutKernel, so the mask needs no storage),
 * <pre>
 *   Pd = M * P / (1 - p),  Y = Pd V
 * backward:
 *   dPd = dY V^T,  dV = Pd^T dY,  dP = M * dPd / (1 - p),  then dS from the undropped P as above
 * </pre>
 * Backward uses the p and seed of the last forward. With p = 0 (the default) the code paths are exactly
 * those without dropout: nothing extra is computed or allocated.
 *
 * <p>Mask: key j is visible from query i iff j &lt; len_b (padding mask; sequences are right-padded to T
 * and len_b is the number of real tokens of sequence b) and, when causal, j &lt;= i. Every query row
 * sees at least key 0, so padded query rows are well defined; the loss should ignore them.
 *
 * <p>Layout: {@code qkv} is [B*T, 3C] with columns [Q | K | V], each C wide and split into nh heads of
 * hd columns (head h at columns h*hd .. h*hd+hd-1); the output is [B*T, C] with the heads merged in the
 * same column order.
 *
 * <p>Two implementations, same results to fp32 rounding (both checked against the double twin):
 * <ul>
 *   <li>GEMM path (default; {@link #forwardGemm}, {@link #backwardGemm}): one Java pass splits qkv into
 *       contiguous Q, K, V [B*nh, T, hd]; S = Q K^T, Y = P V and the four backward products are each one
 *       batched rank-3 {@code Nd4j.matmul(a, b, out, transA, transB, false)} into preallocated outputs over
 *       all (b, h) at once; the masked softmax and its backward stay Java row loops; the heads are merged
 *       back with one pass. It computes the masked (causal) half of S too, but on the GPT benchmark
 *       (B=32, T=128, C=128, nh=4) a training step ran 1.8-2x faster than with the loops (same process
 *       conditions, busy 2-core machine). Each matmul call allocates ND4J's wrapper objects (about 4 KB).</li>
 *   <li>Loop path ({@link #forwardLoops}, {@link #backwardLoops}; {@code -Ddistillery.attention=loops} or
 *       the constructor flag): Java vector dot/axpy per (b, h, i, j) straight on qkv, no copies, skips
 *       masked work, allocates nothing after warm-up (AllocationFreeTest).</li>
 * </ul>
 * Forward keeps the probabilities P [B, nh, T, T] in this object for backward.
 *
 * <p>One instance per attention layer and batch shape; it owns P, a [T] scratch row and (GEMM path) the
 * per-head buffers Q, K, V, Y/dY, dQ/dK/dV [B*nh, T, hd] and dP [B*nh, T, T]; the GEMM path also owns the
 * dropped probabilities Pd [B*nh, T, T], allocated at the first forward with p &gt; 0 (the loop path
 * recomputes the mask per element and needs no buffer). It is not thread-safe.
 */
public final class AttentionKernel {
    private final int b, t, c, nh, hd;
    private final boolean causal;
    private final float scale;
    private final FloatTensor probs;      // P: [B, nh, T, T]
    private final FloatTensor scratch;    // dP / dS row: [T]
    private final int[] lengths;          // [B], copied from the last forward
    private FloatTensor probsGrad;        // d(outside loss) / dP for the next backward, [B, nh, T, T], or null
    // GEMM path: heads split out of qkv into contiguous [B*nh, T, hd] buffers, batched Nd4j.matmul over all (b, h)
    private final boolean gemm;
    private final FloatTensor q, k, v;    // Q, K, V per head: [B*nh, T, hd] (kept from forward for backward)
    private final FloatTensor hy;         // Y per head (forward), dY per head (backward): [B*nh, T, hd]
    private final FloatTensor dh;         // dV, dQ, dK per head in turn (backward): [B*nh, T, hd]
    private final FloatTensor dp;         // dP, then dS / sqrt(hd): [B*nh, T, T]
    private final INDArray probs3;        // P viewed as [B*nh, T, T] (same memory)
    // attention-probability dropout of the last forward (p = 0: none)
    private double dropP;
    private long dropSeed;
    private FloatTensor dropped;          // GEMM path: Pd = M * P / (1 - p), [B*nh, T, T]; null until a forward with p > 0

    /**
     * Whether new instances use the batched-GEMM path (default) or the per-(b, h) Java vector loops
     * ({@code -Ddistillery.attention=loops}); read once.
     */
    public static final boolean GEMM_DEFAULT = !"loops".equals(System.getProperty("distillery.attention", "gemm"));

    /**
     * @param b      batch size B
     * @param t      sequence length T
     * @param c      model width C (qkv has 3C columns)
     * @param nHead  number of heads nh; must divide C
     * @param causal whether query i may only see keys j &lt;= i
     */
    public AttentionKernel(int b, int t, int c, int nHead, boolean causal) {
        this(b, t, c, nHead, causal, GEMM_DEFAULT);
    }

    /**
     * @param gemm true: batched-GEMM path; false: the per-(b, h) Java vector loops ({@link #forwardLoops},
     *             {@link #backwardLoops}), the reference implementation kept for comparison
     */
    public AttentionKernel(int b, int t, int c, int nHead, boolean causal, boolean gemm) {
        Check.positive("b", b);
        Check.positive("t", t);
        Check.positive("c", c);
        Check.positive("nHead", nHead);
        if (c % nHead != 0) {
            throw new IllegalArgumentException("nHead: " + nHead + " does not divide the model width c = " + c);
        }
        this.b = b;
        this.t = t;
        this.c = c;
        this.nh = nHead;
        this.hd = c / nHead;
        this.causal = causal;
        this.scale = (float) (1.0 / Math.sqrt(hd));
        this.probs = FloatTensor.zeros(b, nHead, t, t);
        this.scratch = FloatTensor.zeros(t);
        this.lengths = new int[b];
        this.gemm = gemm;
        int n = b * nHead;
        if (gemm) {
            this.q = FloatTensor.zeros(n, t, hd);
            this.k = FloatTensor.zeros(n, t, hd);
            this.v = FloatTensor.zeros(n, t, hd);
            this.hy = FloatTensor.zeros(n, t, hd);
            this.dh = FloatTensor.zeros(n, t, hd);
            this.dp = FloatTensor.zeros(n, t, t);
            this.probs3 = probs.nd().reshape('c', n, t, t);
            if (probs3.data().address() != probs.nd().data().address() || probs3.offset() != probs.nd().offset()) {
                throw new IllegalStateException("reshape of P copied its memory");
            }
        } else {
            this.q = this.k = this.v = this.hy = this.dh = this.dp = null;
            this.probs3 = null;
        }
    }

    /** Whether this instance runs the batched-GEMM path. */
    public boolean usesGemm() { return gemm; }

    /** The attention probabilities of the last forward, [B, nh, T, T] (read-only use), before dropout. */
    public FloatTensor probabilities() { return probs; }

    /** The attention-probability dropout p of the last forward (0: none). */
    public double dropout() { return dropP; }

    /**
     * Forward.
     *
     * @param qkv     fused projections, [B*T, 3C]
     * @param seqLens real (unpadded) length of each sequence, [B], each in [1, T]; null means all T
     * @param y       attention output with heads merged, [B*T, C] (overwritten)
     */
    public void forward(FloatTensor qkv, int[] seqLens, FloatTensor y) {
        forward(qkv, seqLens, y, 0.0, 0L);
    }

    /**
     * Forward with dropout on the attention probabilities (see the class comment); {@link #backward} uses the
     * same p and seed.
     *
     * @param qkv     fused projections, [B*T, 3C]
     * @param seqLens real (unpadded) length of each sequence, [B], each in [1, T]; null means all T
     * @param y       attention output with heads merged, [B*T, C] (overwritten)
     * @param dropout drop probability p of each attention probability, in [0, 1); 0 means no dropout
     * @param seed    mask seed (derive a fresh one per step and per layer, as for {@link DropoutKernel})
     */
    public void forward(FloatTensor qkv, int[] seqLens, FloatTensor y, double dropout, long seed) {
        if (gemm) forwardGemm(qkv, seqLens, y, dropout, seed);
        else forwardLoops(qkv, seqLens, y, dropout, seed);
    }

    /**
     * Forward with batched GEMMs over all (b, h): split qkv into Q, K, V [B*nh, T, hd]; P = Q K^T (one
     * {@code Nd4j.matmul} into P); masked scaled softmax per row in Java; Y = P V (one matmul); merge the heads
     * into y. Masked entries of P are exactly 0, so the full-width P V equals the masked sum.
     */
    public void forwardGemm(FloatTensor qkv, int[] seqLens, FloatTensor y) {
        forwardGemm(qkv, seqLens, y, 0.0, 0L);
    }

    /**
     * {@link #forwardGemm(FloatTensor, int[], FloatTensor)} with attention-probability dropout: after the
     * softmax, Pd = {@link DropoutKernel#forward} of P (into a buffer of its own, allocated at the first call
     * with p &gt; 0), and Y = Pd V.
     */
    public void forwardGemm(FloatTensor qkv, int[] seqLens, FloatTensor y, double dropout, long seed) {
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("y", y, b * t, c);
        requireGemm();
        setDropout(dropout, seed);
        copyLengths(seqLens);
        split(qkv, 3 * c, 0, q);
        split(qkv, 3 * c, c, k);
        split(qkv, 3 * c, 2 * c, v);
        Nd4j.matmul(q.nd(), k.nd(), probs3, false, true, false);       // S [n, T, T] = Q K^T (unscaled)
        FloatTensor P = probs;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int p = ((bb * nh + h) * t + i) * t;
                    SoftmaxKernel.softmaxRow(P, p, P, p, visibleKeys(i, len), t, scale);
                }
            }
        }
        INDArray pv = probs3;
        if (dropP > 0) {
            if (dropped == null) dropped = FloatTensor.zeros(b * nh, t, t);
            DropoutKernel.forward(probs, dropped, dropP, dropSeed);    // Pd = M * P / (1 - p)
            pv = dropped.nd();
        }
        Nd4j.matmul(pv, v.nd(), hy.nd(), false, false, false);        // Y [n, T, hd] = P V (Pd V)
        merge(hy, y, c, 0);
    }

    /** Forward with per-(b, h, i) Java vector loops straight on qkv (the reference path). */
    public void forwardLoops(FloatTensor qkv, int[] seqLens, FloatTensor y) {
        forwardLoops(qkv, seqLens, y, 0.0, 0L);
    }

    /**
     * {@link #forwardLoops(FloatTensor, int[], FloatTensor)} with attention-probability dropout: each kept
     * P_ij enters y_i as P_ij / (1 - p) (the scaled value DropoutKernel computes), each dropped one not at
     * all; the mask is recomputed per element ({@link DropoutKernel#keep}), nothing is stored.
     */
    public void forwardLoops(FloatTensor qkv, int[] seqLens, FloatTensor y, double dropout, long seed) {
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("y", y, b * t, c);
        setDropout(dropout, seed);
        copyLengths(seqLens);
        if (dropP > 0) {
            forwardLoopsDropout(qkv, y);
            return;
        }
        FloatTensor QKV = qkv, Y = y, P = probs;
        int rs = 3 * c;                                             // row stride of qkv
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int q = (bb * t + i) * rs + h * hd;             // q_i: [hd]
                    int p = ((bb * nh + h) * t + i) * t;            // P[b, h, i, :]: [T]
                    int kv = visibleKeys(i, len);
                    for (int j = 0; j < kv; j++) {
                        int k = (bb * t + j) * rs + c + h * hd;     // k_j: [hd]
                        VectorOps.put(P, p + j, VectorOps.dot(QKV, q, QKV, k, hd));
                    }
                    SoftmaxKernel.softmaxRow(P, p, P, p, kv, t, scale);
                    int yo = (bb * t + i) * c + h * hd;             // y_i: [hd]
                    VectorOps.fill(Y, yo, hd, 0f);
                    for (int j = 0; j < kv; j++) {
                        int v = (bb * t + j) * rs + 2 * c + h * hd; // v_j: [hd]
                        VectorOps.axpy(VectorOps.get(P, p + j), QKV, v, Y, yo, hd);
                    }
                }
            }
        }
    }

    /** The loop forward with dropout (p = dropP &gt; 0, seed = dropSeed); lengths already copied. */
    private void forwardLoopsDropout(FloatTensor qkv, FloatTensor y) {
        FloatTensor QKV = qkv, Y = y, P = probs;
        double pd = dropP;
        long seed = dropSeed;
        float inv = dropScale();
        int rs = 3 * c;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int q = (bb * t + i) * rs + h * hd;
                    int p = ((bb * nh + h) * t + i) * t;
                    int kv = visibleKeys(i, len);
                    for (int j = 0; j < kv; j++) {
                        int k = (bb * t + j) * rs + c + h * hd;
                        VectorOps.put(P, p + j, VectorOps.dot(QKV, q, QKV, k, hd));
                    }
                    SoftmaxKernel.softmaxRow(P, p, P, p, kv, t, scale);
                    int yo = (bb * t + i) * c + h * hd;
                    VectorOps.fill(Y, yo, hd, 0f);
                    for (int j = 0; j < kv; j++) {
                        if (!DropoutKernel.keep(seed, p + j, pd)) continue;
                        int v = (bb * t + j) * rs + 2 * c + h * hd;
                        VectorOps.axpy(VectorOps.get(P, p + j) * inv, QKV, v, Y, yo, hd);
                    }
                }
            }
        }
    }

    /**
     * Backward, using P saved by the last {@link #forward} (call it with the same qkv).
     *
     * @param dy   upstream gradient, [B*T, C]
     * @param qkv  forward input, [B*T, 3C]
     * @param dqkv gradient of qkv, [B*T, 3C] (overwritten)
     */
    public void backward(FloatTensor dy, FloatTensor qkv, FloatTensor dqkv) {
        if (gemm) backwardGemm(dy, qkv, dqkv);
        else backwardLoops(dy, qkv, dqkv);
    }

    /**
     * Backward with batched GEMMs, using P, Q, K, V saved by the last {@link #forwardGemm} (qkv is only
     * checked): dV = P^T dY, dP = dY V^T, dS = softmax backward per row (scaled by 1/sqrt(hd), zero where
     * masked), dQ = dS K, dK = dS^T Q; each written into its columns of dqkv.
     */
    public void backwardGemm(FloatTensor dy, FloatTensor qkv, FloatTensor dqkv) {
        Check.rowsCols("dy", dy, b * t, c);
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("dqkv", dqkv, b * t, 3 * c);
        requireGemm();
        boolean drop = dropP > 0;
        split(dy, c, 0, hy);                                            // dY per head
        Nd4j.matmul(drop ? dropped.nd() : probs3, hy.nd(), dh.nd(), true, false, false);  // dV = P^T dY (Pd^T dY)
        merge(dh, dqkv, 3 * c, 2 * c);
        Nd4j.matmul(hy.nd(), v.nd(), dp.nd(), false, true, false);      // dP = dY V^T (dPd)
        if (drop) DropoutKernel.backward(dp, dp, dropP, dropSeed);      // dP = M * dPd / (1 - p)
        FloatTensor extra = takeProbabilityGradient();
        if (extra != null) AddKernels.accumulate(dp, extra);              // + d(outside loss) / dP
        FloatTensor P = probs, D = dp;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int p = ((bb * nh + h) * t + i) * t;
                    int kv = visibleKeys(i, len);
                    SoftmaxKernel.softmaxBackwardRow(P, p, D, p, D, p, kv, scale);   // dS / sqrt(hd)
                    if (kv < t) VectorOps.fill(D, p + kv, t - kv, 0f);
                }
            }
        }
        Nd4j.matmul(dp.nd(), k.nd(), dh.nd(), false, false, false);     // dQ = dS K / sqrt(hd)
        merge(dh, dqkv, 3 * c, 0);
        Nd4j.matmul(dp.nd(), q.nd(), dh.nd(), true, false, false);      // dK = dS^T Q / sqrt(hd)
        merge(dh, dqkv, 3 * c, c);
    }

    /** Backward with per-(b, h, i) Java vector loops (the reference path), using P from the last forward. */
    public void backwardLoops(FloatTensor dy, FloatTensor qkv, FloatTensor dqkv) {
        Check.rowsCols("dy", dy, b * t, c);
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("dqkv", dqkv, b * t, 3 * c);
        FloatTensor extra = takeProbabilityGradient();
        if (dropP > 0) {
            backwardLoopsDropout(dy, qkv, dqkv, extra);
            return;
        }
        FloatTensor DY = dy, QKV = qkv, DQKV = dqkv, P = probs, D = scratch;
        VectorOps.fill(DQKV, 0, dqkv.size(), 0f);
        int rs = 3 * c;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int q = (bb * t + i) * rs + h * hd;
                    int p = ((bb * nh + h) * t + i) * t;
                    int dyo = (bb * t + i) * c + h * hd;
                    int kv = visibleKeys(i, len);
                    for (int j = 0; j < kv; j++) {
                        int v = (bb * t + j) * rs + 2 * c + h * hd;
                        VectorOps.put(D, j, VectorOps.dot(DY, dyo, QKV, v, hd));         // dP_ij = dy_i . v_j
                        VectorOps.axpy(VectorOps.get(P, p + j), DY, dyo, DQKV, v, hd);  // dv_j += P_ij dy_i
                    }
                    if (extra != null) VectorOps.add(D, 0, extra, p, D, 0, kv);         // + d(outside loss) / dP
                    SoftmaxKernel.softmaxBackwardRow(P, p, D, 0, D, 0, kv, scale);      // D := dS_ij / sqrt(hd)
                    for (int j = 0; j < kv; j++) {
                        int k = (bb * t + j) * rs + c + h * hd;
                        float ds = VectorOps.get(D, j);
                        VectorOps.axpy(ds, QKV, k, DQKV, q, hd);                         // dq_i += dS_ij k_j
                        VectorOps.axpy(ds, QKV, q, DQKV, k, hd);                         // dk_j += dS_ij q_i
                    }
                }
            }
        }
    }

    /** The loop backward with dropout (p = dropP &gt; 0, seed = dropSeed of the last forward). */
    private void backwardLoopsDropout(FloatTensor dy, FloatTensor qkv, FloatTensor dqkv, FloatTensor extra) {
        FloatTensor DY = dy, QKV = qkv, DQKV = dqkv, P = probs, D = scratch;
        double pd = dropP;
        long seed = dropSeed;
        float inv = dropScale();
        VectorOps.fill(DQKV, 0, dqkv.size(), 0f);
        int rs = 3 * c;
        for (int bb = 0; bb < b; bb++) {
            int len = lengths[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int q = (bb * t + i) * rs + h * hd;
                    int p = ((bb * nh + h) * t + i) * t;
                    int dyo = (bb * t + i) * c + h * hd;
                    int kv = visibleKeys(i, len);
                    for (int j = 0; j < kv; j++) {
                        if (!DropoutKernel.keep(seed, p + j, pd)) {
                            VectorOps.put(D, j, 0f);                                      // dropped: dP_ij = 0
                            continue;
                        }
                        int v = (bb * t + j) * rs + 2 * c + h * hd;
                        VectorOps.put(D, j, VectorOps.dot(DY, dyo, QKV, v, hd) * inv);  // dP_ij = dy_i . v_j / (1 - p)
                        VectorOps.axpy(VectorOps.get(P, p + j) * inv, DY, dyo, DQKV, v, hd);  // dv_j += Pd_ij dy_i
                    }
                    if (extra != null) VectorOps.add(D, 0, extra, p, D, 0, kv);         // + d(outside loss) / dP
                    SoftmaxKernel.softmaxBackwardRow(P, p, D, 0, D, 0, kv, scale);      // undropped P
                    for (int j = 0; j < kv; j++) {
                        int k = (bb * t + j) * rs + c + h * hd;
                        float ds = VectorOps.get(D, j);
                        VectorOps.axpy(ds, QKV, k, DQKV, q, hd);
                        VectorOps.axpy(ds, QKV, q, DQKV, k, hd);
                    }
                }
            }
        }
    }

    /**
     * Adds the gradient of a loss computed outside on this layer's probabilities (e.g. attention-map
     * distillation on {@link #probabilities()}, the undropped P) to the next {@link #backward}: dP += g
     * before the softmax backward. Used by that one backward, then forgotten. Entries at masked
     * positions have no effect (P is exactly 0 there).
     *
     * @param g d loss / d P, [B, nh, T, T] (any shape of that many elements); read during the backward
     */
    public void addProbabilityGradient(FloatTensor g) {
        if (g == null || g.size() != probs.size()) {
            throw new IllegalArgumentException("g: expected " + probs.size() + " elements ([B, nh, T, T] = " + probs.shapeString()
                    + ") but got " + (g == null ? "null" : g.shapeString()));
        }
        probsGrad = g;
    }

    private FloatTensor takeProbabilityGradient() {
        FloatTensor g = probsGrad;
        probsGrad = null;
        return g;
    }

    /** Validates and keeps the dropout of this forward (p = 0: none, the seed is then irrelevant). */
    private void setDropout(double dropout, long seed) {
        DropoutKernel.checkP(dropout);
        dropP = dropout;
        dropSeed = seed;
    }

    /** 1 / (1 - p) in fp32, exactly the factor {@link DropoutKernel} applies. */
    private float dropScale() {
        return DropoutKernel.scale(dropP);
    }

    /** heads[(bb*nh + h)*t + i, :] = src[(bb*t + i)*rs + col0 + h*hd .. +hd). */
    private void split(FloatTensor src, int rs, int col0, FloatTensor heads) {
        for (int bb = 0; bb < b; bb++) {
            for (int i = 0; i < t; i++) {
                int so = (bb * t + i) * rs + col0;
                for (int h = 0; h < nh; h++) VectorOps.copy(src, so + h * hd, heads, ((bb * nh + h) * t + i) * hd, hd);
            }
        }
    }

    /** dst[(bb*t + i)*rs + col0 + h*hd .. +hd) = heads[(bb*nh + h)*t + i, :]. */
    private void merge(FloatTensor heads, FloatTensor dst, int rs, int col0) {
        for (int bb = 0; bb < b; bb++) {
            for (int i = 0; i < t; i++) {
                int dO = (bb * t + i) * rs + col0;
                for (int h = 0; h < nh; h++) VectorOps.copy(heads, ((bb * nh + h) * t + i) * hd, dst, dO + h * hd, hd);
            }
        }
    }

    private void requireGemm() {
        if (!gemm) throw new IllegalStateException("this AttentionKernel was built for the loop path (gemm = false)");
    }

    private int visibleKeys(int i, int len) {
        return causal ? Math.min(i + 1, len) : len;
    }

    private void copyLengths(int[] seqLens) {
        if (seqLens == null) {
            java.util.Arrays.fill(lengths, t);
            return;
        }
        Check.arrayLength("seqLens", seqLens, b);
        for (int i = 0; i < b; i++) {
            if (seqLens[i] < 1 || seqLens[i] > t) {
                throw new IllegalArgumentException("seqLens: length " + seqLens[i] + " of sequence " + i
                        + " is outside [1, " + t + "]");
            }
            lengths[i] = seqLens[i];
        }
    }

    /**
     * Double-precision twin of {@link #forward}: qkv [b*t*3c] -> y [b*t*c], probs [b*nh*t*t].
     * seqLens as in forward (null = all t).
     */
    public static void forwardReference(double[] qkv, int b, int t, int c, int nh, boolean causal, int[] seqLens,
                                        double[] y, double[] probs) {
        forwardReference(qkv, b, t, c, nh, causal, seqLens, 0.0, 0L, y, probs);
    }

    /**
     * Double-precision twin of {@link #forward(FloatTensor, int[], FloatTensor, double, long)}: probs receives
     * the undropped P, y = Pd V with Pd_ij = P_ij / (1 - p) where {@link DropoutKernel#keep} and 0 elsewhere.
     */
    public static void forwardReference(double[] qkv, int b, int t, int c, int nh, boolean causal, int[] seqLens,
                                        double dropout, long seed, double[] y, double[] probs) {
        int hd = c / nh;
        double sc = 1.0 / Math.sqrt(hd);
        for (int bb = 0; bb < b; bb++) {
            int len = seqLens == null ? t : seqLens[bb];
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int p = ((bb * nh + h) * t + i) * t;
                    double[] s = new double[t];
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        if (!visible(i, j, len, causal)) continue;
                        double d = 0;
                        for (int e = 0; e < hd; e++) {
                            d += qkv[(bb * t + i) * 3 * c + h * hd + e] * qkv[(bb * t + j) * 3 * c + c + h * hd + e];
                        }
                        s[j] = d * sc;
                        m = Math.max(m, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) if (visible(i, j, len, causal)) sum += Math.exp(s[j] - m);
                    for (int j = 0; j < t; j++) probs[p + j] = visible(i, j, len, causal) ? Math.exp(s[j] - m) / sum : 0.0;
                    for (int e = 0; e < hd; e++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) {
                            acc += droppedReference(probs[p + j], p + j, dropout, seed) * qkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e];
                        }
                        y[(bb * t + i) * c + h * hd + e] = acc;
                    }
                }
            }
        }
    }

    /** Double-precision twin of {@link #backward}: dy [b*t*c], qkv, probs from forwardReference -> dqkv (overwritten). */
    public static void backwardReference(double[] dy, double[] qkv, double[] probs, int b, int t, int c, int nh,
                                         double[] dqkv) {
        backwardReference(dy, qkv, probs, b, t, c, nh, 0.0, 0L, dqkv);
    }

    /**
     * Double-precision twin of {@link #backward} after a forward with dropout (p, seed): probs is the undropped
     * P from {@link #forwardReference}; dPd = dY V^T, dV = Pd^T dY, dP = M dPd / (1 - p), dS from P.
     */
    public static void backwardReference(double[] dy, double[] qkv, double[] probs, int b, int t, int c, int nh,
                                         double dropout, long seed, double[] dqkv) {
        backwardReference(dy, qkv, probs, b, t, c, nh, dropout, seed, null, dqkv);
    }

    /**
     * Double-precision twin of {@link #backward} with an extra gradient on the (undropped) probabilities,
     * {@code probsGrad} [b*nh*t*t] or null (see {@link #addProbabilityGradient}).
     */
    public static void backwardReference(double[] dy, double[] qkv, double[] probs, int b, int t, int c, int nh,
                                         double dropout, long seed, double[] probsGrad, double[] dqkv) {
        int hd = c / nh;
        double sc = 1.0 / Math.sqrt(hd);
        java.util.Arrays.fill(dqkv, 0.0);
        for (int bb = 0; bb < b; bb++) {
            for (int h = 0; h < nh; h++) {
                for (int i = 0; i < t; i++) {
                    int p = ((bb * nh + h) * t + i) * t;
                    double[] dp = new double[t];
                    double dot = 0;
                    for (int j = 0; j < t; j++) {
                        double pd = droppedReference(probs[p + j], p + j, dropout, seed);
                        for (int e = 0; e < hd; e++) {
                            double dye = dy[(bb * t + i) * c + h * hd + e];
                            dp[j] += dye * qkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e];
                            dqkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e] += pd * dye;
                        }
                        dp[j] = droppedReference(dp[j], p + j, dropout, seed);   // dP = M dPd / (1 - p)
                        if (probsGrad != null) dp[j] += probsGrad[p + j];          // + an outside loss on P
                        dot += probs[p + j] * dp[j];
                    }
                    for (int j = 0; j < t; j++) {
                        double ds = probs[p + j] * (dp[j] - dot) * sc;
                        for (int e = 0; e < hd; e++) {
                            dqkv[(bb * t + i) * 3 * c + h * hd + e] += ds * qkv[(bb * t + j) * 3 * c + c + h * hd + e];
                            dqkv[(bb * t + j) * 3 * c + c + h * hd + e] += ds * qkv[(bb * t + i) * 3 * c + h * hd + e];
                        }
                    }
                }
            }
        }
    }

    /** x / (1 - p) if element {@code index} is kept under (seed, p), else 0; x itself when p = 0. */
    private static double droppedReference(double x, int index, double dropout, long seed) {
        if (dropout == 0.0) return x;
        return DropoutKernel.keep(seed, index, dropout) ? x / (1.0 - dropout) : 0.0;
    }

    private static boolean visible(int i, int j, int len, boolean causal) {
        return j < len && (!causal || j <= i);
    }
}
