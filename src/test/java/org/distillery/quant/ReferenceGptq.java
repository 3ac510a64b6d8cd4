package org.distillery.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * An independent, straightforward GPTQ for the tests: unblocked, double precision, with the explicit
 * inverse-Hessian updates of OBQ / the GPTQ paper (eq. 2 and 3, applied to all rows at once since H is
 * shared): for the next column c (in act-order or natural order) of the remaining set F,
 * <pre>
 *   q       = quant(W[:, c])
 *   err     = (W[:, c] - q) / [H_F^-1]_cc
 *   W[:, F] -= err [H_F^-1]_{c, F}
 *   H_{F-c}^-1 = (H_F^-1 - H_F^-1[:, c] H_F^-1[c, :] / [H_F^-1]_cc) restricted to F - c
 * </pre>
 * H^-1 of the dampened Hessian by Gauss-Jordan elimination with partial pivoting. Shares only the
 * {@link Quantizer} (the grid and its parameter fit) with {@link Gptq}.
 */
final class ReferenceGptq {
    private ReferenceGptq() {}

    /** Q [rows, cols] (the dequantized weights). */
    static float[] quantize(float[] w0, int rows, int cols, double[] h0, Quantizer quantizer, double percDamp,
                            boolean actOrder, boolean staticGroups) {
        return quantize(w0, rows, cols, h0, quantizer, percDamp, actOrder, staticGroups, false);
    }

    /** With {@code keepZeros}: entries exactly 0 in {@code w0} are rounded from 0 (so stay 0), their error propagated. */
    static float[] quantize(float[] w0, int rows, int cols, double[] h0, Quantizer quantizer, double percDamp,
                            boolean actOrder, boolean staticGroups, boolean keepZeros) {
        int n = cols;
        double[][] w = new double[rows][n];
        for (int r = 0; r < rows; r++) for (int c = 0; c < n; c++) w[r][c] = w0[r * n + c];
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) h[i][j] = h0[i * n + j];
        for (int i = 0; i < n; i++) {
            if (h[i][i] == 0) {
                h[i][i] = 1;
                for (int r = 0; r < rows; r++) w[r][i] = 0;
            }
        }
        boolean grouped = quantizer.granularity() == Quantizer.Granularity.GROUP;
        boolean dynamic = grouped && !staticGroups;
        int g = grouped ? quantizer.groupSize() : n;
        // parameters fitted on W up front (per tensor / per row / static groups): the quantizer's own fit
        QuantizedTensor upFront = quantizer.isFloat() ? null : quantizer.quantize(toFloat(w, rows, n), rows, n);

        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (actOrder) {
            final double[][] hh = h;
            Arrays.sort(order, Comparator.comparingDouble(i -> -hh[i][i]));   // stable
        }
        double mean = 0;
        for (int i = 0; i < n; i++) mean += h[i][i];
        for (int i = 0; i < n; i++) h[i][i] += percDamp * mean / n;
        double[][] hinv = invert(h);

        List<Integer> remaining = new ArrayList<>(Arrays.asList(order));
        float[] q = new float[rows * n];
        float[] scale = new float[rows];
        int[] zero = new int[rows];
        for (int t = 0; t < n; t++) {
            int c = order[t];
            if (!quantizer.isFloat()) {
                if (dynamic) {
                    if (t % g == 0) {                        // fit on the current values of the next g columns
                        for (int r = 0; r < rows; r++) {
                            float[] block = new float[g];
                            for (int j = 0; j < g; j++) block[j] = (float) w[r][order[t + j]];
                            var p = quantizer.fitBlock(block, 0, 0, 1, 1, g);
                            scale[r] = p.scale();
                            zero[r] = p.zeroPoint();
                        }
                    }
                } else {
                    int k = grouped ? c / g : 0;
                    for (int r = 0; r < rows; r++) {
                        scale[r] = upFront.scale(r, k);
                        zero[r] = upFront.zero(r, k);
                    }
                }
            }
            double d = hinv[c][c];
            remaining.remove(Integer.valueOf(c));
            for (int r = 0; r < rows; r++) {
                boolean kept = keepZeros && w0[r * n + c] == 0f;
                float qv = quantizer.round(kept ? 0f : (float) w[r][c], scale[r], zero[r]);
                double err = (w[r][c] - qv) / d;
                for (int j : remaining) w[r][j] -= err * hinv[c][j];
                w[r][c] = qv;
                q[r * n + c] = qv;
            }
            double[] col = new double[n];
            for (int j : remaining) col[j] = hinv[j][c];
            for (int i : remaining) {
                for (int j : remaining) hinv[i][j] -= col[i] * hinv[c][j] / d;
            }
        }
        return q;
    }

    private static float[] toFloat(double[][] w, int rows, int n) {
        float[] f = new float[rows * n];
        for (int r = 0; r < rows; r++) for (int c = 0; c < n; c++) f[r * n + c] = (float) w[r][c];
        return f;
    }

    /** Gauss-Jordan inverse with partial pivoting. */
    static double[][] invert(double[][] a0) {
        int n = a0.length;
        double[][] a = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a0[i], 0, a[i], 0, n);
            a[i][n + i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int piv = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
            double[] tmp = a[col]; a[col] = a[piv]; a[piv] = tmp;
            double p = a[col][col];
            for (int j = 0; j < 2 * n; j++) a[col][j] /= p;
            for (int r = 0; r < n; r++) {
                if (r == col || a[r][col] == 0) continue;
                double f = a[r][col];
                for (int j = 0; j < 2 * n; j++) a[r][j] -= f * a[col][j];
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) System.arraycopy(a[i], n, inv[i], 0, n);
        return inv;
    }
}
