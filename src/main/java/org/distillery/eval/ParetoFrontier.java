package org.distillery.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The Pareto frontier of points (cost, loss) where both are to be minimised (e.g. model bytes and perplexity): the
 * points no other point dominates. A point dominates another when it is no worse in both coordinates and strictly
 * better in at least one. Equal points are all kept.
 */
public final class ParetoFrontier {
    private ParetoFrontier() {}

    /**
     * Indices of the frontier's points, in increasing cost (ties by loss, then index).
     *
     * @param cost cost per point, finite
     * @param loss loss per point, finite, the same length
     */
    public static int[] indices(double[] cost, double[] loss) {
        if (cost == null || loss == null) throw new IllegalArgumentException("cost, loss: must not be null");
        if (cost.length != loss.length) {
            throw new IllegalArgumentException("cost, loss: lengths " + cost.length + " and " + loss.length + " differ");
        }
        for (int i = 0; i < cost.length; i++) {
            if (!Double.isFinite(cost[i]) || !Double.isFinite(loss[i])) {
                throw new IllegalArgumentException("cost, loss: point " + i + " is (" + cost[i] + ", " + loss[i] + "); both must be finite");
            }
        }
        Integer[] order = new Integer[cost.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> cost[i]).thenComparingDouble(i -> loss[i]).thenComparingInt(i -> i));
        // a sweep in increasing cost: a point is on the frontier when its loss is below every cheaper point's, or
        // when it equals the last frontier point exactly
        List<Integer> out = new ArrayList<>();
        double best = Double.POSITIVE_INFINITY;
        int last = -1;
        for (int i : order) {
            if (loss[i] < best || (last >= 0 && cost[i] == cost[last] && loss[i] == loss[last])) {
                out.add(i);
                best = Math.min(best, loss[i]);
                last = i;
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
