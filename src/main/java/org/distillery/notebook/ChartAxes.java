package org.distillery.notebook;

import java.util.Locale;
import org.knowm.xchart.XYChart;

/**
 * A log scale for an axis of an {@link XYChart} where it helps, chosen from the chart's data so that the axis can be
 * read.
 *
 * <p>XChart's log axis labels only the powers of ten by default. On an axis that spans less than a decade or two,
 * such as perplexities from 9.5 to 14.5 or model sizes from 0.5 to 3.4 MB, that leaves one label or none, and a reader
 * cannot read values off the chart. So, from the smallest and largest positive value the chart's series put on the
 * axis:
 * <ul>
 *   <li>max / min below {@link #LOG_FROM} (or a value &lt;= 0): a linear axis. A log scale hardly changes such a
 *       range, and the linear one gets labels every few units;</li>
 *   <li>up to {@link #LABEL_EVERY_TICK_UP_TO}: a log axis with every tick labelled (1, 2, ..., 9 times each power of
 *       ten);</li>
 *   <li>beyond: a log axis labelled at the powers of ten only (more labels would overlap).</li>
 * </ul>
 * Call it after adding the series. A log axis gets " (log scale)" appended to its title.
 *
 * <p>Do not combine a log axis with XChart's tick-label formatting function: XChart then computes the labels for a
 * linear axis while it draws the points on the log one, and the labels are wrong. Scale the data instead (plot MB, not
 * bytes).
 */
public final class ChartAxes {
    /** Below this ratio of the largest to the smallest value an axis stays linear. */
    public static final double LOG_FROM = 3;
    /** Up to this ratio a log axis labels every tick; beyond, only the powers of ten. */
    public static final double LABEL_EVERY_TICK_UP_TO = 12;

    private ChartAxes() {}

    /** The scale an axis gets. */
    public enum Scale { LINEAR, LOG_EVERY_TICK_LABELLED, LOG_DECADES_LABELLED }

    /** The scale for an axis carrying {@code values} (non-finite values are ignored; see the class comment). */
    public static Scale scaleFor(double[] values) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            if (!Double.isFinite(v)) continue;
            if (v <= 0) return Scale.LINEAR;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (!(max >= min)) return Scale.LINEAR;                // no finite value
        double ratio = max / min;
        if (ratio < LOG_FROM) return Scale.LINEAR;
        return ratio <= LABEL_EVERY_TICK_UP_TO ? Scale.LOG_EVERY_TICK_LABELLED : Scale.LOG_DECADES_LABELLED;
    }

    /** Gives the chart's x axis a log scale where it helps (see the class comment); returns the scale chosen. */
    public static Scale logX(XYChart chart) {
        return choose(chart, true);
    }

    /** Gives the chart's y axis a log scale where it helps (see the class comment); returns the scale chosen. */
    public static Scale logY(XYChart chart) {
        return choose(chart, false);
    }

    private static Scale choose(XYChart chart, boolean x) {
        Scale s = scaleFor(values(chart, x));
        boolean log = s != Scale.LINEAR, decadesOnly = s != Scale.LOG_EVERY_TICK_LABELLED;
        if (x) {
            chart.getStyler().setXAxisLogarithmic(log).setXAxisLogarithmicDecadeOnly(decadesOnly);
            if (log) chart.setXAxisTitle(withLogSuffix(chart.getXAxisTitle()));
        } else {
            chart.getStyler().setYAxisLogarithmic(log).setYAxisLogarithmicDecadeOnly(decadesOnly);
            if (log) chart.setYAxisTitle(withLogSuffix(chart.getYAxisTitle()));
        }
        return s;
    }

    /** Every x (or y) value of the chart's series, in series order. */
    static double[] values(XYChart chart, boolean x) {
        return chart.getSeriesMap().values().stream()
                .flatMapToDouble(s -> java.util.Arrays.stream(x ? s.getXData() : s.getYData())).toArray();
    }

    private static String withLogSuffix(String title) {
        String t = title == null ? "" : title;
        boolean saysLog = t.toLowerCase(Locale.ROOT).matches(".*\\blog\\b.*");  // "(log)", "log-log"; not "logits"
        return saysLog ? t : (t.isEmpty() ? "log scale" : t + " (log scale)");
    }
}
