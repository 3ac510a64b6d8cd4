package org.distillery.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.eval.ParetoFrontier;
import org.distillery.notebook.ChartAxes;
import org.distillery.record.RunRecord;
import org.distillery.record.RunTable;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Perplexity against size on disk (MB, log scale where the sizes span enough: {@link ChartAxes}) of every recorded model under a runs folder, by kind, with the Pareto
 * frontier (smaller and better: {@link ParetoFrontier}) and a pipeline's stages highlighted.
 *
 * <p>A run is a point when it is complete, has a model directory and a perplexity in its summary: {@code train} and
 * {@code distill} ({@code validation_perplexity}, on their run file's validation tokens), {@code prune} and
 * {@code quantize} ({@code perplexity_after}, on their {@code --eval} tokens). Each run is plotted with its own recorded
 * perplexity, so runs evaluated on different numbers of tokens are only roughly comparable; a pipeline's stages (its
 * cost table: one protocol) are drawn on top. Bytes: {@link StageCost#deployableBytes} of the run's model. Kind:
 * {@code trained}, {@code distilled}, {@code pruned}, {@code quantized}; {@code combined} when a prune or quantize run's
 * input model was itself distilled, pruned or quantized (its {@code summary.json} records a distillation, or it holds
 * {@code pruning.json} / {@code quantization.json}).
 */
public final class ParetoChart {
    private ParetoChart() {}

    /** One model: its run (relative to the runs folder), kind, bytes and perplexity. */
    public record Point(String run, String kind, long bytes, double perplexity) {}

    /** The points of every qualifying run under {@code runsRoot} (see the class comment), in run order. */
    public static List<Point> points(Path runsRoot) {
        List<Point> out = new ArrayList<>();
        for (Path dir : RunTable.find(runsRoot)) {
            RunRecord r = RunRecord.read(dir);
            if (!r.isComplete() || !Files.isRegularFile(r.modelDir().resolve("model.safetensors"))) continue;
            JsonNode summary = r.summary(), config = r.config();
            if (summary == null) continue;
            String command = config.path("command").asText();
            String metric = switch (command) {
                case "train", "distill" -> "validation_perplexity";
                case "prune", "quantize" -> "perplexity_after";
                default -> null;
            };
            JsonNode ppl = metric == null ? null : summary.path("metrics").get(metric);
            if (ppl == null || !ppl.isNumber() || !Double.isFinite(ppl.asDouble())) continue;
            out.add(new Point(runsRoot.toAbsolutePath().normalize().relativize(r.dir()).toString(), kind(command, config),
                    StageCost.deployableBytes(r.modelDir()), ppl.asDouble()));
        }
        return out;
    }

    /** The kind of a run of {@code command} with config {@code config} (see the class comment). */
    static String kind(String command, JsonNode config) {
        return switch (command) {
            case "train" -> "trained";
            case "distill" -> "distilled";
            case "prune", "quantize" -> {
                Path input = Path.of(config.path("options").path("model").asText());
                yield compressed(input) ? "combined" : command.equals("prune") ? "pruned" : "quantized";
            }
            default -> throw new IllegalArgumentException("command: " + command + " makes no point of the chart");
        };
    }

    /** Whether a model directory was distilled, pruned or quantized. */
    static boolean compressed(Path model) {
        if (Files.isRegularFile(model.resolve("pruning.json")) || Files.isRegularFile(model.resolve("quantization.json"))) return true;
        Path s = model.resolve("summary.json");
        if (!Files.isRegularFile(s)) return false;
        try {
            return new ObjectMapper().readTree(s.toFile()).path("objective").path("kind").asText().equals("distillation");
        } catch (IOException e) {
            return false;
        }
    }

    /** The indices of the frontier among {@code points} (bytes and perplexity both minimised), by increasing bytes. */
    public static int[] frontier(List<Point> points) {
        double[] cost = points.stream().mapToDouble(p -> p.bytes).toArray();
        double[] loss = points.stream().mapToDouble(p -> p.perplexity).toArray();
        return ParetoFrontier.indices(cost, loss);
    }

    /** The points as a table (run, kind, bytes, perplexity, on_frontier). */
    public static Table table(List<Point> points) {
        boolean[] on = new boolean[points.size()];
        for (int i : frontier(points)) on[i] = true;
        BooleanColumn f = BooleanColumn.create("on_frontier");
        for (boolean b : on) f.append(b);
        return Table.create("runs: perplexity vs bytes").addColumns(
                StringColumn.create("run", points.stream().map(Point::run).toList()),
                StringColumn.create("kind", points.stream().map(Point::kind).toList()),
                LongColumn.create("bytes", points.stream().mapToLong(Point::bytes).toArray()),
                DoubleColumn.create("perplexity", points.stream().mapToDouble(Point::perplexity).toArray()), f);
    }

    /**
     * The chart: one scatter series per kind, the frontier as a line, and {@code stages} (a pipeline's cost rows, may be
     * empty) as a highlighted line in stage order.
     */
    public static XYChart chart(List<Point> points, List<StageCost> stages, String title) {
        XYChart c = new XYChartBuilder().width(820).height(600).title(title).xAxisTitle("size on disk (deployable, MB)")
                .yAxisTitle("validation perplexity").build();
        // legend below: to its right the long pipeline label left the plot 320 px, too narrow for a labelled log axis
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Vertical);
        Map<String, List<Point>> byKind = new LinkedHashMap<>();
        for (String k : List.of("trained", "distilled", "pruned", "quantized", "combined")) byKind.put(k, new ArrayList<>());
        for (Point p : points) byKind.get(p.kind).add(p);
        byKind.forEach((k, ps) -> {
            if (ps.isEmpty()) return;
            XYSeries s = c.addSeries(k + " (" + ps.size() + ")", ps.stream().mapToDouble(p -> p.bytes / MB).toArray(),
                    ps.stream().mapToDouble(p -> p.perplexity).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        });
        if (!points.isEmpty()) {
            int[] f = frontier(points);
            XYSeries s = c.addSeries("Pareto frontier", java.util.Arrays.stream(f).mapToDouble(i -> points.get(i).bytes / MB).toArray(),
                    java.util.Arrays.stream(f).mapToDouble(i -> points.get(i).perplexity).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Step);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(java.awt.Color.GRAY);
        }
        if (!stages.isEmpty()) {
            XYSeries s = c.addSeries("pipeline: " + String.join(" > ", stages.stream().map(StageCost::stage).toList()),
                    stages.stream().mapToDouble(st -> st.bytes() / MB).toArray(), stages.stream().mapToDouble(StageCost::perplexity).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.DIAMOND);
            s.setLineColor(java.awt.Color.BLACK);
            s.setMarkerColor(java.awt.Color.BLACK);
        }
        ChartAxes.logX(c);
        ChartAxes.logY(c);
        return c;
    }

    /** Bytes per MB on the chart's x axis. */
    private static final double MB = 1e6;
}
