package org.distillery.distill;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The table and charts comparing students with their teacher: perplexity against parameters and against
 * measured evaluation speed, with ratios to the teacher beside DistilGPT2's published ratios.
 */
public final class StudentComparison {
    private StudentComparison() {}

    /** DistilGPT2 (Hugging Face model card): 82M parameters vs GPT-2's 124M. */
    public static final double DISTILGPT2_PARAMS = 82e6, GPT2_PARAMS = 124e6;
    /** WikiText-103 test perplexity, DistilGPT2 vs GPT-2 (model card). */
    public static final double DISTILGPT2_PPL = 21.1, GPT2_PPL = 16.3;
    /** "about twice as fast" as GPT-2 (model card, approximate). */
    public static final double DISTILGPT2_SPEEDUP = 2.0;

    /**
     * One model of the comparison.
     *
     * @param model           "teacher" or the student shape's label
     * @param training        how it was trained (a recipe's label, "teacher" for the teacher)
     * @param layers          n_layer
     * @param width           n_embd
     * @param parameters      parameter count
     * @param perplexities    validation perplexity of each seed (one value for a single run)
     * @param tokensPerSecond measured evaluation tokens/s
     */
    public record Entry(String model, String training, int layers, int width, long parameters, double[] perplexities,
                        double tokensPerSecond) {
        public Entry {
            if (perplexities == null || perplexities.length == 0) {
                throw new IllegalArgumentException("perplexities: need at least one value");
            }
            perplexities = perplexities.clone();
        }

        public double meanPerplexity() { return Arrays.stream(perplexities).average().orElseThrow(); }

        public double minPerplexity() { return Arrays.stream(perplexities).min().orElseThrow(); }

        public double maxPerplexity() { return Arrays.stream(perplexities).max().orElseThrow(); }
    }

    /**
     * One row per model (teacher first), then DistilGPT2's published ratios: parameters, perplexity (mean over
     * seeds, with min and max), tokens/s, and each as a ratio to the teacher (parameters and perplexity
     * student / teacher, speed student / teacher).
     */
    public static Table table(String title, Entry teacher, List<Entry> students) {
        List<Entry> all = new ArrayList<>();
        all.add(teacher);
        all.addAll(students);
        StringColumn model = StringColumn.create("model"), training = StringColumn.create("training");
        IntColumn layers = IntColumn.create("layers"), width = IntColumn.create("width"), seeds = IntColumn.create("seeds");
        LongColumn params = LongColumn.create("parameters");
        DoubleColumn ppl = DoubleColumn.create("val_ppl"), pplMin = DoubleColumn.create("val_ppl_min"),
                pplMax = DoubleColumn.create("val_ppl_max"), speed = DoubleColumn.create("eval_tokens_per_s"),
                paramRatio = DoubleColumn.create("params_vs_teacher"), speedRatio = DoubleColumn.create("speed_vs_teacher"),
                pplRatio = DoubleColumn.create("ppl_vs_teacher");
        for (Entry e : all) {
            model.append(e.model());
            training.append(e.training());
            layers.append(e.layers());
            width.append(e.width());
            seeds.append(e.perplexities().length);
            params.append(e.parameters());
            ppl.append(e.meanPerplexity());
            pplMin.append(e.minPerplexity());
            pplMax.append(e.maxPerplexity());
            speed.append(e.tokensPerSecond());
            paramRatio.append((double) e.parameters() / teacher.parameters());
            speedRatio.append(e.tokensPerSecond() / teacher.tokensPerSecond());
            pplRatio.append(e.meanPerplexity() / teacher.meanPerplexity());
        }
        model.append("DistilGPT2 (published)");
        training.append("distilled (WikiText-103 test ppl, other data and scale)");
        layers.append(6);
        width.append(768);
        seeds.appendMissing();
        params.append((long) DISTILGPT2_PARAMS);
        ppl.append(DISTILGPT2_PPL);
        pplMin.appendMissing();
        pplMax.appendMissing();
        speed.appendMissing();
        paramRatio.append(DISTILGPT2_PARAMS / GPT2_PARAMS);
        speedRatio.append(DISTILGPT2_SPEEDUP);
        pplRatio.append(DISTILGPT2_PPL / GPT2_PPL);
        return Table.create(title).addColumns(model, training, layers, width, seeds, params, ppl, pplMin, pplMax, speed,
                paramRatio, speedRatio, pplRatio);
    }

    /** Perplexity (mean over seeds) against parameters; one series per training type, points labelled by model. */
    public static XYChart perplexityVsParameters(String title, Entry teacher, List<Entry> students) {
        return chart(title, "parameters", teacher, students, e -> e.parameters());
    }

    /** Perplexity (mean over seeds) against measured evaluation tokens/s. */
    public static XYChart perplexityVsSpeed(String title, Entry teacher, List<Entry> students) {
        return chart(title, "evaluation tokens/s (measured)", teacher, students, Entry::tokensPerSecond);
    }

    private static XYChart chart(String title, String xTitle, Entry teacher, List<Entry> students, ToDoubleFunction<Entry> x) {
        XYChart c = new XYChartBuilder().width(760).height(460).title(title).xAxisTitle(xTitle)
                .yAxisTitle("validation perplexity (per byte)").build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setMarkerSize(10);
        c.getStyler().setAnnotationTextFontColor(java.awt.Color.DARK_GRAY);
        Map<String, List<Entry>> byTraining = new LinkedHashMap<>();
        byTraining.put(teacher.training(), new ArrayList<>(List.of(teacher)));
        for (Entry e : students) byTraining.computeIfAbsent(e.training(), k -> new ArrayList<>()).add(e);
        for (Map.Entry<String, List<Entry>> g : byTraining.entrySet()) {
            double[] xs = g.getValue().stream().mapToDouble(x).toArray();
            double[] ys = g.getValue().stream().mapToDouble(Entry::meanPerplexity).toArray();
            XYSeries s = c.addSeries(g.getKey(), xs, ys);
            if (g.getValue().get(0) == teacher) s.setMarker(SeriesMarkers.DIAMOND);
        }
        List<Entry> all = new ArrayList<>(students);
        all.add(0, teacher);
        Map<String, double[]> labelAt = new LinkedHashMap<>();    // one label per model, at its best point
        for (Entry e : all) {
            double[] p = labelAt.get(e.model());
            if (p == null || e.meanPerplexity() < p[1]) labelAt.put(e.model(), new double[] {x.applyAsDouble(e), e.meanPerplexity()});
        }
        for (Map.Entry<String, double[]> l : labelAt.entrySet()) {
            c.addAnnotation(new AnnotationText(l.getKey(), l.getValue()[0], l.getValue()[1], false));
        }
        return c;
    }
}
