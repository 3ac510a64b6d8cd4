package org.distillery.prune;

import java.util.Arrays;

/**
 * An independent, unblocked SparseGPT in double for the tests, straight from Optimal Brain Surgeon with an
 * explicit inverse: after column i is pruned, every remaining column j &gt; i moves by
 * {@code -(w_i - q_i) [H_F^-1]_ij / [H_F^-1]_ii} and i is eliminated from the inverse,
 * {@code H_F^-1 <- H_F^-1 - H_F^-1[:, i] H_F^-1[i, :] / H_F^-1[i, i]}. The saliency of column j is
 * {@code w_j^2 / [H_{F_j}^-1]_jj} with {@code [H_{F_j}^-1]_jj} the diagonal once the columns before j are
 * eliminated (the square of the Cholesky factor's diagonal that {@link SparseGpt} uses). Mask selection per block
 * of B columns on the weights as updated so far, like the class under test. O(n^3) per column pass; small n only.
 */
final class ReferenceSparseGpt {
    private ReferenceSparseGpt() {}

    /** Returns {weights [rows * cols] as double, keep flags as 1/0}. H is used as given plus the 1 % dampening. */
    static Object[] prune(float[] w0, int rows, int cols, double[] h0, double sparsity, NmPattern pattern, int block) {
        int n = cols;
        double[][] w = new double[rows][n];
        for (int r = 0; r < rows; r++) for (int c = 0; c < n; c++) w[r][c] = w0[r * n + c];
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) h[i][j] = h0[i * n + j];
        double mean = 0;
        for (int i = 0; i < n; i++) mean += h[i][i];
        for (int i = 0; i < n; i++) h[i][i] += 0.01 * mean / n;
        double[][] inv = invert(h);
        double[] d = new double[n];                       // [H_{F_j}^-1]_jj, F_j = {j, ..., n-1}
        double[][] tmp = copy(inv);
        for (int j = 0; j < n; j++) {
            d[j] = tmp[j][j];
            eliminate(tmp, j);
        }
        boolean[][] keep = new boolean[rows][n];
        for (boolean[] k : keep) Arrays.fill(k, true);
        for (int i1 = 0; i1 < n; i1 += block) {
            int i2 = Math.min(n, i1 + block);
            if (pattern == null) {
                double[] score = new double[(i2 - i1) * rows];   // column-major within the block, as SparseGpt's W^T
                for (int c = i1; c < i2; c++) for (int r = 0; r < rows; r++) score[(c - i1) * rows + r] = w[r][c] * w[r][c] / d[c];
                boolean[] kp = new boolean[score.length];
                Arrays.fill(kp, true);
                int k = (int) Math.round(sparsity * rows * i2) - (int) Math.round(sparsity * rows * i1);
                Ranking.pruneSmallest(score, 0, score.length, k, kp);
                for (int c = i1; c < i2; c++) for (int r = 0; r < rows; r++) keep[r][c] = kp[(c - i1) * rows + r];
            }
            for (int i = i1; i < i2; i++) {
                if (pattern != null && i % pattern.m() == 0) {
                    for (int r = 0; r < rows; r++) {
                        double[] s = new double[pattern.m()];
                        for (int j = 0; j < s.length; j++) s[j] = w[r][i + j] * w[r][i + j] / d[i + j];
                        boolean[] kp = new boolean[s.length];
                        Arrays.fill(kp, true);
                        Ranking.pruneSmallest(s, 0, s.length, pattern.m() - pattern.n(), kp);
                        for (int j = 0; j < s.length; j++) keep[r][i + j] = kp[j];
                    }
                }
                for (int r = 0; r < rows; r++) {
                    if (keep[r][i]) continue;
                    double delta = w[r][i] / inv[i][i];
                    for (int j = i + 1; j < n; j++) w[r][j] -= delta * inv[i][j];
                    w[r][i] = 0;
                }
                eliminate(inv, i);
            }
        }
        double[] out = new double[rows * n];
        double[] k = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < n; c++) {
                out[r * n + c] = w[r][c];
                k[r * n + c] = keep[r][c] ? 1 : 0;
            }
        }
        return new Object[] {out, k};
    }

    /** Removes index i from the inverse of a principal submatrix: H^-1 - H^-1[:, i] H^-1[i, :] / H^-1[i, i]. */
    private static void eliminate(double[][] inv, int i) {
        int n = inv.length;
        double p = inv[i][i];
        double[] row = inv[i].clone();
        for (int a = 0; a < n; a++) {
            double f = inv[a][i] / p;
            for (int b = 0; b < n; b++) inv[a][b] -= f * row[b];
        }
    }

    private static double[][] copy(double[][] m) {
        double[][] c = new double[m.length][];
        for (int i = 0; i < m.length; i++) c[i] = m[i].clone();
        return c;
    }

    /** Gauss-Jordan inverse with partial pivoting. */
    static double[][] invert(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m[i], 0, a[i], 0, n);
            a[i][n + i] = 1;
        }
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
            double[] t = a[c]; a[c] = a[p]; a[p] = t;
            double piv = a[c][c];
            for (int j = 0; j < 2 * n; j++) a[c][j] /= piv;
            for (int r = 0; r < n; r++) {
                if (r == c) continue;
                double f = a[r][c];
                if (f != 0) for (int j = 0; j < 2 * n; j++) a[r][j] -= f * a[c][j];
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) System.arraycopy(a[i], n, inv[i], 0, n);
        return inv;
    }
}
