package org.distillery.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor's entry in a safetensors header: its name, element type, shape and byte range in the data
 * buffer (relative to the first byte after the header). Validated on construction; the shape array is
 * copied in and out.
 *
 * @param name  the tensor name, e.g. {@code h.0.attn.c_attn.weight}
 * @param dtype the element type in the file
 * @param shape the dimensions, outermost first (c-order); each {@code >= 0}; empty for a scalar
 * @param begin first byte, {@code >= 0}
 * @param end   one past the last byte, {@code == begin + numel * dtype.bytes()}
 */
public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {

    /** Validates the entry; see the parameter descriptions. */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = Objects.requireNonNull(shape, "shape").clone();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("tensor " + name + ": shape[" + i + "] = " + shape[i]
                        + " is negative (accepted: >= 0)");
            }
        }
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("tensor " + name + ": byte range [" + begin + ", " + end
                    + ") is invalid (accepted: 0 <= begin <= end)");
        }
        long expected = numel(shape) * dtype.bytes();
        if (end - begin != expected) {
            throw new IllegalArgumentException("tensor " + name + ": byte range [" + begin + ", " + end
                    + ") holds " + (end - begin) + " bytes but " + dtype + " " + Arrays.toString(shape)
                    + " needs " + expected);
        }
    }

    /** The number of elements, the product of the shape (1 for a scalar). */
    public long numel() {
        return numel(shape);
    }

    /** The size of the data in bytes. */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The shape as {@code int}s; throws if a dimension exceeds {@code Integer.MAX_VALUE}. */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.toIntExact(shape[i]);
        }
        return s;
    }

    /** Product of {@code shape}; throws ArithmeticException on long overflow. */
    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}
