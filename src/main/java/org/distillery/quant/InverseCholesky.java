package org.distillery.quant;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;

/**
 * The upper Cholesky factor of the inverse of a symmetric positive definite matrix, in double precision:
 * U upper triangular with positive diagonal and {@code H^-1 = U^T U} (GPTQ's
 * {@code cholesky(cholesky_inverse(cholesky(H)), upper=True)}).
 *
 * <p>Computed with one Cholesky factorisation and one triangular inverse. With J the reversal
 * permutation, factor {@code J H J = L L^T} (L lower); then {@code H = R R^T} with {@code R = J L J} upper,
 * so {@code H^-1 = R^-T R^-1 = U^T U} with {@code U = R^-1 = J L^-1 J} upper with a positive diagonal, which
 * by uniqueness is the Cholesky factor of H^-1. Both steps are blocked (block 128): the diagonal blocks and
 * panels in Java loops, the O(n^3) trailing updates as ND4J double GEMMs. ND4J 1.0.0-M2.1's own
 * {@code Lapack.potrf} was measured to fail on well-conditioned SPD matrices above n = 32 ("dpotrf: 25")
 * and its {@code Level3.trsm} to leave its operand unchanged, hence this class. {@link #naive} is the
 * unblocked twin the tests compare against. Shared by GPTQ ({@link Gptq}) and SparseGPT
 * ({@code org.distillery.prune.SparseGpt}).
 */
public final class InverseCholesky {
    private InverseCholesky() {}

    static final int BLOCK = 128;

    /** Thrown when a pivot is not positive: the matrix is not (numerically) positive definite. */
    public static final class NotPositiveDefinite extends RuntimeException {
        /** The column of the failing pivot (in the reversed order the factorisation runs in: n - 1 - original). */
        public final int column;
        /** The pivot, not positive. */
        public final double pivot;

        NotPositiveDefinite(int column, double pivot) {
            super("not positive definite: pivot " + pivot + " at column " + column);
            this.column = column;
            this.pivot = pivot;
        }
    }

    /**
     * GPTQ's and SparseGPT's step before the sweep: adds {@code percDamp * mean(diag H)} to H's diagonal (in place),
     * then returns {@link #upperOfInverse}.
     *
     * @param algorithm      named in the error ("GPTQ", "SparseGPT")
     * @param originalColumn maps a processing-order column to the layer's input column, for the error message
     * @throws IllegalStateException when H + damping is not positive definite, suggesting more calibration data or
     *                               more dampening
     */
    public static double[] dampedUpperOfInverse(double[] h, int n, double percDamp, String algorithm,
                                                java.util.function.IntUnaryOperator originalColumn) {
        double mean = 0;
        for (int i = 0; i < n; i++) mean += h[i * n + i];
        double damp = percDamp * mean / n;
        for (int i = 0; i < n; i++) h[i * n + i] += damp;
        try {
            return upperOfInverse(h, n);
        } catch (NotPositiveDefinite e) {
            throw new IllegalStateException(algorithm + ": the Hessian [" + n + ", " + n + "] is not positive definite after"
                    + " dampening (percDamp = " + percDamp + ", pivot " + e.pivot + " near input column "
                    + originalColumn.applyAsInt(n - 1 - e.column) + "); use more calibration data or a larger percDamp", e);
        }
    }

    /**
     * U with H^-1 = U^T U, row-major [n, n] (lower part zero). {@code h} [n, n] row-major, symmetric (only
     * its lower... any triangle is read consistently: the lower triangle of J H J), unchanged.
     */
    public static double[] upperOfInverse(double[] h, int n) {
        double[] a = reversed(h, n);
        cholesky(a, n);                                     // a: L (lower) with J H J = L L^T
        double[] x = lowerInverse(a, n);                    // x: L^-1
        return reversed(x, n);                              // U = J L^-1 J
    }

    /** J M J: element (i, j) = m(n-1-i, n-1-j). */
    static double[] reversed(double[] m, int n) {
        double[] r = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) r[i * n + j] = m[(n - 1 - i) * n + (n - 1 - j)];
        }
        return r;
    }

    /** In-place blocked lower Cholesky of a [n, n] (reads the lower triangle; the upper is zeroed). */
    static void cholesky(double[] a, int n) {
        double[] scratch = null;
        for (int k0 = 0; k0 < n; k0 += BLOCK) {
            int k1 = Math.min(k0 + BLOCK, n);
            // 1. columns k0..k1 of L: the diagonal block and the panel below it (earlier blocks are already
            //    subtracted by the trailing updates, so the dot products run over p in [k0, j) only)
            for (int j = k0; j < k1; j++) {
                double d = a[j * n + j] - dot(a, j * n + k0, a, j * n + k0, j - k0);
                if (!(d > 0)) throw new NotPositiveDefinite(j, d);
                double ljj = Math.sqrt(d);
                a[j * n + j] = ljj;
                for (int i = j + 1; i < n; i++) {
                    a[i * n + j] = (a[i * n + j] - dot(a, i * n + k0, a, j * n + k0, j - k0)) / ljj;
                }
            }
            // 2. trailing update A22 -= L21 L21^T (lower part), L21 = L[k1:, k0:k1]     [m, b]
            int m = n - k1, b = k1 - k0;
            if (m == 0) continue;
            double[] l21 = new double[m * b];
            for (int i = 0; i < m; i++) System.arraycopy(a, (k1 + i) * n + k0, l21, i * b, b);
            INDArray p = Nd4j.create(l21, new long[] {m, b}, 'c');
            INDArray s = Nd4j.create(DataType.DOUBLE, new long[] {m, m}, 'c');
            Nd4j.gemm(p, p, s, false, true, 1.0, 0.0);                       // [m, m]
            if (scratch == null || scratch.length < m * m) scratch = new double[m * m];
            buffer(s).get(scratch, 0, m * m);
            Reference.reachabilityFence(s);          // NIO views do not keep an INDArray's native memory alive
            for (int i = 0; i < m; i++) {
                int row = (k1 + i) * n + k1;
                for (int j = 0; j <= i; j++) a[row + j] -= scratch[i * m + j];
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) a[i * n + j] = 0;
        }
    }

    /**
     * X = L^-1 for lower-triangular L [n, n], blocked by block rows I = [i0, i1):
     * {@code X[I, I] = L[I, I]^-1} (forward substitution), {@code X[I, :i0] = -X[I, I] (L[I, :i0] X[:i0, :i0])}.
     */
    static double[] lowerInverse(double[] l, int n) {
        double[] x = new double[n * n];
        INDArray ln = Nd4j.create(l, new long[] {n, n}, 'c');
        INDArray xn = Nd4j.zeros(DataType.DOUBLE, n, n);                      // X so far, for the GEMM operands
        DoubleBuffer xb = buffer(xn);
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int i1 = Math.min(i0 + BLOCK, n), b = i1 - i0;
            // diagonal block inverse by forward substitution: for each column c, solve L_II y = e_c
            double[] xii = new double[b * b];
            for (int c = 0; c < b; c++) {
                for (int r = c; r < b; r++) {
                    double s = r == c ? 1 : 0;
                    for (int p = c; p < r; p++) s -= l[(i0 + r) * n + i0 + p] * xii[p * b + c];
                    xii[r * b + c] = s / l[(i0 + r) * n + i0 + r];
                }
            }
            for (int r = 0; r < b; r++) System.arraycopy(xii, r * b, x, (i0 + r) * n + i0, b);
            if (i0 > 0) {
                INDArray lRow = ln.get(NDArrayIndex.interval(i0, i1), NDArrayIndex.interval(0, i0));    // [b, i0]
                INDArray xTop = xn.get(NDArrayIndex.interval(0, i0), NDArrayIndex.interval(0, i0));     // [i0, i0]
                INDArray t = Nd4j.create(DataType.DOUBLE, new long[] {b, i0}, 'c');
                Nd4j.gemm(lRow, xTop, t, false, false, 1.0, 0.0);                                     // L[I,:i0] X[:i0,:i0]
                INDArray xiiN = Nd4j.create(xii, new long[] {b, b}, 'c');
                INDArray off = Nd4j.create(DataType.DOUBLE, new long[] {b, i0}, 'c');
                Nd4j.gemm(xiiN, t, off, false, false, -1.0, 0.0);                                     // -X_II (...)
                double[] o = new double[b * i0];
                buffer(off).get(o);
                Reference.reachabilityFence(off);
                for (int r = 0; r < b; r++) System.arraycopy(o, r * i0, x, (i0 + r) * n, i0);
            }
            xb.position(i0 * n);
            xb.put(x, i0 * n, b * n);
            Reference.reachabilityFence(xn);
        }
        return x;
    }

    private static DoubleBuffer buffer(INDArray a) {
        return a.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer();
    }

    private static double dot(double[] a, int ao, double[] b, int bo, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < len; i += 4) {
            s0 += a[ao + i] * b[bo + i];
            s1 += a[ao + i + 1] * b[bo + i + 1];
            s2 += a[ao + i + 2] * b[bo + i + 2];
            s3 += a[ao + i + 3] * b[bo + i + 3];
        }
        for (; i < len; i++) s0 += a[ao + i] * b[bo + i];
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * The unblocked twin, straight from the definitions: L with H = L L^T (row by row), H^-1 = L^-T L^-1
     * by forward substitution, then the upper Cholesky factor of H^-1. O(n^3) scalar loops; for tests.
     */
    static double[] naive(double[] h, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = h[i * n + j];
                for (int p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
                if (i == j) {
                    if (!(s > 0)) throw new NotPositiveDefinite(i, s);
                    l[i * n + i] = Math.sqrt(s);
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        double[] li = new double[n * n];                                   // L^-1
        for (int c = 0; c < n; c++) {
            for (int r = c; r < n; r++) {
                double s = r == c ? 1 : 0;
                for (int p = c; p < r; p++) s -= l[r * n + p] * li[p * n + c];
                li[r * n + c] = s / l[r * n + r];
            }
        }
        double[] inv = new double[n * n];                                  // H^-1 = L^-T L^-1
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = Math.max(i, j); p < n; p++) s += li[p * n + i] * li[p * n + j];
                inv[i * n + j] = s;
            }
        }
        double[] u = new double[n * n];                                    // H^-1 = U^T U, U upper
        for (int i = 0; i < n; i++) {
            double s = inv[i * n + i];
            for (int p = 0; p < i; p++) s -= u[p * n + i] * u[p * n + i];
            if (!(s > 0)) throw new NotPositiveDefinite(i, s);
            u[i * n + i] = Math.sqrt(s);
            for (int j = i + 1; j < n; j++) {
                double t = inv[i * n + j];
                for (int p = 0; p < i; p++) t -= u[p * n + i] * u[p * n + j];
                u[i * n + j] = t / u[i * n + i];
            }
        }
        return u;
    }
}
