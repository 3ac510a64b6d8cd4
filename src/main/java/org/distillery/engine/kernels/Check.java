package org.distillery.engine.kernels;

import java.util.Arrays;

/**
 * Argument checks shared by the kernels. Every check is allocation-free when it passes (no varargs);
 * the message is built only on failure and names the argument and both shapes.
 */
final class Check {
    private Check() {}

    /** {@code t} must be a matrix-like tensor read as {@code [rows, cols]} (any rank, rows = product of leading dims). */
    static void rowsCols(String name, FloatTensor t, int rows, int cols) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        if (t.cols() != cols || t.rows() != rows) {
            throw new IllegalArgumentException(name + ": expected shape [" + rows + ", " + cols + "] (rows, cols) but got "
                    + t.shapeString() + " (read as [" + t.rows() + ", " + t.cols() + "])");
        }
    }

    /** {@code t} must hold exactly {@code n} elements (a vector such as a bias, gamma, mean). */
    static void length(String name, FloatTensor t, int n) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
        if (t.size() != n) {
            throw new IllegalArgumentException(name + ": expected shape [" + n + "] but got " + t.shapeString());
        }
    }

    /** {@code a} and {@code b} must have the same number of elements (elementwise kernels). */
    static void sameSize(String nameA, FloatTensor a, String nameB, FloatTensor b) {
        if (a == null) throw new IllegalArgumentException(nameA + ": must not be null");
        if (b == null) throw new IllegalArgumentException(nameB + ": must not be null");
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(nameB + ": shape " + b.shapeString() + " does not match "
                    + nameA + " shape " + a.shapeString());
        }
    }

    static void arrayLength(String name, double[] a, int n) {
        if (a == null) throw new IllegalArgumentException(name + ": must not be null");
        if (a.length != n) {
            throw new IllegalArgumentException(name + ": expected length " + n + " but got " + a.length);
        }
    }

    static void arrayLength(String name, int[] a, int n) {
        if (a == null) throw new IllegalArgumentException(name + ": must not be null");
        if (a.length != n) {
            throw new IllegalArgumentException(name + ": expected length " + n + " but got " + a.length);
        }
    }

    static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + ": must be >= 1 but was " + v);
    }

    /** Every id must lie in {@code [0, vocab)} (ignoring {@code ignore} when {@code allowIgnore}). */
    static void tokenIds(String name, int[] ids, int vocab, boolean allowIgnore, int ignore) {
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if ((id < 0 || id >= vocab) && !(allowIgnore && id == ignore)) {
                throw new IllegalArgumentException(name + ": token id " + id + " at position " + i
                        + " is out of range [0, " + vocab + ") for vocab size " + vocab
                        + (allowIgnore ? " (and is not the ignore index " + ignore + ")" : ""));
            }
        }
    }

    static String shape(int... s) { return Arrays.toString(s); }

    /**
     * {@code keep} (a row mask, null meaning all rows) must have n entries; returns the number of kept rows.
     */
    static int keptRows(String name, boolean[] keep, int n) {
        if (keep == null) return n;
        if (keep.length != n) {
            throw new IllegalArgumentException(name + ": length " + keep.length + " but the inputs have " + n + " rows");
        }
        int c = 0;
        for (boolean k : keep) if (k) c++;
        return c;
    }
}
