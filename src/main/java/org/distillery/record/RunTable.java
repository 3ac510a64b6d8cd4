package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import tech.tablesaw.aggregate.AggregateFunctions;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;
import tech.tablesaw.selection.Selection;

/**
 * Many run folders as one Tablesaw table, one row per run: {@code run} (the folder, relative to the folder the runs
 * were found under), {@code status} (complete / incomplete), {@code command}, then every option of the run's
 * {@code config.json} as a column named after it (e.g. {@code method}, {@code bits}, {@code seed}), then the
 * summary's headline metrics (a metric whose name is already a column gets the prefix {@code summary.}), then
 * {@code seconds}, {@code git_commit}, {@code git_dirty} and {@code date}. Column types follow {@link #column}
 * (missing values for runs without the field).
 */
public final class RunTable {
    /** The fixed columns before the options. */
    public static final List<String> LEAD = List.of("run", "status", "command");

    private RunTable() {}

    /** Every run folder under {@code root} (its sub-folders and theirs, to a depth of 4, e.g. sweeps' runs/), sorted. */
    public static List<Path> find(Path root) {
        if (!Files.isDirectory(root)) throw new IllegalArgumentException("runs folder " + root + ": no such folder");
        try (Stream<Path> s = Files.walk(root, 4)) {
            return s.filter(p -> !p.equals(root) && !p.getFileName().toString().startsWith(".") && RunRecord.isRun(p))
                    .sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    /** The runs under {@code root} ({@link #find}) as a table. */
    public static Table load(Path root) {
        return of(find(root), root);
    }

    /** The run folders {@code runs} as a table; the run column holds each folder relative to {@code base}. */
    public static Table of(List<Path> runs, Path base) {
        List<Map<String, JsonNode>> rows = new ArrayList<>();
        Set<String> options = new LinkedHashSet<>(), metrics = new LinkedHashSet<>();
        for (Path p : runs) {
            RunRecord r = RunRecord.read(p);
            Map<String, JsonNode> row = new LinkedHashMap<>();
            JsonNode cfg = r.config();
            row.put("run", com.fasterxml.jackson.databind.node.TextNode.valueOf(
                    base == null ? p.getFileName().toString() : base.toAbsolutePath().normalize().relativize(r.dir()).toString()));
            row.put("status", com.fasterxml.jackson.databind.node.TextNode.valueOf(r.isComplete() ? "complete" : "incomplete"));
            row.put("command", cfg.get("command"));
            for (Map.Entry<String, JsonNode> e : JsonLeaves.of(cfg.get("options"), "").entrySet()) {
                if (e.getKey().isEmpty()) continue;
                options.add(e.getKey());
                row.put(e.getKey(), e.getValue());
            }
            JsonNode summary = r.summary();
            if (summary != null) {
                for (Map.Entry<String, JsonNode> e : JsonLeaves.of(summary.get("metrics"), "").entrySet()) {
                    if (e.getKey().isEmpty()) continue;
                    metrics.add(e.getKey());
                    row.put("metric:" + e.getKey(), e.getValue());
                }
                row.put("seconds", summary.get("seconds"));
            }
            JsonNode prov = r.provenance();
            if (prov != null) {
                for (String k : List.of("git_commit", "git_dirty", "date")) row.put(k, prov.get(k));
            }
            rows.add(row);
        }
        Table t = Table.create("runs");
        Set<String> names = new LinkedHashSet<>(LEAD);
        for (String o : options) {
            if (names.contains(o)) continue;            // an option named like a fixed column: cannot happen for ./lab's
            names.add(o);
        }
        for (String n : names) t.addColumns(column(n, values(rows, n)));
        List<String> tail = List.of("seconds", "git_commit", "git_dirty", "date");
        for (String m : metrics) {
            String name = names.contains(m) || tail.contains(m) ? "summary." + m : m;
            names.add(name);
            t.addColumns(column(name, values(rows, "metric:" + m)));
        }
        for (String n : tail) t.addColumns(column(n, values(rows, n)));
        return t;
    }

    private static List<JsonNode> values(List<Map<String, JsonNode>> rows, String key) {
        List<JsonNode> v = new ArrayList<>();
        for (Map<String, JsonNode> r : rows) v.add(r.get(key));
        return v;
    }

    /**
     * A column of JSON values (null or JSON null: missing): a {@link LongColumn} when every value present is an
     * integer, a {@link DoubleColumn} when every one is a number, else a {@link StringColumn} of their text.
     */
    public static Column<?> column(String name, List<JsonNode> values) {
        boolean numeric = true, integral = true, any = false;
        for (JsonNode v : values) {
            if (v == null || v.isNull() || v.isMissingNode()) continue;
            any = true;
            if (!v.isNumber()) numeric = false;
            else if (!v.isIntegralNumber() || !v.canConvertToLong()) integral = false;
        }
        if (numeric && any && integral) {
            LongColumn c = LongColumn.create(name);
            for (JsonNode v : values) {
                if (v == null || !v.isNumber()) c.appendMissing();
                else c.append(v.asLong());
            }
            return c;
        }
        if (numeric && any) {
            DoubleColumn c = DoubleColumn.create(name);
            for (JsonNode v : values) {
                if (v == null || !v.isNumber()) c.appendMissing();
                else c.append(v.asDouble());
            }
            return c;
        }
        StringColumn c = StringColumn.create(name);
        for (JsonNode v : values) c.append(JsonLeaves.text(v));
        return c;
    }

    /**
     * The rows where every condition {@code COLUMN=VALUE} holds (numeric columns compare as numbers).
     *
     * @throws IllegalArgumentException naming the condition when it is not COLUMN=VALUE, the column does not exist,
     *                                  or VALUE is not a number for a numeric column
     */
    public static Table filter(Table t, String... conditions) {
        Selection all = Selection.withRange(0, t.rowCount());
        for (String cond : conditions) {
            int eq = cond.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("filter '" + cond + "' is not COLUMN=VALUE");
            String k = cond.substring(0, eq), v = cond.substring(eq + 1);
            if (!t.containsColumn(k)) {
                throw new IllegalArgumentException("filter '" + cond + "': no column '" + k + "'; columns: "
                        + String.join(", ", t.columnNames()));
            }
            Column<?> c = t.column(k);
            if (c instanceof NumericColumn<?> d) {
                double x;
                try {
                    x = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("filter '" + cond + "': column " + k + " holds numbers and '" + v
                            + "' is not one", e);
                }
                all = all.and(d.isEqualTo(x));
            } else {
                all = all.and(((StringColumn) c).isEqualTo(v));
            }
        }
        return t.where(all);
    }

    /** Mean, standard deviation and count of {@code metric} for each combination of the {@code by} columns. */
    public static Table group(Table t, String metric, String... by) {
        for (String c : concat(metric, by)) {
            if (!t.containsColumn(c)) {
                throw new IllegalArgumentException("no column '" + c + "'; columns: " + String.join(", ", t.columnNames()));
            }
        }
        if (!(t.column(metric) instanceof NumericColumn<?>)) {
            throw new IllegalArgumentException("metric: column '" + metric + "' does not hold numbers");
        }
        return t.summarize(metric, AggregateFunctions.mean, AggregateFunctions.stdDev, AggregateFunctions.count).by(by);
    }

    /**
     * {@code y} against {@code x} (both numeric columns), one line per value of {@code series} (or one line when it
     * is null), points sorted by x; rows missing either value are left out.
     */
    public static XYChart plot(Table t, String x, String y, String series) {
        for (String c : series == null ? new String[] {x, y} : new String[] {x, y, series}) {
            if (!t.containsColumn(c)) {
                throw new IllegalArgumentException("no column '" + c + "'; columns: " + String.join(", ", t.columnNames()));
            }
        }
        if (!(t.column(x) instanceof NumericColumn<?> xs) || !(t.column(y) instanceof NumericColumn<?> ys)) {
            throw new IllegalArgumentException("x and y must be numeric columns: " + x + ", " + y);
        }
        XYChart chart = new XYChartBuilder().width(720).height(420).title(y + " vs " + x).xAxisTitle(x).yAxisTitle(y).build();
        Map<String, List<double[]>> points = new LinkedHashMap<>();
        for (int i = 0; i < t.rowCount(); i++) {
            if (xs.isMissing(i) || ys.isMissing(i)) continue;
            String s = series == null ? y : series + "=" + t.column(series).getString(i);
            points.computeIfAbsent(s, k -> new ArrayList<>()).add(new double[] {xs.getDouble(i), ys.getDouble(i)});
        }
        for (Map.Entry<String, List<double[]>> e : points.entrySet()) {
            List<double[]> p = new ArrayList<>(e.getValue());
            p.sort(Comparator.comparingDouble(a -> a[0]));
            chart.addSeries(e.getKey(), p.stream().mapToDouble(a -> a[0]).toArray(), p.stream().mapToDouble(a -> a[1]).toArray());
        }
        return chart;
    }

    private static List<String> concat(String first, String[] rest) {
        List<String> l = new ArrayList<>();
        l.add(first);
        l.addAll(Arrays.asList(rest));
        return l;
    }
}
