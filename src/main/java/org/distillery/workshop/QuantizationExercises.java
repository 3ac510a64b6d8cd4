package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.distillery.eval.ParetoFrontier;
import org.distillery.quant.QuantizationSweep;
import org.distillery.quant.Quantizer;

/**
 * The exercises of {@code 20-quantization-sweep.ipynb}:
 * <ol>
 *   <li>20.1 RTN of one group of 8 weights at 3 bits (asymmetric min-max grid), checked against {@link Quantizer};</li>
 *   <li>20.2 which 2-bit models of the notebook's sweep are on the Pareto frontier of (bytes, perplexity), checked
 *   against {@link ParetoFrontier} on the notebook's {@code points};</li>
 *   <li>20.3 the share of RTN per-channel's 3-bit perplexity gap to float that Norm Tweaking recovers in the
 *   notebook's sweep (calibration seed 0), from the same {@code points}.</li>
 * </ol>
 */
public final class QuantizationExercises {
    private QuantizationExercises() {}

    /** 20.1: the group [1, 8]. */
    public static final float[] GROUP = {0.12f, -0.40f, 0.05f, 0.31f, -0.07f, 0.22f, -0.18f, 0.02f};
    /** 20.1: bits. */
    public static final int GROUP_BITS = 3;
    /** 20.2: the bit width whose frontier models are asked for. */
    public static final int FRONTIER_BITS = 2;
    /** 20.3: the bit width of the Norm Tweaking gap. */
    public static final int GAP_BITS = 3;

    private static final Exercise.Context POINTS = new Exercise.Context("points", List.class, "the sweep's List of QuantizationSweep.Point");

    /** The three exercises, in order. */
    public static List<Exercise> all() {
        return List.of(rtnGroup(), frontier(), normTweakGap());
    }

    static Exercise rtnGroup() {
        return new Exercise("20.1", "RTN of the group {0.12, -0.40, 0.05, 0.31, -0.07, 0.22, -0.18, 0.02} at 3 bits (asymmetric)",
                "a double[8]: the weights after rounding (scale x (q - zero))", "min = -0.40, max = 0.31 (the range always contains 0);"
                        + " scale = (max - min) / (2^3 - 1), zero = round(-min / scale), q = clamp(round(w / scale) + zero, 0, 7).",
                null, (e, a, c) -> {
            double[] v = Answers.numbers(a, GROUP.length);
            double[] ref = toDouble(Quantizer.perChannel(GROUP_BITS, false).roundTrip(GROUP, 1, GROUP.length));
            if (close(v, ref, 1e-5, 1e-7)) {
                double err = 0;
                for (int i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i] - GROUP[i]));
                return e.correct("the group on 8 levels: " + Arrays.toString(Quantizer.perChannel(GROUP_BITS, false).roundTrip(GROUP, 1, GROUP.length))
                        + "; largest error " + Answers.showFloat(err)
                        + ", at most half a step (Quantizer agrees).");
            }
            double[] sym = toDouble(Quantizer.perChannel(GROUP_BITS, true).roundTrip(GROUP, 1, GROUP.length));
            if (close(v, sym, 1e-5, 1e-7)) {
                return e.wrong("That is the symmetric grid (absmax / 3, no zero point).", "the asymmetric grid uses all 8 codes from min to max.");
            }
            return e.wrong("Not the rounded group: element " + Answers.firstDifference(v, ref, 1e-5, 1e-7) + " differs.");
        });
    }

    static Exercise frontier() {
        return new Exercise("20.2", "the 2-bit models on the sweep's Pareto frontier of (model bytes, perplexity)",
                "a String or a List of Strings: the method label(s) as in the sweep table, e.g. \"GPTQ per-channel + NT\"",
                "a model is on the frontier when no other model of the sweep is no larger and no worse, and better in one of the"
                        + " two; the \"Pareto frontier\" table lists them with their bits.", POINTS, (e, a, c) -> {
            List<QuantizationSweep.Point> points = Answers.listOf(c, QuantizationSweep.Point.class, "points");
            if (points.stream().noneMatch(p -> p.bits() == FRONTIER_BITS)) {
                throw new IllegalArgumentException("points: the sweep has no " + FRONTIER_BITS + "-bit model; run the sweep cell first");
            }
            double[] bytes = points.stream().mapToDouble(QuantizationSweep.Point::totalBytes).toArray();
            double[] ppl = points.stream().mapToDouble(QuantizationSweep.Point::perplexity).toArray();
            Set<String> ref = new LinkedHashSet<>();
            for (int i : ParetoFrontier.indices(bytes, ppl)) if (points.get(i).bits() == FRONTIER_BITS) ref.add(points.get(i).label());
            Set<String> labels = new TreeSet<>();
            for (QuantizationSweep.Point p : points) labels.add(p.label());
            List<String> given = new ArrayList<>();
            for (String s : Answers.labels(a)) for (String part : s.split(",")) if (!part.isBlank()) given.add(part.trim());
            for (String s : given) {
                if (!labels.contains(s)) return e.wrong("\"" + s + "\" is not a method label of the sweep; the labels are " + labels + ".");
            }
            Set<String> answer = new LinkedHashSet<>(given);
            if (answer.equals(ref)) {
                return e.correct("the " + FRONTIER_BITS + "-bit frontier model" + (ref.size() > 1 ? "s are " : " is ") + ref
                        + " (ParetoFrontier on this run's points agrees): every other " + FRONTIER_BITS
                        + "-bit model is larger, or as large with a higher perplexity.");
            }
            List<String> extra = answer.stream().filter(s -> !ref.contains(s)).toList();
            List<String> missing = ref.stream().filter(s -> !answer.contains(s)).toList();
            return e.wrong((extra.isEmpty() ? "" : extra + (extra.size() > 1 ? " are" : " is") + " not on the frontier at "
                    + FRONTIER_BITS + " bits. ") + (missing.isEmpty() ? "" : missing.size() + " frontier model"
                    + (missing.size() > 1 ? "s are" : " is") + " missing."));
        });
    }

    static Exercise normTweakGap() {
        return new Exercise("20.3", "the share (%) of RTN per-channel's 3-bit perplexity gap to float that Norm Tweaking recovers",
                "a double: 100 (ppl_RTN - ppl_RTN+NT) / (ppl_RTN - ppl_float), in %", "take the two 3-bit \"RTN per-channel\" points"
                        + " of the sweep (seed 0), with and without Norm Tweaking (Point.normTweak()); the float perplexity is"
                        + " Point.floatPerplexity().", POINTS, (e, a, c) -> {
            List<QuantizationSweep.Point> points = Answers.listOf(c, QuantizationSweep.Point.class, "points");
            QuantizationSweep.Point base = find(points, false), tweaked = find(points, true);
            double ref = 100 * (base.perplexity() - tweaked.perplexity()) / (base.perplexity() - base.floatPerplexity());
            double v = Answers.number(a);
            if (close(v, ref, 0, 0.05)) {
                return e.correct(String.format(Locale.ROOT, "Norm Tweaking recovers %.2f %% of the gap (RTN %.4f, + NT %.4f, float %.4f)%s.",
                        ref, base.perplexity(), tweaked.perplexity(), base.floatPerplexity(),
                        ref < 0 ? ": negative, the tweak made this model worse" : ""));
            }
            if (close(v, ref / 100, 0, 0.0005)) return e.wrong(show(v) + " is a fraction.", "give it in %: multiply by 100.");
            if (close(v, -ref, 0, 0.05)) return e.wrong(show(v) + " has the wrong sign.", "recovered = (ppl_RTN - ppl_RTN+NT) / (ppl_RTN - ppl_float).");
            if (close(v, ref, 0, 2)) return e.wrong(show(v) + " is close, but not within 0.05 percentage points.", Answers.FULL_PRECISION);
            return e.wrong(show(v) + " is not the recovered share.");
        });
    }

    private static QuantizationSweep.Point find(List<QuantizationSweep.Point> points, boolean normTweak) {
        return points.stream().filter(p -> p.scheme() == QuantizationSweep.Scheme.RTN_CHANNEL && p.bits() == GAP_BITS
                        && p.normTweak() == normTweak && p.seed() == 0).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("points: no " + GAP_BITS + "-bit RTN per-channel point" + (normTweak ? " + NT" : "")
                        + " of seed 0; run the sweep cell (bits " + GAP_BITS + ") first"));
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
