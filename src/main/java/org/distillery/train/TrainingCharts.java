package org.distillery.train;

import java.nio.file.Path;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.io.csv.CsvReadOptions;

/** Tables and charts of a training run's {@code metrics.csv} (long format step,split,metric,value). */
public final class TrainingCharts {
    private TrainingCharts() {}

    /** The metrics file as a table with columns step, split, metric, value. */
    public static Table metrics(Path metricsCsv) {
        return Table.read().usingOptions(CsvReadOptions.builder(metricsCsv.toFile()).tableName("metrics"));
    }

    /** The rows of one split ("train" or "val", as {@link Trainer} writes them) and metric, e.g. ("train", "loss"). */
    public static Table series(Table metrics, String split, String metric) {
        return metrics.where(metrics.stringColumn("split").isEqualTo(split)
                .and(metrics.stringColumn("metric").isEqualTo(metric)));
    }

    /** Training loss per step (a line) and validation loss at each evaluation (points), in nats/token. */
    public static XYChart lossCurve(Table metrics, String title) {
        XYChart chart = new XYChartBuilder().width(720).height(400).title(title)
                .xAxisTitle("step").yAxisTitle("loss (nats/token)").build();
        chart.getStyler().setMarkerSize(6);
        addSeries(chart, series(metrics, "train", "loss"), "train").setMarker(SeriesMarkers.NONE);
        Table val = series(metrics, "val", "loss");
        if (val.rowCount() > 0) {
            addSeries(chart, val, "validation").setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static XYSeries addSeries(XYChart chart, Table rows, String name) {
        double[] x = rows.numberColumn("step").asDoubleArray();
        double[] y = ((DoubleColumn) rows.numberColumn("value").asDoubleColumn()).asDoubleArray();
        return chart.addSeries(name, x, y);
    }
}
