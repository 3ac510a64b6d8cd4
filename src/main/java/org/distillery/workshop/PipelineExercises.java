package org.distillery.workshop;

import static org.distillery.workshop.Answers.close;
import static org.distillery.workshop.Answers.show;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.distillery.eval.ParetoFrontier;
import org.distillery.pipeline.CompressionPipeline;
import org.distillery.pipeline.ParetoChart;
import org.distillery.pipeline.StageCost;

/**
 * The exercises of {@code 40-compression-pipeline.ipynb}, all on the notebook's own results:
 * <ol>
 *   <li>40.1 the factor by which each stage shrinks the bytes on disk relative to the stage before it, from the
 *   notebook's {@code rows} ({@code outcome.costs()}); checked through the telescoping product: the first k factors
 *   must multiply to the teacher's bytes over stage k's;</li>
 *   <li>40.2 which single-technique runs (kind pruned or quantized) are on the Pareto frontier of (bytes, perplexity)
 *   among themselves, from the notebook's {@code points} ({@link ParetoChart#points}); checked against
 *   {@link ParetoFrontier};</li>
 *   <li>40.3 the bits the quantized stage stores per nonzero weight (8 x bytes / nonzero parameters), from
 *   {@code rows}.</li>
 * </ol>
 */
public final class PipelineExercises {
    private PipelineExercises() {}

    /** 40.2: the kinds of {@link ParetoChart.Point} made by one technique applied to the teacher. */
    public static final Set<String> SINGLE_TECHNIQUE = Set.of("pruned", "quantized");
    /** 40.3: the row asked about. */
    public static final String QUANTIZED = CompressionPipeline.ROWS.get(3);

    private static final Exercise.Context ROWS = new Exercise.Context("rows", List.class,
            "the pipeline's cost rows, outcome.costs(): a List of StageCost, the teacher first");
    private static final Exercise.Context POINTS = new Exercise.Context("points", List.class,
            "the chart's List of ParetoChart.Point, ParetoChart.points(runsRoot)");

    /** The three exercises, in order. */
    public static List<Exercise> all() {
        return List.of(stageFactors(), singleTechniqueFrontier(), bitsPerWeight());
    }

    static Exercise stageFactors() {
        return new Exercise("40.1", "the factor by which each stage shrinks the bytes on disk relative to the stage before it",
                "a double[] with one factor per stage after the teacher (bytes of the stage before / bytes of this stage)",
                "factor_k = rows.get(k - 1).bytes() / rows.get(k).bytes() for k = 1 .. rows.size() - 1; compute in double, not long"
                        + " division.", ROWS, (e, a, c) -> {
            List<StageCost> rows = costRows(c);
            int n = rows.size() - 1;
            double[] v = Answers.numbers(a, n);
            // the reference by another route: the table's reductions relative to the teacher, x_k = bytes_0 / bytes_k
            double[] x = new double[n + 1];
            for (int k = 0; k <= n; k++) x[k] = (double) rows.get(0).bytes() / rows.get(k).bytes();
            double[] ref = new double[n], inverted = new double[n], cumulative = new double[n], percent = new double[n];
            for (int k = 0; k < n; k++) {
                ref[k] = x[k + 1] / x[k];
                inverted[k] = x[k] / x[k + 1];
                cumulative[k] = x[k + 1];
                percent[k] = 100 * (1 - x[k] / x[k + 1]);
            }
            // the answer's running product must reach each stage's reduction relative to the teacher (the tolerance grows
            // with the factors multiplied, so that factors each within 1e-6 of the reference pass)
            boolean telescopes = true;
            double product = 1;
            for (int k = 0; k < n && telescopes; k++) {
                product *= v[k];
                telescopes = close(product, x[k + 1], 2e-6 * (k + 1), 0);
            }
            if (telescopes) {
                int big = 0;
                for (int k = 1; k < n; k++) if (ref[k] > ref[big]) big = k;
                return e.correct(show(ref) + ": their product " + String.format(Locale.ROOT, "%.3f", x[n]) + " is the " + rows.get(n).stage()
                        + " model's reduction relative to the teacher (x_smaller_bytes): factors of consecutive stages multiply."
                        + " The biggest step is " + rows.get(big).stage() + " -> " + rows.get(big + 1).stage() + " (x"
                        + String.format(Locale.ROOT, "%.3f", ref[big]) + ").");
            }
            if (close(v, inverted, 1e-6, 0)) {
                return e.wrong("The factors are inverted.", "bytes of the stage before divided by bytes of this stage: above 1 is smaller.");
            }
            if (close(v, cumulative, 1e-6, 0)) {
                return e.wrong("These are the reductions relative to the teacher (the table's x_smaller_bytes).",
                        "divide by the stage just before, not by the teacher.");
            }
            if (close(v, percent, 0, 0.05)) {
                return e.wrong("These are the percentages of bytes saved per stage.", "give factors (2 means half the bytes), not percentages.");
            }
            int k = Answers.firstDifference(v, ref, 1e-6, 0);
            if (k < 0) return e.wrong(show(v) + " are not the factors.");
            return e.wrong("Factor " + (k + 1) + " (" + rows.get(k).stage() + " -> " + rows.get(k + 1).stage() + ") is " + show(v[k])
                    + ", not " + rows.get(k).bytes() + " / " + rows.get(k + 1).bytes() + ".");
        });
    }

    static Exercise singleTechniqueFrontier() {
        return new Exercise("40.2", "the single-technique runs (kind pruned or quantized) on the Pareto frontier among themselves",
                "a String or a List of Strings: the run names as in points (p.run()), e.g. \"quantize-rtn-8\"",
                "keep the points whose p.kind() is \"pruned\" or \"quantized\"; one of them is on the frontier when no other of them has"
                        + " bytes <= and perplexity <=, and is smaller in one of the two.", POINTS, (e, a, c) -> {
            List<ParetoChart.Point> all = Answers.listOf(c, ParetoChart.Point.class, "points");
            List<ParetoChart.Point> single = all.stream().filter(p -> SINGLE_TECHNIQUE.contains(p.kind())).toList();
            if (single.isEmpty()) {
                throw new IllegalArgumentException("points: no run of kind pruned or quantized; run the cell of the runs beside the"
                        + " pipeline, then ParetoChart.points(runsRoot), first");
            }
            List<String> ref = runs(single, ParetoFrontier.indices(single.stream().mapToDouble(ParetoChart.Point::bytes).toArray(),
                    single.stream().mapToDouble(ParetoChart.Point::perplexity).toArray()));
            List<String> names = all.stream().map(ParetoChart.Point::run).toList();
            Set<String> answer = new LinkedHashSet<>();
            for (String s : Answers.labels(a)) for (String part : s.split(",")) if (!part.isBlank()) answer.add(part.trim());
            for (String s : answer) {
                if (!names.contains(s)) return e.wrong("\"" + s + "\" is not a run of points; the runs are " + names + ".");
            }
            List<String> whole = runs(all, ParetoChart.frontier(all));
            if (answer.equals(new LinkedHashSet<>(ref))) {
                List<String> pushedOff = ref.stream().filter(r -> !whole.contains(r)).toList();
                List<String> added = whole.stream().filter(r -> !ref.contains(r)).toList();
                return e.correct("the frontier of the single-technique runs is " + ref + " (ParetoFrontier agrees). With the pipeline's"
                        + " runs the frontier is " + whole + ": " + (added.isEmpty() ? "the pipeline adds no model to it"
                        : "the pipeline adds " + added) + (pushedOff.isEmpty() ? "" : " and pushes " + pushedOff + " off it") + ".");
            }
            List<String> combined = answer.stream().filter(s -> all.stream().anyMatch(p -> p.run().equals(s)
                    && !SINGLE_TECHNIQUE.contains(p.kind()))).toList();
            if (!combined.isEmpty()) {
                return e.wrong(combined + (combined.size() > 1 ? " are" : " is") + " the pipeline's (kind distilled or combined).",
                        new LinkedHashSet<>(whole).equals(answer) ? "that is the frontier of every run (the on_frontier column); keep"
                                + " only the kinds pruned and quantized, then find their frontier." : "keep only the kinds pruned and quantized.");
            }
            List<String> why = new ArrayList<>();
            for (String s : answer) {
                if (ref.contains(s)) continue;
                ParetoChart.Point p = point(single, s);
                ParetoChart.Point by = single.stream().filter(o -> o.bytes() <= p.bytes() && o.perplexity() <= p.perplexity()
                        && (o.bytes() < p.bytes() || o.perplexity() < p.perplexity())).findFirst().orElseThrow();
                why.add(s + " is dominated by " + by.run() + " (" + by.bytes() + " <= " + p.bytes() + " bytes, perplexity "
                        + show(by.perplexity()) + " <= " + show(p.perplexity()) + ").");
            }
            long missing = ref.stream().filter(r -> !answer.contains(r)).count();
            if (missing > 0) why.add(missing + " frontier run" + (missing > 1 ? "s are" : " is") + " missing.");
            return e.wrong(String.join(" ", why));
        });
    }

    static Exercise bitsPerWeight() {
        return new Exercise("40.3", "the bits the quantized stage stores per nonzero weight",
                "a double: 8 x bytes / nonzero parameters of the row \"" + QUANTIZED + "\"",
                "find the row whose stage() is \"" + QUANTIZED + "\"; bytes() counts every deployable file, nonzeroParameters() the"
                        + " weights that are not 0.", ROWS, (e, a, c) -> {
            List<StageCost> rows = costRows(c);
            StageCost q = rows.stream().filter(r -> r.stage().equals(QUANTIZED)).findFirst().orElseThrow(() -> new IllegalArgumentException(
                    "rows: no row \"" + QUANTIZED + "\"; the stages are " + rows.stream().map(StageCost::stage).toList()));
            if (q.nonzeroParameters() <= 0) throw new IllegalArgumentException("rows: the " + QUANTIZED + " row has no nonzero parameter");
            double ref = q.bytes() * 8.0 / q.nonzeroParameters();
            double v = Answers.number(a);
            StageCost t0 = rows.get(0);
            if (close(v, ref, 5e-4, 0)) {
                return e.correct(String.format(Locale.ROOT, "%.3f bits per nonzero weight (%d bytes, %d of %d parameters nonzero), against"
                                + " the teacher's %.3f bits per weight: far above the codes' width, because the embeddings and LayerNorms stay"
                                + " float32, every group carries a scale, and the packed codes store every weight, the pruned zeros too.",
                        ref, q.bytes(), q.nonzeroParameters(), q.parameters(), t0.bytes() * 8.0 / t0.nonzeroParameters()));
            }
            if (close(v, q.bytes() * 8.0 / q.parameters(), 5e-4, 0) && q.parameters() != q.nonzeroParameters()) {
                return e.wrong(show(v) + " divides by every parameter.", "divide by the nonzero ones, nonzeroParameters().");
            }
            if (close(v, ref / 8, 5e-4, 0)) return e.wrong(show(v) + " is in bytes per weight.", "multiply by 8 bits per byte.");
            if (close(v, 1 / ref, 5e-4, 0) || close(v, 8 / ref, 5e-4, 0)) {
                return e.wrong(show(v) + " is the ratio inverted.", "bits per weight: 8 x bytes divided by the nonzero parameters.");
            }
            for (StageCost r : rows) {
                if (r != q && r.nonzeroParameters() > 0 && close(v, r.bytes() * 8.0 / r.nonzeroParameters(), 5e-4, 0)) {
                    return e.wrong(show(v) + " is the " + r.stage() + " row's.", "take the row whose stage() is \"" + QUANTIZED + "\".");
                }
            }
            if (v == Math.rint(v) && v >= 2 && v <= 8) {
                return e.wrong(show(v) + " is a nominal code width.", "the question is what the files store: use the row's bytes().");
            }
            if (close(v, ref, 0.02, 0)) return e.wrong(show(v) + " is close, but not within 0.05 %.", "compute it from the row's values, not rounded ones.");
            return e.wrong(show(v) + " is not 8 x bytes / nonzero parameters.");
        });
    }

    private static List<StageCost> costRows(Object context) {
        List<StageCost> rows = Answers.listOf(context, StageCost.class, "rows");
        if (rows.size() < 2) throw new IllegalArgumentException("rows: needs the teacher and at least one stage, but has " + rows.size() + " row(s)");
        for (StageCost r : rows) {
            if (r.bytes() <= 0) throw new IllegalArgumentException("rows: the " + r.stage() + " row has " + r.bytes() + " bytes; must be > 0");
        }
        return rows;
    }

    private static List<String> runs(List<ParetoChart.Point> points, int[] indices) {
        List<String> out = new ArrayList<>();
        for (int i : indices) out.add(points.get(i).run());
        return out;
    }

    private static ParetoChart.Point point(List<ParetoChart.Point> points, String run) {
        return points.stream().filter(p -> p.run().equals(run)).findFirst().orElseThrow();
    }
}
