package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.distillery.prune.MagnitudePruning;
import org.distillery.prune.NmPattern;
import org.distillery.prune.PruningSweep;
import org.distillery.prune.Wanda;

/**
 * The exercises of {@code 30-pruning.ipynb}:
 * <ol>
 *   <li>30.1 the 2:4 mask of one row, checked against {@link NmPattern#select};</li>
 *   <li>30.2 Wanda's 50 % mask of a 2 x 4 weight with given input norms, checked against {@link Wanda#layerMask};</li>
 *   <li>30.3 the AGP sparsity at step 2 of 5 towards 80 %, checked against {@link MagnitudePruning#agpSparsity};</li>
 *   <li>30.4 the share of magnitude's 70 % perplexity gap to dense that SparseGPT closes in the notebook's sweep,
 *   from the notebook's {@code points} summarised by {@link PruningSweep#summarize}.</li>
 * </ol>
 */
public final class PruningExercises {
    private PruningExercises() {}

    /** 30.1: one row of 8 weights. */
    public static final float[] ROW = {0.9f, -0.8f, 0.7f, 0.1f, -0.2f, 0.05f, 0.3f, -0.15f};
    /** 30.2: W [2, 4], row-major. */
    public static final float[] WANDA_W = {0.5f, -0.1f, 0.3f, 0.2f, -0.4f, 0.6f, 0.05f, -0.3f};
    /** 30.2: the input norms ||X_j||_2 [4]. */
    public static final double[] WANDA_NORMS = {1.0, 8.0, 0.5, 2.0};
    /** 30.3: step t of n, towards s_f from 0. */
    public static final int AGP_T = 2, AGP_N = 5;
    /** 30.3: the final sparsity. */
    public static final double AGP_TARGET = 0.8;
    /** 30.4: the sparsity of the gap. */
    public static final double GAP_SPARSITY = 0.7;

    /** The four exercises, in order. */
    public static List<Exercise> all() {
        return List.of(twoFour(), wanda(), agp(), sparseGptGap());
    }

    static Exercise twoFour() {
        return new Exercise("30.1", "the 2:4 mask of the row {0.9, -0.8, 0.7, 0.1, -0.2, 0.05, 0.3, -0.15}",
                "a boolean[8]: true for each weight kept", "in every group of 4 consecutive weights keep the 2 with the largest |w|.",
                null, (e, a, c) -> {
            boolean[] v = Answers.flags(a, ROW.length);
            boolean[] ref = NmPattern.TWO_FOUR.select(abs(ROW), 1, ROW.length);
            if (Arrays.equals(v, ref)) {
                return e.correct(show(ref) + " (NmPattern 2:4 agrees): 0.7 is pruned although it is larger than every weight kept"
                        + " in the second group; the pattern trades that for hardware-friendly groups.");
            }
            if (Arrays.equals(v, not(ref))) return e.wrong("The flags are inverted.", "true means kept.");
            boolean[] row = Wanda.layerMask(ROW, 1, ROW.length, ones(ROW.length), Wanda.Options.unstructured(0.5));
            if (Arrays.equals(v, row)) return e.wrong("That keeps the 4 largest of the whole row (unstructured 50 %).", "choose 2 of 4 within each group.");
            return e.wrong(show(v) + " is not the 2:4 mask.");
        });
    }

    static Exercise wanda() {
        return new Exercise("30.2", "Wanda's 50 % mask of W = {{0.5, -0.1, 0.3, 0.2}, {-0.4, 0.6, 0.05, -0.3}}, ||X|| = {1, 8, 0.5, 2}",
                "a boolean[8] (row-major): true for each weight kept", "score S_ij = |W_ij| x ||X_j||; in every row prune the half with"
                        + " the smallest scores.", null, (e, a, c) -> {
            boolean[] v = Answers.flags(a, WANDA_W.length);
            Wanda.Options half = Wanda.Options.unstructured(0.5);
            boolean[] ref = Wanda.layerMask(WANDA_W, 2, 4, WANDA_NORMS, half);
            if (Arrays.equals(v, ref)) {
                return e.correct(show(ref) + " (Wanda.layerMask agrees): -0.1 survives because its input is 8x larger, 0.3 goes"
                        + " because its input is small.");
            }
            if (Arrays.equals(v, not(ref))) return e.wrong("The flags are inverted.", "true means kept.");
            if (Arrays.equals(v, Wanda.layerMask(WANDA_W, 2, 4, ones(4), half))) {
                return e.wrong("That is magnitude pruning per row.", "multiply each |W_ij| by its input's norm ||X_j|| first.");
            }
            return e.wrong(show(v) + " is not Wanda's mask.");
        });
    }

    static Exercise agp() {
        return new Exercise("30.3", "the AGP sparsity at step t = 2 of n = 5, from 0 to s_f = 80 %",
                "a double: the sparsity as a fraction", "s_t = s_f (1 - (1 - t/n)^3): fast at first, flattening out.", null, (e, a, c) -> {
            double v = Answers.number(a), ref = MagnitudePruning.agpSparsity(AGP_T, AGP_N, 0, AGP_TARGET);
            if (close(v, ref, 1e-6, 1e-12)) {
                return e.correct("s_2 = " + show(ref) + ": already " + Math.round(100 * ref / AGP_TARGET) + " % of the way after 2 of 5 steps"
                        + " (MagnitudePruning.agpSparsity agrees).");
            }
            if (close(v, 100 * ref, 1e-6, 1e-9)) return e.wrong(show(v) + " is in %.", "give a fraction between 0 and 1.");
            if (close(v, AGP_TARGET * AGP_T / AGP_N, 1e-6, 1e-12)) return e.wrong(show(v) + " is a linear schedule.", "AGP is cubic: 1 - (1 - t/n)^3.");
            return e.wrong(show(v) + " is not s_2.");
        });
    }

    static Exercise sparseGptGap() {
        return new Exercise("30.4", "the share (%) of magnitude's 70 % perplexity gap to dense that SparseGPT closes",
                "a double: 100 (ppl_magnitude - ppl_SparseGPT) / (ppl_magnitude - ppl_dense), in %, SparseGPT as the mean over its seeds",
                "PruningSweep.summarize(points) gives one row per method and sparsity with the perplexity over seeds"
                        + " (Summary.perplexity().mean()); the dense perplexity is any point's densePerplexity().",
                new Exercise.Context("points", List.class, "the one-shot sweep's List of PruningSweep.Point"), (e, a, c) -> {
            List<PruningSweep.Point> points = Answers.listOf(c, PruningSweep.Point.class, "points");
            List<PruningSweep.Summary> rows = PruningSweep.summarize(points);
            PruningSweep.Summary mag = row(rows, PruningSweep.Method.MAGNITUDE), sgpt = row(rows, PruningSweep.Method.SPARSEGPT);
            double dense = points.get(0).densePerplexity(), m = mag.perplexity().mean(), s = sgpt.perplexity().mean();
            double ref = 100 * (m - s) / (m - dense);
            double v = Answers.number(a);
            if (close(v, ref, 0, 0.05)) {
                return e.correct(String.format(Locale.ROOT, "SparseGPT closes %.2f %% of the gap at 70 %% (magnitude %.4f, SparseGPT %.4f"
                        + " over %d seeds, dense %.4f).", ref, m, s, sgpt.perplexity().n(), dense));
            }
            if (close(v, ref / 100, 0, 0.0005)) return e.wrong(show(v) + " is a fraction.", "give it in %: multiply by 100.");
            PruningSweep.Point seed0 = points.stream().filter(p -> p.method() == PruningSweep.Method.SPARSEGPT && p.pattern() == null
                    && Math.abs(p.target() - GAP_SPARSITY) < 1e-9 && p.seed() == 0).findFirst().orElse(null);
            if (seed0 != null && close(v, 100 * (m - seed0.perplexity()) / (m - dense), 0, 0.05) && sgpt.perplexity().n() > 1) {
                return e.wrong(show(v) + " uses SparseGPT's seed 0 only.", "take the mean over SparseGPT's calibration seeds.");
            }
            if (close(v, ref, 0, 2)) return e.wrong(show(v) + " is close, but not within 0.05 percentage points.", Answers.FULL_PRECISION);
            return e.wrong(show(v) + " is not the share of the gap.");
        });
    }

    private static PruningSweep.Summary row(List<PruningSweep.Summary> rows, PruningSweep.Method method) {
        return rows.stream().filter(r -> r.method() == method && r.pattern() == null && "one-shot".equals(r.setting())
                        && Math.abs(r.target() - GAP_SPARSITY) < 1e-9).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("points: no one-shot " + method.label() + " point at "
                        + Math.round(100 * GAP_SPARSITY) + " % sparsity; run the one-shot sweep cell first"));
    }

    private static double[] abs(float[] w) {
        double[] a = new double[w.length];
        for (int i = 0; i < w.length; i++) a[i] = Math.abs(w[i]);
        return a;
    }

    private static double[] ones(int n) {
        double[] a = new double[n];
        Arrays.fill(a, 1);
        return a;
    }

    private static boolean[] not(boolean[] b) {
        boolean[] o = new boolean[b.length];
        for (int i = 0; i < b.length; i++) o[i] = !b[i];
        return o;
    }
}
