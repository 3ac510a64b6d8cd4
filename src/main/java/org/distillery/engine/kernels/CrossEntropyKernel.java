package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;

import static org.distillery.engine.kernels.VectorOps.LANES;
import static org.distillery.engine.kernels.VectorOps.SPECIES;
import static org.distillery.engine.kernels.VectorOps.get;
import static org.distillery.engine.kernels.VectorOps.load;
import static org.distillery.engine.kernels.VectorOps.put;
import static org.distillery.engine.kernels.VectorOps.store;

/**
 * Softmax cross-entropy over the vocabulary with an ignore index, fused with its gradient, as PyTorch
 * {@code F.cross_entropy(logits, targets, ignore_index=..., reduction='mean')}. With
 * M = the set of rows whose target is not the ignore index:
 * <pre>
 *   loss = (1/|M|) sum_{i in M} ( log sum_j exp(z_ij) - z_{i,t_i} )
 *   dloss/dz_ij = (softmax(z_i)_j - [j = t_i]) / |M|  for i in M,   0 for ignored rows
 * </pre>
 * If every row is ignored the loss is 0 and the gradient is 0 (PyTorch returns NaN there).
 */
public final class CrossEntropyKernel {
    private CrossEntropyKernel() {}

    /** PyTorch's default ignore index. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    /**
     * Mean cross-entropy and its gradient.
     *
     * @param logits      [N, V]
     * @param targets     [N], each in [0, V) or equal to {@code ignoreIndex}
     * @param ignoreIndex target value that marks a row to skip (must lie outside [0, V))
     * @param dlogits     gradient of the mean loss, [N, V] (overwritten; may alias logits)
     * @return the mean loss over non-ignored rows (nats)
     */
    public static double forwardBackward(FloatTensor logits, int[] targets, int ignoreIndex, FloatTensor dlogits) {
        int n = logits.rows(), v = logits.cols();
        Check.arrayLength("targets", targets, n);
        Check.rowsCols("dlogits", dlogits, n, v);
        checkIgnoreIndex(ignoreIndex, v);
        Check.tokenIds("targets", targets, v, true, ignoreIndex);
        int count = countKept(targets, ignoreIndex);
        FloatTensor Z = logits, DZ = dlogits;
        if (count == 0) {
            VectorOps.fill(DZ, 0, n * v, 0f);
            return 0.0;
        }
        float invCount = 1f / count;
        double loss = 0;
        int bound = SPECIES.loopBound(v);
        for (int i = 0; i < n; i++) {
            int o = i * v, t = targets[i];
            if (t == ignoreIndex) {
                VectorOps.fill(DZ, o, v, 0f);
                continue;
            }
            float zt = get(Z, o + t);
            float m = VectorOps.max(Z, o, v);
            float sum = VectorOps.expSum(Z, o, DZ, o, v, m, 1f);
            loss += Math.log(sum) - ((double) zt - m);
            float scale = invCount / sum;
            FloatVector vs = FloatVector.broadcast(SPECIES, scale);
            int j = 0;
            for (; j < bound; j += LANES) store(load(DZ, o + j).mul(vs), DZ, o + j);
            for (; j < v; j++) put(DZ, o + j, get(DZ, o + j) * scale);
            put(DZ, o + t, get(DZ, o + t) - invCount);
        }
        return loss / count;
    }

    /**
     * Mean cross-entropy without the gradient (evaluation): the same per-row arithmetic as
     * {@link #forwardBackward}, so the two return the same value, but the logits are only read and the
     * exponentials go to a one-row scratch buffer.
     *
     * @param logits      [N, V] (not modified)
     * @param targets     [N], each in [0, V) or equal to {@code ignoreIndex}
     * @param ignoreIndex target value that marks a row to skip (must lie outside [0, V))
     * @param scratch     [V] (overwritten)
     * @return the mean loss over non-ignored rows (nats); 0 if every row is ignored
     */
    public static double loss(FloatTensor logits, int[] targets, int ignoreIndex, FloatTensor scratch) {
        int n = logits.rows(), v = logits.cols();
        Check.arrayLength("targets", targets, n);
        if (scratch == null || scratch.size() != v) {
            throw new IllegalArgumentException("scratch: need " + v + " elements (one logits row) but was "
                    + (scratch == null ? "null" : scratch.size()));
        }
        checkIgnoreIndex(ignoreIndex, v);
        Check.tokenIds("targets", targets, v, true, ignoreIndex);
        int count = countKept(targets, ignoreIndex);
        if (count == 0) return 0.0;
        double loss = 0;
        for (int i = 0; i < n; i++) {
            int o = i * v, t = targets[i];
            if (t == ignoreIndex) continue;
            float zt = get(logits, o + t);
            float m = VectorOps.max(logits, o, v);
            float sum = VectorOps.expSum(logits, o, scratch, 0, v, m, 1f);
            loss += Math.log(sum) - ((double) zt - m);
        }
        return loss / count;
    }

    /** Double-precision twin of {@link #forwardBackward}: logits [n*v] -> dlogits [n*v]; returns the mean loss. */
    public static double forwardBackwardReference(double[] logits, int[] targets, int ignoreIndex, int n, int v,
                                                  double[] dlogits) {
        checkIgnoreIndex(ignoreIndex, v);
        Check.tokenIds("targets", targets, v, true, ignoreIndex);
        int count = countKept(targets, ignoreIndex);
        double loss = 0;
        for (int i = 0; i < n; i++) {
            int o = i * v, t = targets[i];
            if (t == ignoreIndex || count == 0) {
                for (int j = 0; j < v; j++) dlogits[o + j] = 0;
                continue;
            }
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) m = Math.max(m, logits[o + j]);
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(logits[o + j] - m);
            loss += Math.log(sum) + m - logits[o + t];
            for (int j = 0; j < v; j++) {
                dlogits[o + j] = (Math.exp(logits[o + j] - m) / sum - (j == t ? 1 : 0)) / count;
            }
        }
        return count == 0 ? 0.0 : loss / count;
    }

    private static int countKept(int[] targets, int ignoreIndex) {
        int c = 0;
        for (int t : targets) if (t != ignoreIndex) c++;
        return c;
    }

    private static void checkIgnoreIndex(int ignoreIndex, int v) {
        if (ignoreIndex >= 0 && ignoreIndex < v) {
            throw new IllegalArgumentException("ignoreIndex: " + ignoreIndex + " is a valid class id in [0, " + v
                    + "); use a value outside the vocabulary such as " + DEFAULT_IGNORE_INDEX);
        }
    }
}
