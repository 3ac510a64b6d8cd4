package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * GPTQ's layer Hessian, accumulated streaming over calibration batches:
 * <pre>
 *   H = (2 / n) * sum over calibration rows x of x x^T  =  (2 / n) X^T X      [in, in]
 * </pre>
 * for the inputs x [in] of one linear layer (n = number of rows over all batches; GPTQ's reference code
 * counts sequences instead of rows, a constant factor that the algorithm is invariant to). Each
 * {@link #add} does one fp32 GEMM {@code S += X^T X} into the running sum S [in, in] (ND4J/BLAS), so the
 * memory is one [in, in] matrix however many batches are added; {@link #hessian()} scales by 2/n at the end
 * (rather than rescaling after every batch as the reference code does: the same H up to fp32 rounding).
 */
public final class GptqHessian {
    private final int in;
    private final INDArray sum;          // [in, in] fp32, sum of x x^T
    private long rows;

    /** An empty accumulator for a layer with {@code in} input features. */
    public GptqHessian(int in) {
        if (in < 1) throw new IllegalArgumentException("in: input width must be >= 1 but was " + in);
        this.in = in;
        this.sum = Nd4j.zeros(DataType.FLOAT, in, in);
    }

    /** Input width. */
    public int in() {
        return in;
    }

    /** Calibration rows added so far. */
    public long rows() {
        return rows;
    }

    /**
     * Adds a batch of layer inputs: {@code x} [..., in], read as [rows, in] (e.g. [B*T, in] token rows).
     * Values are checked for NaN/Inf when the Hessian is taken ({@link #hessian()}).
     */
    public GptqHessian add(FloatTensor x) {
        if (x == null) throw new IllegalArgumentException("x: must not be null");
        if (x.cols() != in) {
            throw new IllegalArgumentException("x: shape " + x.shapeString() + " has " + x.cols()
                    + " features in its last dimension; this Hessian is for in = " + in);
        }
        INDArray a = x.nd().reshape('c', x.rows(), in);                // [rows, in]
        Nd4j.gemm(a, a, sum, true, false, 1.0, 1.0);                   // S += X^T X
        rows += x.rows();
        return this;
    }

    /**
     * H = (2/n) S as a row-major double array [in, in].
     *
     * @throws IllegalStateException with no rows added, or NaN/Inf in the sum (non-finite calibration inputs)
     */
    public double[] hessian() {
        if (rows == 0) {
            throw new IllegalStateException("GptqHessian: no calibration rows were added; the calibration set is empty");
        }
        FloatBuffer b = sum.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
        double f = 2.0 / rows;
        double[] h = new double[in * in];
        for (int i = 0; i < h.length; i++) {
            float v = b.get(i);
            if (!Float.isFinite(v)) {
                throw new IllegalStateException("GptqHessian: H[" + i / in + ", " + i % in + "] = " + v
                        + ": the calibration inputs contain NaN/Inf (or overflow fp32)");
            }
            h[i] = f * v;
        }
        Reference.reachabilityFence(sum);            // the NIO view does not keep the native memory alive
        return h;
    }

    /** H as a new fp32 tensor [in, in]. */
    public FloatTensor hessianTensor() {
        return FloatTensor.of(hessian(), in, in);
    }
}
