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
 * One AdamW update of a parameter tensor (Loshchilov and Hutter 2019, Algorithm 2, in the form of
 * PyTorch's {@code torch.optim.AdamW}, single-tensor path), elementwise with g = gradScale * grad:
 * <pre>
 *   p = p (1 - lr wd)                                   decoupled weight decay (wd = 0 switches it off)
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   p = p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)  bc1 = 1 - beta1^t, bc2 = 1 - beta2^t
 * </pre>
 * {@code gradScale} carries the global-norm clipping factor, so the gradient is never rewritten. The
 * orchestration (steps, bias corrections, clipping, which tensors decay or are frozen) is in
 * {@code org.distillery.train.AdamW}.
 */
public final class AdamWKernel {
    private AdamWKernel() {}

    /**
     * Updates {@code p}, {@code m} and {@code v} in place.
     *
     * @param p         parameter, any shape
     * @param g         gradient, same element count (read only)
     * @param m         first moment, same element count
     * @param v         second moment, same element count
     * @param gradScale factor applied to g (clipping), 1 for none
     * @param lr        learning rate
     * @param wd        weight decay (0 for none)
     * @param beta1     first-moment decay
     * @param beta2     second-moment decay
     * @param eps       denominator floor
     * @param bc1       1 - beta1^t
     * @param bc2       1 - beta2^t
     */
    public static void update(FloatTensor p, FloatTensor g, FloatTensor m, FloatTensor v, float gradScale,
                              float lr, float wd, float beta1, float beta2, float eps, float bc1, float bc2) {
        Check.sameSize("p", p, "g", g);
        Check.sameSize("p", p, "m", m);
        Check.sameSize("p", p, "v", v);
        int n = p.size(), i = 0, bound = SPECIES.loopBound(n);
        float decay = 1f - lr * wd, stepSize = lr / bc1, bc2Sqrt = (float) Math.sqrt(bc2);
        float a1 = 1f - beta1, a2 = 1f - beta2;
        FloatVector vDecay = FloatVector.broadcast(SPECIES, decay), vScale = FloatVector.broadcast(SPECIES, gradScale);
        FloatVector vB1 = FloatVector.broadcast(SPECIES, beta1), vA1 = FloatVector.broadcast(SPECIES, a1);
        FloatVector vB2 = FloatVector.broadcast(SPECIES, beta2), vA2 = FloatVector.broadcast(SPECIES, a2);
        FloatVector vBc2 = FloatVector.broadcast(SPECIES, bc2Sqrt), vEps = FloatVector.broadcast(SPECIES, eps);
        FloatVector vStep = FloatVector.broadcast(SPECIES, stepSize);
        for (; i < bound; i += LANES) {
            FloatVector gi = load(g, i).mul(vScale);
            FloatVector mi = load(m, i).mul(vB1).add(gi.mul(vA1));
            FloatVector vi = load(v, i).mul(vB2).add(gi.mul(gi).mul(vA2));
            FloatVector denom = vi.lanewise(VectorOperators.SQRT).div(vBc2).add(vEps);
            FloatVector pi = load(p, i).mul(vDecay).sub(mi.div(denom).mul(vStep));
            store(mi, m, i);
            store(vi, v, i);
            store(pi, p, i);
        }
        for (; i < n; i++) {
            float gi = get(g, i) * gradScale;
            float mi = get(m, i) * beta1 + gi * a1;
            float vi = get(v, i) * beta2 + gi * gi * a2;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            put(m, i, mi);
            put(v, i, vi);
            put(p, i, get(p, i) * decay - mi / denom * stepSize);
        }
    }

    /** sum_i x_i^2 over the whole tensor, accumulated in double per vector chunk (for the global gradient norm). */
    public static double sumOfSquares(FloatTensor x) {
        int n = x.size(), i = 0, bound = SPECIES.loopBound(n);
        double total = 0;
        int chunk = LANES * 64;
        while (i < bound) {
            int end = Math.min(bound, i + chunk);
            FloatVector acc = FloatVector.zero(SPECIES);
            for (; i < end; i += LANES) {
                FloatVector xi = load(x, i);
                acc = xi.fma(xi, acc);
            }
            total += VectorOps.sumLanes(acc);
        }
        for (; i < n; i++) {
            double xi = get(x, i);
            total += xi * xi;
        }
        return total;
    }

    /** x *= s elementwise. */
    public static void scale(FloatTensor x, float s) {
        int n = x.size(), i = 0, bound = SPECIES.loopBound(n);
        FloatVector vs = FloatVector.broadcast(SPECIES, s);
        for (; i < bound; i += LANES) store(load(x, i).mul(vs), x, i);
        for (; i < n; i++) put(x, i, get(x, i) * s);
    }

    /** Double-precision twin of {@link #update} on heap arrays (PyTorch's formulas, step count t >= 1). */
    public static void updateReference(double[] p, double[] g, double[] m, double[] v, double gradScale, double lr,
                                       double wd, double beta1, double beta2, double eps, int t) {
        double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < p.length; i++) {
            double gi = g[i] * gradScale;
            p[i] *= 1 - lr * wd;
            m[i] = beta1 * m[i] + (1 - beta1) * gi;
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
        }
    }
}
