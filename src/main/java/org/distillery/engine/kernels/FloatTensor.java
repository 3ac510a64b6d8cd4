package org.distillery.engine.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense fp32 tensor in c-order (row-major) off-heap memory: an ND4J {@link INDArray} for BLAS GEMM
 * together with a zero-copy, native-order {@link ByteBuffer} view of the same memory for the Java
 * row kernels (scalar access), and the object {@link VectorMemory} reads vectors from (the buffer on
 * JDK 17-18, a {@code MemorySegment} over it on JDK 19+). All views are made once, at construction, so
 * a kernel call does not allocate wrapper objects.
 *
 * <p>Flat element {@code i} lives at byte offset {@code 4 * i} of {@link #buffer()}. {@link #rows()} is
 * the product of all dimensions but the last, {@link #cols()} the last one: a {@code [B, T, C]}
 * tensor is read by the row kernels as {@code [B*T, C]}.
 */
public final class FloatTensor {
    private final INDArray array;
    private final ByteBuffer buffer;
    /** {@link VectorMemory#wrap} of {@link #buffer}, made once here so that no kernel call makes one. */
    private final Object memory;
    private final int[] shape;
    private final int size;

    private FloatTensor(INDArray array) {
        this.array = array;
        long[] s = array.shape();
        this.shape = new int[s.length];
        long n = 1;
        for (int i = 0; i < s.length; i++) {
            shape[i] = Math.toIntExact(s[i]);
            n *= s[i];
        }
        if (n > Integer.MAX_VALUE / Float.BYTES) {
            throw new IllegalArgumentException("tensor too large for int byte offsets: " + n + " elements");
        }
        this.size = (int) n;
        ByteBuffer b = array.data().asNio().order(ByteOrder.nativeOrder());
        if (b.capacity() < size * Float.BYTES) {
            throw new IllegalStateException("ND4J buffer holds " + b.capacity() + " bytes, need " + size * Float.BYTES);
        }
        this.buffer = b;
        this.memory = VectorMemory.wrap(b);
    }

    /** A new zero-filled tensor of the given shape (every dimension >= 1). */
    public static FloatTensor zeros(int... shape) {
        if (shape.length == 0) throw new IllegalArgumentException("shape: need at least one dimension");
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new IllegalArgumentException("shape: dimension " + i + " is " + shape[i]
                        + " in " + Arrays.toString(shape) + "; must be >= 1");
            }
            s[i] = shape[i];
        }
        return new FloatTensor(Nd4j.create(DataType.FLOAT, s, 'c'));
    }

    /** A new tensor of the given shape holding {@code values} (rounded to fp32), in c-order. */
    public static FloatTensor of(double[] values, int... shape) {
        FloatTensor t = zeros(shape);
        t.copyFrom(values);
        return t;
    }

    /**
     * Wraps an existing ND4J array without copying. It must be FLOAT, c-order, start at offset 0 of its
     * buffer and have the default (dense row-major) strides.
     */
    public static FloatTensor wrap(INDArray a) {
        if (a.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("array: data type is " + a.dataType() + "; need FLOAT");
        }
        if (a.ordering() != 'c' || a.offset() != 0 || !hasDenseCStrides(a)) {
            throw new IllegalArgumentException("array: need a dense c-order array at offset 0; got ordering "
                    + a.ordering() + ", offset " + a.offset() + ", shape " + Arrays.toString(a.shape())
                    + ", strides " + Arrays.toString(a.stride()));
        }
        return new FloatTensor(a);
    }

    private static boolean hasDenseCStrides(INDArray a) {
        long[] s = a.shape(), st = a.stride();
        long expect = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            if (s[i] != 1 && st[i] != expect) return false;
            expect *= s[i];
        }
        return true;
    }

    /** The ND4J array (for GEMM); shares memory with {@link #buffer()}. */
    public INDArray nd() { return array; }

    /** Zero-copy native-order byte view; element {@code i} at byte offset {@code 4 * i}. */
    public ByteBuffer buffer() { return buffer; }

    /**
     * The same memory as the object {@link VectorMemory} loads and stores vectors on: the buffer itself
     * on JDK 17-18, a {@code MemorySegment} over it on JDK 19+.
     */
    Object vectorMemory() { return memory; }

    public int rank() { return shape.length; }

    public int dim(int i) { return shape[i]; }

    /** Number of elements. */
    public int size() { return size; }

    /** Product of all dimensions but the last (1 for a vector). */
    public int rows() { return size / cols(); }

    /** The last dimension. */
    public int cols() { return shape[shape.length - 1]; }

    /** The shape as text, e.g. {@code [8, 16]}. */
    public String shapeString() { return Arrays.toString(shape); }

    public float get(int i) { return buffer.getFloat(i * Float.BYTES); }

    public void set(int i, float v) { buffer.putFloat(i * Float.BYTES, v); }

    /** Sets every element to {@code v}. */
    public FloatTensor fill(float v) {
        for (int i = 0; i < size; i++) buffer.putFloat(i * Float.BYTES, v);
        return this;
    }

    /** Copies {@code values} (rounded to fp32) into this tensor; the lengths must match. */
    public FloatTensor copyFrom(double[] values) {
        if (values.length != size) {
            throw new IllegalArgumentException("values: length " + values.length + " but tensor " + shapeString()
                    + " has " + size + " elements");
        }
        for (int i = 0; i < size; i++) buffer.putFloat(i * Float.BYTES, (float) values[i]);
        return this;
    }

    /** Copies {@code values} into this tensor (c-order); the lengths must match. */
    public FloatTensor copyFrom(float[] values) {
        if (values.length != size) {
            throw new IllegalArgumentException("values: length " + values.length + " but tensor " + shapeString()
                    + " has " + size + " elements");
        }
        for (int i = 0; i < size; i++) buffer.putFloat(i * Float.BYTES, values[i]);
        return this;
    }

    /** A heap copy of the contents (c-order), e.g. for a checkpoint. */
    public float[] toFloatArray() {
        float[] d = new float[size];
        for (int i = 0; i < size; i++) d[i] = buffer.getFloat(i * Float.BYTES);
        return d;
    }

    /** A copy of the shape. */
    public int[] shape() { return shape.clone(); }

    /** A heap copy of the contents, widened to double (for tests and references). */
    public double[] toDoubleArray() {
        double[] d = new double[size];
        for (int i = 0; i < size; i++) d[i] = buffer.getFloat(i * Float.BYTES);
        return d;
    }

    @Override
    public String toString() { return "FloatTensor" + shapeString(); }
}
