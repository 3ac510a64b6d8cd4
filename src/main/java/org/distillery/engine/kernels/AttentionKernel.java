package org.distillery.engine.kernels;

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
 * Mask: key j is visible from query i iff j &lt; len_b (padding mask; sequences are right-padded to T
 * and len_b is the number of real tokens of sequence b) and, when causal, j &lt;= i. Every query row
 * sees at least key 0, so padded query rows are well defined; the loss should ignore them.
 *
 * <p>Layout: {@code qkv} is [B*T, 3C] with columns [Q | K | V], each C wide and split into nh heads of
 * hd columns (head h at columns h*hd .. h*hd+hd-1); the output is [B*T, C] with the heads merged in the
 * same column order. The kernel reads Q, K, V straight out of qkv with Java vector loops over
 * (b, h, i), so there are no head split/merge copies and no per-(b, h) ND4J calls (a GEMM per (b, h)
 * on strided views cost about 200 us per call in the micro-check: ND4J copies the views; see
 * package-info). Forward keeps the probabilities P [B, nh, T, T] in this object for backward.
 *
 * <p>One instance per attention layer and batch shape; it owns P and a [T] scratch row and is not
 * thread-safe.
 */
public final class AttentionKernel {
    private final int b, t, c, nh, hd;
    private final boolean causal;
    private final float scale;
    private final FloatTensor probs;      // P: [B, nh, T, T]
    private final FloatTensor scratch;    // dP / dS row: [T]
    private final int[] lengths;          // [B], copied from the last forward

    /**
     * @param b      batch size B
     * @param t      sequence length T
     * @param c      model width C (qkv has 3C columns)
     * @param nHead  number of heads nh; must divide C
     * @param causal whether query i may only see keys j &lt;= i
     */
    public AttentionKernel(int b, int t, int c, int nHead, boolean causal) {
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
    }

    /** The attention probabilities of the last forward, [B, nh, T, T] (read-only use). */
    public FloatTensor probabilities() { return probs; }

    /**
     * Forward.
     *
     * @param qkv     fused projections, [B*T, 3C]
     * @param seqLens real (unpadded) length of each sequence, [B], each in [1, T]; null means all T
     * @param y       attention output with heads merged, [B*T, C] (overwritten)
     */
    public void forward(FloatTensor qkv, int[] seqLens, FloatTensor y) {
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("y", y, b * t, c);
        copyLengths(seqLens);
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

    /**
     * Backward, using P saved by the last {@link #forward} (call it with the same qkv).
     *
     * @param dy   upstream gradient, [B*T, C]
     * @param qkv  forward input, [B*T, 3C]
     * @param dqkv gradient of qkv, [B*T, 3C] (overwritten)
     */
    public void backward(FloatTensor dy, FloatTensor qkv, FloatTensor dqkv) {
        Check.rowsCols("dy", dy, b * t, c);
        Check.rowsCols("qkv", qkv, b * t, 3 * c);
        Check.rowsCols("dqkv", dqkv, b * t, 3 * c);
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
                        for (int j = 0; j < t; j++) acc += probs[p + j] * qkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e];
                        y[(bb * t + i) * c + h * hd + e] = acc;
                    }
                }
            }
        }
    }

    /** Double-precision twin of {@link #backward}: dy [b*t*c], qkv, probs from forwardReference -> dqkv (overwritten). */
    public static void backwardReference(double[] dy, double[] qkv, double[] probs, int b, int t, int c, int nh,
                                         double[] dqkv) {
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
                        for (int e = 0; e < hd; e++) {
                            double dye = dy[(bb * t + i) * c + h * hd + e];
                            dp[j] += dye * qkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e];
                            dqkv[(bb * t + j) * 3 * c + 2 * c + h * hd + e] += probs[p + j] * dye;
                        }
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

    private static boolean visible(int i, int j, int len, boolean causal) {
        return j < len && (!causal || j <= i);
    }
}
