package org.distillery.prune;

import org.distillery.engine.kernels.FloatTensor;

/**
 * The L2 norm of every input feature of a linear layer over calibration rows, accumulated streaming:
 * {@code ||X_j||_2 = sqrt(sum over rows n of x_nj^2)} for X [n, in] (Wanda's activation norm), in double.
 */
public final class InputNorms {
    private final double[] sumSq;          // [in]
    private long rows;

    /** An empty accumulator for {@code in} input features. */
    public InputNorms(int in) {
        if (in < 1) throw new IllegalArgumentException("in: input width must be >= 1 but was " + in);
        this.sumSq = new double[in];
    }

    /** Adds a batch of inputs {@code x} [..., in], read as [rows, in]. */
    public InputNorms add(FloatTensor x) {
        if (x == null) throw new IllegalArgumentException("x: must not be null");
        int in = sumSq.length;
        if (x.cols() != in) {
            throw new IllegalArgumentException("x: shape " + x.shapeString() + " has " + x.cols() + " features; need " + in);
        }
        float[] v = x.toFloatArray();                                   // [rows, in]
        for (int r = 0, o = 0; r < x.rows(); r++, o += in) {
            for (int j = 0; j < in; j++) sumSq[j] += (double) v[o + j] * v[o + j];
        }
        rows += x.rows();
        return this;
    }

    /** Rows added so far. */
    public long rows() {
        return rows;
    }

    /** ||X_j||_2 per input feature [in]. */
    public double[] norms() {
        if (rows == 0) throw new IllegalStateException("InputNorms: no calibration rows were added; the calibration set is empty");
        double[] n = new double[sumSq.length];
        for (int j = 0; j < n.length; j++) {
            if (!Double.isFinite(sumSq[j])) {
                throw new IllegalStateException("InputNorms: feature " + j + " has a non-finite sum of squares (NaN/Inf inputs)");
            }
            n[j] = Math.sqrt(sumSq[j]);
        }
        return n;
    }
}
