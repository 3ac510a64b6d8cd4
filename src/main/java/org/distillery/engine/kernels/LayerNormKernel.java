package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static org.distillery.engine.kernels.VectorOps.LANES;
import static org.distillery.engine.kernels.VectorOps.SPECIES;
import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.load;
import static org.distillery.engine.kernels.VectorOps.put;
import static org.distillery.engine.kernels.VectorOps.store;

/**
 * Layer normalisation over the last dimension (Ba, Kiros and Hinton 2016), as PyTorch
 * {@code nn.LayerNorm(C, eps)}: for each row x of length C,
 * <pre>
 *   mu = (1/C) sum_j x_j,   var = (1/C) sum_j (x_j - mu)^2   (biased),   r = 1 / sqrt(var + eps)
 *   xhat_j = (x_j - mu) r,  y_j = gamma_j xhat_j + beta_j
 * </pre>
 * Backward, with g_j = dy_j gamma_j:
 * <pre>
 *   dx_j = r (g_j - mean_k g_k - xhat_j mean_k (g_k xhat_k)),  dgamma_j += sum_rows dy_j xhat_j,  dbeta_j += sum_rows dy_j
 * </pre>
 * The fast methods run on fp32 {@link FloatTensor}s with {@code jdk.incubator.vector}; the
 * {@code ...Reference} twins are naive double-precision loops used as test oracles.
 */
public final class LayerNormKernel {
    private LayerNormKernel() {}

    /** PyTorch's default epsilon. */
    public static final float DEFAULT_EPS = 1e-5f;

    /**
     * Forward. Writes {@code out}, and {@code mean}, {@code rstd} (saved for backward).
     *
     * @param x     input, [N, C]
     * @param gamma gain, [C]
     * @param beta  bias, [C]
     * @param eps   variance floor, > 0
     * @param out   output, [N, C] (may alias x)
     * @param mean  per-row mean, [N]
     * @param rstd  per-row 1/sqrt(var+eps), [N]
     */
    public static void forward(FloatTensor x, FloatTensor gamma, FloatTensor beta, float eps,
                               FloatTensor out, FloatTensor mean, FloatTensor rstd) {
        int n = x.rows(), c = x.cols();
        checkEps(eps);
        Check.length("gamma", gamma, c);
        Check.length("beta", beta, c);
        Check.rowsCols("out", out, n, c);
        Check.length("mean", mean, n);
        Check.length("rstd", rstd, n);
        FloatTensor X = x, G = gamma, Bt = beta, O = out;
        for (int i = 0; i < n; i++) {
            int o = i * c;
            float mu = VectorOps.sum(X, o, c) / c;
            float var = squaredDeviationSum(X, o, c, mu) / c;
            float r = (float) (1.0 / Math.sqrt(var + eps));
            normalizeRow(X, G, Bt, O, o, c, mu, r);
            mean.set(i, mu);
            rstd.set(i, r);
        }
    }

    /**
     * sum_j (x_j - mu)^2 over one row. The forward row is split into small methods (this, {@link
     * VectorOps#sum}, {@link #normalizeRow}) that take and return no vectors, so that C2 compiles each
     * within its inlining budget whatever shapes it was profiled with (a vector left out of line is
     * allocated on the heap).
     */
    private static float squaredDeviationSum(FloatTensor X, int o, int c, float mu) {
        int bound = SPECIES.loopBound(c);
        FloatVector vmu = FloatVector.broadcast(SPECIES, mu);
        FloatVector acc = FloatVector.zero(SPECIES);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector d = load(X, o + j).sub(vmu);
            acc = d.fma(d, acc);
        }
        float var = VectorOps.sumLanes(acc);
        for (; j < c; j++) {
            float d = get(X, o + j) - mu;
            var += d * d;
        }
        return var;
    }

    /** out_j = (x_j - mu) r gamma_j + beta_j over one row. */
    private static void normalizeRow(FloatTensor X, FloatTensor G, FloatTensor Bt, FloatTensor O, int o, int c,
                                     float mu, float r) {
        int bound = SPECIES.loopBound(c);
        FloatVector vmu = FloatVector.broadcast(SPECIES, mu), vr = FloatVector.broadcast(SPECIES, r);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector xh = load(X, o + j).sub(vmu).mul(vr);
            store(xh.fma(load(G, j), load(Bt, j)), O, o + j);
        }
        for (; j < c; j++) put(O, o + j, (get(X, o + j) - mu) * r * get(G, j) + get(Bt, j));
    }

    /**
     * Backward. Writes {@code dx}; accumulates into {@code dgamma} and {@code dbeta}.
     *
     * @param dout   upstream gradient, [N, C]
     * @param x      forward input, [N, C]
     * @param mean   from forward, [N]
     * @param rstd   from forward, [N]
     * @param gamma  gain, [C]
     * @param dx     input gradient (overwritten), [N, C] (may alias dout)
     * @param dgamma gain gradient (accumulated +=), [C]
     * @param dbeta  bias gradient (accumulated +=), [C]
     */
    public static void backward(FloatTensor dout, FloatTensor x, FloatTensor mean, FloatTensor rstd, FloatTensor gamma,
                                FloatTensor dx, FloatTensor dgamma, FloatTensor dbeta) {
        int n = x.rows(), c = x.cols();
        Check.rowsCols("dout", dout, n, c);
        Check.length("mean", mean, n);
        Check.length("rstd", rstd, n);
        Check.length("gamma", gamma, c);
        Check.rowsCols("dx", dx, n, c);
        Check.length("dgamma", dgamma, c);
        Check.length("dbeta", dbeta, c);
        FloatTensor D = dout, X = x, G = gamma, DX = dx,
                DG = dgamma, DB = dbeta;
        for (int i = 0; i < n; i++) backwardRow(D, X, G, DX, DG, DB, i * c, c, mean.get(i), rstd.get(i));
    }

    /**
     * One row of {@link #backward} at element offset {@code o}, in two methods (pass 1 and pass 2) so that
     * C2 compiles each as a small unit below the inlining node budget (NodeCountInliningCutoff; a vector
     * load or store left out of line gets its vector allocated on the heap). They take and return no
     * vectors: pass 1 returns its two row sums packed in one long.
     */
    private static void backwardRow(FloatTensor D, FloatTensor X, FloatTensor G, FloatTensor DX, FloatTensor DG,
                                    FloatTensor DB, int o, int c, float mu, float r) {
        long sums = backwardPass1(D, X, G, DG, DB, o, c, mu, r);
        float sum1 = Float.intBitsToFloat((int) (sums >>> 32)), sum2 = Float.intBitsToFloat((int) sums);
        backwardPass2(D, X, G, DX, o, c, mu, r, sum1 / c, sum2 / c);
    }

    /** Pass 1: the row sums of g = dy*gamma and g*xhat (returned as float bits, high and low word); dgamma, dbeta. */
    private static long backwardPass1(FloatTensor D, FloatTensor X, FloatTensor G, FloatTensor DG, FloatTensor DB,
                                      int o, int c, float mu, float r) {
        int bound = SPECIES.loopBound(c);
        FloatVector vmu = FloatVector.broadcast(SPECIES, mu), vr = FloatVector.broadcast(SPECIES, r);
        FloatVector s1 = FloatVector.zero(SPECIES), s2 = FloatVector.zero(SPECIES);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector xh = load(X, o + j).sub(vmu).mul(vr), dy = load(D, o + j), g = dy.mul(load(G, j));
            s1 = s1.add(g);
            s2 = g.fma(xh, s2);
            store(dy.fma(xh, load(DG, j)), DG, j);
            store(dy.add(load(DB, j)), DB, j);
        }
        float sum1 = VectorOps.sumLanes(s1), sum2 = VectorOps.sumLanes(s2);
        for (; j < c; j++) {
            float xh = (get(X, o + j) - mu) * r, dy = get(D, o + j), g = dy * get(G, j);
            sum1 += g;
            sum2 += g * xh;
            put(DG, j, get(DG, j) + dy * xh);
            put(DB, j, get(DB, j) + dy);
        }
        return ((long) Float.floatToRawIntBits(sum1) << 32) | (Float.floatToRawIntBits(sum2) & 0xFFFFFFFFL);
    }

    /** Pass 2: dx = r (g - m1 - xhat m2). */
    private static void backwardPass2(FloatTensor D, FloatTensor X, FloatTensor G, FloatTensor DX, int o, int c,
                                      float mu, float r, float m1, float m2) {
        int bound = SPECIES.loopBound(c);
        FloatVector vmu = FloatVector.broadcast(SPECIES, mu), vr = FloatVector.broadcast(SPECIES, r);
        FloatVector vm1 = FloatVector.broadcast(SPECIES, m1), vm2 = FloatVector.broadcast(SPECIES, m2);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector xh = load(X, o + j).sub(vmu).mul(vr), g = load(D, o + j).mul(load(G, j));
            store(g.sub(vm1).sub(xh.mul(vm2)).mul(vr), DX, o + j);
        }
        for (; j < c; j++) {
            float xh = (get(X, o + j) - mu) * r, g = get(D, o + j) * get(G, j);
            put(DX, o + j, r * (g - m1 - xh * m2));
        }
    }

    /** Double-precision twin of {@link #forward}: x [n*c], gamma [c], beta [c] -> out [n*c], mean [n], rstd [n]. */
    public static void forwardReference(double[] x, double[] gamma, double[] beta, double eps, int n, int c,
                                        double[] out, double[] mean, double[] rstd) {
        checkEps(eps);
        for (int i = 0; i < n; i++) {
            double mu = 0;
            for (int j = 0; j < c; j++) mu += x[i * c + j];
            mu /= c;
            double var = 0;
            for (int j = 0; j < c; j++) {
                double d = x[i * c + j] - mu;
                var += d * d;
            }
            var /= c;
            double r = 1.0 / Math.sqrt(var + eps);
            for (int j = 0; j < c; j++) out[i * c + j] = (x[i * c + j] - mu) * r * gamma[j] + beta[j];
            mean[i] = mu;
            rstd[i] = r;
        }
    }

    /** Double-precision twin of {@link #backward} (dx overwritten, dgamma and dbeta accumulated). */
    public static void backwardReference(double[] dout, double[] x, double[] mean, double[] rstd, double[] gamma,
                                         int n, int c, double[] dx, double[] dgamma, double[] dbeta) {
        for (int i = 0; i < n; i++) {
            double m1 = 0, m2 = 0;
            for (int j = 0; j < c; j++) {
                double xh = (x[i * c + j] - mean[i]) * rstd[i], g = dout[i * c + j] * gamma[j];
                m1 += g;
                m2 += g * xh;
                dgamma[j] += dout[i * c + j] * xh;
                dbeta[j] += dout[i * c + j];
            }
            m1 /= c;
            m2 /= c;
            for (int j = 0; j < c; j++) {
                double xh = (x[i * c + j] - mean[i]) * rstd[i], g = dout[i * c + j] * gamma[j];
                dx[i * c + j] = rstd[i] * (g - m1 - xh * m2);
            }
        }
    }

    private static void checkEps(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps: must be a finite value > 0 but was " + eps);
        }
    }
}
