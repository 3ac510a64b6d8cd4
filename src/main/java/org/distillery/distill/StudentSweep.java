package org.distillery.distill;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.distill.MnistDistillation.Student;
import org.distillery.eval.SeedSummary;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Student runs grouped into points (series, x), each point the runs of several seeds: a table of test
 * (and validation) errors with their mean, min, max and t-based 95 % interval over the seeds
 * ({@link SeedSummary}), and a chart of mean test errors against x with the interval as error bars.
 * Used for the temperature and width sweeps of {@link MnistDistillation}.
 */
public final class StudentSweep {
    /** One point: the runs of one setting over seeds. */
    public record Point(String series, double x, List<Student> runs) {
        public Point {
            if (runs == null || runs.isEmpty()) throw new IllegalArgumentException("runs: need at least one run");
            runs = List.copyOf(runs);
        }

        public SeedSummary testErrors() { return SeedSummary.of(values(runs, r -> r.test().errors())); }

        public SeedSummary validationErrors() { return SeedSummary.of(values(runs, r -> r.validation().errors())); }

        public SeedSummary meanGradNorm() { return SeedSummary.of(values(runs, Student::meanGradNorm)); }

        /** Test errors in percent of the test examples (mean over seeds). */
        public double testPercent() { return 100 * testErrors().mean() / runs.get(0).test().examples(); }
    }

    private final String xName;
    private final List<Point> points = new ArrayList<>();

    /** @param xName what x is, e.g. "T" or "hidden units" (column name and axis title) */
    public StudentSweep(String xName) {
        this.xName = xName;
    }

    /** Adds the runs (one per seed) of the setting (series, x). */
    public StudentSweep add(String series, double x, List<Student> runs) {
        points.add(new Point(series, x, runs));
        return this;
    }

    public List<Point> points() { return List.copyOf(points); }

    /** The points of one series, in the order added. */
    public List<Point> series(String name) {
        return points.stream().filter(p -> p.series().equals(name)).toList();
    }

    /** The point of {@code series} with the fewest mean validation errors (the first on ties). */
    public Point bestOnValidation(String series) {
        Point best = null;
        for (Point p : series(series)) {
            if (best == null || p.validationErrors().mean() < best.validationErrors().mean()) best = p;
        }
        if (best == null) throw new IllegalArgumentException("series: no points in '" + series + "'");
        return best;
    }

    /**
     * One row per point: series, x, seeds, mean validation errors, test errors (mean, t-based 95 % half-width,
     * min, max), mean test error in %, and the mean training gradient norm.
     */
    public Table table(String title) {
        StringColumn series = StringColumn.create("series");
        DoubleColumn x = DoubleColumn.create(xName);
        IntColumn seeds = IntColumn.create("seeds");
        DoubleColumn val = DoubleColumn.create("val_errors_mean"), mean = DoubleColumn.create("test_errors_mean"),
                ci = DoubleColumn.create("test_errors_ci95"), min = DoubleColumn.create("test_errors_min"),
                max = DoubleColumn.create("test_errors_max"), pct = DoubleColumn.create("test_error_pct"),
                norm = DoubleColumn.create("mean_grad_norm");
        for (Point p : points) {
            SeedSummary t = p.testErrors();
            series.append(p.series());
            x.append(p.x());
            seeds.append(t.n());
            val.append(round(p.validationErrors().mean(), 2));
            mean.append(round(t.mean(), 2));
            ci.append(round(t.ci95(), 2));
            min.append(t.min());
            max.append(t.max());
            pct.append(round(p.testPercent(), 3));
            norm.append(round(p.meanGradNorm().mean(), 4));
        }
        return Table.create(title).addColumns(series, x, seeds, val, mean, ci, min, max, pct, norm);
    }

    /**
     * Mean test errors against x, one line per series, with the t-based 95 % interval as error bars when
     * a point has more than one seed.
     */
    public XYChart chart(String title, boolean logX) {
        XYChart c = new XYChartBuilder().width(720).height(420).title(title).xAxisTitle(xName)
                .yAxisTitle("test errors (of " + points.get(0).runs().get(0).test().examples() + ")").build();
        c.getStyler().setXAxisLogarithmic(logX);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setMarkerSize(7);
        Map<String, List<Point>> bySeries = new LinkedHashMap<>();
        for (Point p : points) bySeries.computeIfAbsent(p.series(), k -> new ArrayList<>()).add(p);
        for (Map.Entry<String, List<Point>> e : bySeries.entrySet()) {
            List<Point> ps = e.getValue();
            double[] xs = new double[ps.size()], ys = new double[ps.size()], err = new double[ps.size()];
            boolean bars = true;
            for (int i = 0; i < ps.size(); i++) {
                SeedSummary s = ps.get(i).testErrors();
                xs[i] = ps.get(i).x();
                ys[i] = s.mean();
                err[i] = s.n() > 1 ? s.ci95() : 0;
                bars &= s.n() > 1;
            }
            if (bars) c.addSeries(e.getKey(), xs, ys, err);
            else c.addSeries(e.getKey(), xs, ys);
        }
        return c;
    }

    private interface Metric {
        double of(Student s);
    }

    private static double[] values(List<Student> runs, Metric m) {
        double[] v = new double[runs.size()];
        for (int i = 0; i < v.length; i++) v[i] = m.of(runs.get(i));
        return v;
    }

    static double round(double v, int digits) {
        if (!Double.isFinite(v)) return v;
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
