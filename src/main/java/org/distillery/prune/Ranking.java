package org.distillery.prune;

import java.util.Arrays;

/** Deterministic selection of the k smallest scores of a range (ties: lower index first), for the pruners. */
final class Ranking {
    private Ranking() {}

    /**
     * Sets {@code keep[i] = false} for the {@code k} smallest {@code score[i]}, i in [from, to); among equal
     * scores the lower indices are pruned first. Other entries of {@code keep} are not touched. Scores must not
     * be NaN.
     */
    static void pruneSmallest(double[] score, int from, int to, int k, boolean[] keep) {
        int len = to - from;
        if (k < 0 || k > len) throw new IllegalArgumentException("k = " + k + " is outside [0, " + len + "]");
        if (k == 0) return;
        if (k == len) {
            Arrays.fill(keep, from, to, false);
            return;
        }
        double[] s = Arrays.copyOfRange(score, from, to);
        Arrays.sort(s);
        double threshold = s[k - 1];                              // the k-th smallest value
        int below = 0;
        for (int i = from; i < to; i++) {
            if (Double.isNaN(score[i])) throw new IllegalArgumentException("score: NaN at index " + i);
            if (score[i] < threshold) below++;
        }
        int ties = k - below;                                     // how many of the scores equal to the threshold go
        for (int i = from; i < to; i++) {
            if (score[i] < threshold) {
                keep[i] = false;
            } else if (score[i] == threshold && ties > 0) {
                keep[i] = false;
                ties--;
            }
        }
    }

    /** round(s * n) as an int, for counts of pruned entries (s in [0, 1]). */
    static int count(double s, long n) {
        return Math.toIntExact(Math.round(s * n));
    }
}
