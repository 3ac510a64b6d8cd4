package org.distillery.io;

import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tensor with a name, as read from or written to a checkpoint: float32 values in c-order (row-major,
 * last dimension fastest) and the element type it has (or will have) in the file. Arrays are not copied:
 * the record is a carrier, and {@link Safetensors} never keeps a reference to them.
 *
 * @param name  the tensor name, non-empty
 * @param dtype the element type in the file: on reading the stored type (the values were converted to
 *              float32), on writing the type to store ({@link Dtype#writable()})
 * @param shape the dimensions, outermost first, each {@code >= 0}; empty for a scalar
 * @param data  the values, {@code data.length == product(shape)}
 */
public record NamedTensor(String name, Dtype dtype, int[] shape, float[] data) {

    /** Validates the record; see the parameter descriptions. */
    public NamedTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name is empty (accepted: a non-empty tensor name)");
        }
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("tensor " + name + ": shape[" + i + "] = " + shape[i]
                        + " is negative (accepted: >= 0)");
            }
            n *= shape[i];
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " has "
                    + n + " elements but data.length = " + data.length);
        }
    }

    /** A float32 tensor. */
    public static NamedTensor f32(String name, int[] shape, float[] data) {
        return new NamedTensor(name, Dtype.F32, shape, data);
    }

    /**
     * A tensor with the values of {@code array} (any shape, converted to float32, copied in c-order), to be
     * stored as {@code dtype}.
     */
    public static NamedTensor of(String name, Dtype dtype, INDArray array) {
        long[] s = array.shape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            shape[i] = Math.toIntExact(s[i]);
        }
        float[] data = array.castTo(DataType.FLOAT).dup('c').data().asFloat();
        return new NamedTensor(name, dtype, shape, data);
    }

    /** The same values to be stored as another type. */
    public NamedTensor withDtype(Dtype newDtype) {
        return new NamedTensor(name, newDtype, shape, data);
    }

    /** The number of elements. */
    public int numel() {
        return data.length;
    }

    /** The shape as {@code long}s (for ND4J). */
    public long[] longShape() {
        return Arrays.stream(shape).asLongStream().toArray();
    }

    /** A new c-order float32 INDArray holding a copy of the values. */
    public INDArray toINDArray() {
        return Nd4j.create(data.clone(), longShape(), 'c');
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NamedTensor t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "NamedTensor[" + name + " " + dtype + " " + Arrays.toString(shape) + "]";
    }
}
