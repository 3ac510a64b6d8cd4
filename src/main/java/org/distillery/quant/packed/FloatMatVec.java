package org.distillery.quant.packed;

import jdk.incubator.vector.FloatVector;

/**
 * The float32 matrix-vector product y = W x, W [out, in] row-major on the heap, with the same structure
 * as the packed kernels (four rows share each x load, fp32 vector accumulators, fixed lane-sum order), its rows
 * read as sequential streams as in the 8-bit kernel ({@link #STREAMS}; out of cache 3-10 % faster than four
 * neighbouring rows, {@code Int8StreamSpike}): the float32 baseline the packed formats are measured against (see
 * PackedBench).
 */
public final class FloatMatVec {
    private FloatMatVec() {}

    /** Rows per step, each from its own quarter of W: rows b + k ceil(out / 4), k = 0..3. */
    static final int STREAMS = 4;

    /**
     * y[0, out) = W x.
     *
     * @param w [out, in] row-major
     * @param x [in]
     * @param y [out] (overwritten)
     */
    public static void matvec(float[] w, int out, int in, float[] x, float[] y) {
        if (w.length < (long) out * in || x.length < in || y.length < out) {
            throw new IllegalArgumentException("matvec: need w [" + out + ", " + in + "], x [" + in + "], y [" + out
                    + "]; got lengths " + w.length + ", " + x.length + ", " + y.length);
        }
        var F = PackedKernels.F;
        int lanes = PackedKernels.LANES, bound = in - in % lanes;
        int last = out - 1, stride = (out + STREAMS - 1) / STREAMS;
        for (int b = 0; b < stride; b++) {                  // rows b + k stride: four sequential streams
            int r0 = b, r1 = Math.min(b + stride, last), r2 = Math.min(b + 2 * stride, last);
            int r3 = Math.min(b + 3 * stride, last);
            int w0 = r0 * in, w1 = r1 * in, w2 = r2 * in, w3 = r3 * in;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int k = 0;
            for (; k < bound; k += lanes) {
                FloatVector xv = FloatVector.fromArray(F, x, k);
                a0 = FloatVector.fromArray(F, w, w0 + k).fma(xv, a0);
                a1 = FloatVector.fromArray(F, w, w1 + k).fma(xv, a1);
                a2 = FloatVector.fromArray(F, w, w2 + k).fma(xv, a2);
                a3 = FloatVector.fromArray(F, w, w3 + k).fma(xv, a3);
            }
            float c0 = PackedKernels.sumLanes(a0), c1 = PackedKernels.sumLanes(a1);
            float c2 = PackedKernels.sumLanes(a2), c3 = PackedKernels.sumLanes(a3);
            for (; k < in; k++) {
                c0 += w[w0 + k] * x[k];
                c1 += w[w1 + k] * x[k];
                c2 += w[w2 + k] * x[k];
                c3 += w[w3 + k] * x[k];
            }
            y[r0] = c0;
            y[r1] = c1;
            y[r2] = c2;
            y[r3] = c3;
        }
    }
}
