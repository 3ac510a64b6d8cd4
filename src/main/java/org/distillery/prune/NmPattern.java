package org.distillery.prune;

import java.util.Locale;

/**
 * N:M semi-structured sparsity (e.g. NVIDIA's 2:4): in every row of a weight W [out, in], each run of M
 * consecutive weights along the input dimension ({@code W[r, gM .. gM + M)}) keeps its N highest-scoring
 * weights and prunes the other M - N, so the sparsity is exactly 1 - N/M. M must divide the input width.
 *
 * @param n weights kept per group, in [1, m)
 * @param m group width along the input dimension, &gt;= 2
 */
public record NmPattern(int n, int m) {
    /** 2:4, the pattern of sparse tensor cores. */
    public static final NmPattern TWO_FOUR = new NmPattern(2, 4);

    public NmPattern {
        if (m < 2) throw new IllegalArgumentException("pattern " + n + ":" + m + ": M = " + m + " must be >= 2 (e.g. 2:4)");
        if (n < 1 || n >= m) {
            throw new IllegalArgumentException("pattern " + n + ":" + m + ": N = " + n + " must be in [1, M = " + m
                    + ") (N weights kept of every M, e.g. 2:4)");
        }
    }

    /** Parses {@code "N:M"}, e.g. {@code "2:4"}. */
    public static NmPattern parse(String s) {
        String[] p = s == null ? new String[0] : s.trim().split(":");
        if (p.length != 2) throw new IllegalArgumentException("pattern " + s + " is not N:M (e.g. 2:4)");
        try {
            return new NmPattern(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("pattern " + s + " is not N:M with integers N and M (e.g. 2:4)", e);
        }
    }

    /** The sparsity of the pattern, 1 - N/M. */
    public double sparsity() {
        return 1.0 - (double) n / m;
    }

    /** Fails unless M divides {@code cols}, the input width of layer {@code name}. */
    public void checkWidth(int cols, String name) {
        if (cols % m != 0) {
            throw new IllegalArgumentException("pattern " + this + ": M = " + m + " does not divide the input width " + cols
                    + " of layer " + name + "; M must divide every layer's input width");
        }
    }

    /**
     * Keeps, in every group of M consecutive columns of every row of {@code score} [rows, cols] (row-major),
     * the N largest scores: {@code keep[i] = false} for the M - N smallest of each group (ties: the lower column
     * is pruned first). Entries of {@code keep} outside the pruned ones are set to true.
     */
    public boolean[] select(double[] score, int rows, int cols) {
        if (score == null || score.length != (long) rows * cols) {
            throw new IllegalArgumentException("score: need [" + rows + ", " + cols + "] values");
        }
        checkWidth(cols, "score");
        boolean[] keep = new boolean[score.length];
        java.util.Arrays.fill(keep, true);
        for (int g = 0; g < score.length; g += m) Ranking.pruneSmallest(score, g, g + m, m - n, keep);
        return keep;
    }

    /** Whether every group of M consecutive entries of each row of {@code w} [rows, cols] has at most N nonzeros. */
    public boolean holds(float[] w, int rows, int cols) {
        if (cols % m != 0) return false;
        for (int g = 0; g < (long) rows * cols; g += m) {
            int nz = 0;
            for (int j = g; j < g + m; j++) if (w[j] != 0f) nz++;
            if (nz > n) return false;
        }
        return true;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d:%d", n, m);
    }
}
