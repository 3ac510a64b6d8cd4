package org.distillery.formats;

import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.Table;

/** Charts of number formats, for notebooks and reports (render with {@code Notebook.savePng}). */
public final class FormatCharts {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 450;

    private FormatCharts() {}

    /**
     * Dynamic range in binades (powers of two) of each format: for a float format the whole range
     * (smallest subnormal to max) and the normal range (smallest normal to max); for an integer format
     * the range between the step and the largest magnitude, which is the same for both bars. Logarithmic
     * axis, so that the 8-bit and integer formats are readable next to FP32.
     */
    public static CategoryChart dynamicRange(List<FloatFormat> floats, List<IntFormat> ints) {
        List<String> names = new ArrayList<>();
        List<Double> total = new ArrayList<>();
        List<Double> normal = new ArrayList<>();
        for (FloatFormat f : floats) {
            names.add(f.name());
            total.add(f.dynamicRangeBinades());
            normal.add(f.normalRangeBinades());
        }
        for (IntFormat f : ints) {
            names.add(f.name());
            total.add(f.dynamicRangeBinades());
            normal.add(f.dynamicRangeBinades());
        }
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Dynamic range: log2(largest / smallest positive value)")
                .xAxisTitle("format").yAxisTitle("binades (powers of two), log scale").build();
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setYAxisMin(1.0);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setOverlapped(false);
        c.addSeries("with subnormals", names, total);
        c.addSeries("normal range", names, normal);
        return c;
    }

    /**
     * The positive representable values of each format (at most 16 bits) on a logarithmic number line,
     * one row of points per format: where the values are dense and where they run out.
     */
    public static XYChart numberLine(List<FloatFormat> formats) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Positive representable values (log scale)").xAxisTitle("value").yAxisTitle("format").build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setMarkerSize(3);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        int row = formats.size();
        for (FloatFormat f : formats) {
            float[] v = f.positiveValues();
            double[] x = new double[v.length];
            double[] y = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                x[i] = v[i];
                y[i] = row;
            }
            c.addSeries(f.name() + " (" + v.length + " values)", x, y).setMarker(SeriesMarkers.CIRCLE);
            row--;
        }
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(formats.size() + 1.0);
        c.getStyler().setYAxisTicksVisible(false);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        return c;
    }

    /** SQNR in dB per format, from a {@link RoundingError#measure} table (infinite values are left out). */
    public static CategoryChart sqnr(Table roundingErrors) {
        List<String> names = new ArrayList<>();
        List<Double> db = new ArrayList<>();
        for (int r = 0; r < roundingErrors.rowCount(); r++) {
            double v = roundingErrors.doubleColumn("sqnr_db").get(r);
            if (Double.isFinite(v)) {
                names.add(roundingErrors.stringColumn("format").get(r));
                db.add(v);
            }
        }
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Signal-to-quantization-noise ratio (higher is better)")
                .xAxisTitle("format").yAxisTitle("SQNR (dB)").build();
        c.getStyler().setLegendVisible(false);
        c.addSeries("SQNR", names, db);
        return c;
    }

    /**
     * Histogram of {@code log10} of the relative error {@code |w' - w| / |w|} of each format on the
     * non-zero weights, as fractions of the non-zero weights in {@code bins} equal bins. Weights rounded
     * exactly (relative error 0, no logarithm) are not drawn; the legend gives their fraction.
     */
    public static XYChart relativeErrorHistogram(float[] weights, List<? extends NumericFormat> formats, int bins) {
        if (bins < 1) {
            throw new IllegalArgumentException("bins = " + bins + " must be >= 1");
        }
        List<double[]> logs = new ArrayList<>();
        List<Double> exactFraction = new ArrayList<>();
        List<Integer> nonZero = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (NumericFormat f : formats) {
            double[] rel = RoundingError.relativeErrors(weights, f);
            double[] lg = new double[rel.length];
            int n = 0, exact = 0;
            for (double r : rel) {
                if (r > 0 && Double.isFinite(r)) {
                    double l = Math.log10(r);
                    lg[n++] = l;
                    lo = Math.min(lo, l);
                    hi = Math.max(hi, l);
                } else if (r == 0) {
                    exact++;
                }
            }
            logs.add(java.util.Arrays.copyOf(lg, n));
            exactFraction.add(rel.length == 0 ? 0 : (double) exact / rel.length);
            nonZero.add(rel.length);
        }
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Relative rounding error of weights").xAxisTitle("log10(|w' - w| / |w|)")
                .yAxisTitle("fraction of weights").build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        c.getStyler().setMarkerSize(0);
        c.getStyler().setXAxisDecimalPattern("0.0");
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        if (!(hi >= lo)) {
            lo = -1;
            hi = 0;
        }
        double width = hi > lo ? (hi - lo) / bins : 1;
        for (int k = 0; k < formats.size(); k++) {
            double[] lg = logs.get(k);
            double[] x = new double[bins];
            double[] y = new double[bins];
            for (int b = 0; b < bins; b++) {
                x[b] = lo + (b + 0.5) * width;
            }
            for (double l : lg) {
                int b = (int) Math.min(bins - 1, Math.floor((l - lo) / width));
                y[b]++;
            }
            double denom = Math.max(1, nonZero.get(k));
            for (int b = 0; b < bins; b++) {
                y[b] /= denom;
            }
            String label = formats.get(k).name();
            if (exactFraction.get(k) > 0) {
                label += String.format(java.util.Locale.ROOT, " (%.2g%% exact)", 100 * exactFraction.get(k));
            }
            c.addSeries(label, x, y).setMarker(SeriesMarkers.NONE);
        }
        return c;
    }
}
