package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a recorded run again from its {@code config.json} (the same command with the same arguments, after checking
 * that its inputs are unchanged, {@link RunInputs#verify}) into a new run folder, and compares the two
 * {@code metrics.csv} files row by row, matched on (step, split, metric). Timing metrics (names ending in
 * {@code _per_s}, and {@code seconds}) are left out of the comparison. With tolerance 0 every other value must be
 * bit-identical: what a single-threaded deterministic run reproduces (every run of this project's engine on the
 * same machine and thread count is); a tolerance t accepts |a - b| &lt;= t max(|a|, |b|).
 */
public final class Rerun {
    private Rerun() {}

    /** Runs {@code ./lab COMMAND ARGS...} and returns its exit code (in-process or as a process). */
    @FunctionalInterface
    public interface Launcher {
        int launch(String command, List<String> args);
    }

    /** The outcome of comparing two metrics files. */
    public record Comparison(int compared, int excluded, double maxAbsDiff, List<String> mismatches) {
        /** True when no row differs beyond the tolerance and both runs have the same rows. */
        public boolean matches() { return mismatches.isEmpty(); }
    }

    /** A re-run: its folder, exit code and comparison (null when it failed). */
    public record Result(Path rerun, int exitCode, Comparison comparison) {}

    /** True for a metric that measures time (left out of comparisons). */
    public static boolean isTiming(String metric) {
        return metric.endsWith("_per_s") || metric.equals("seconds");
    }

    /** The arguments to run {@code config}'s command again into run folder {@code root/name}: --out dropped. */
    public static List<String> arguments(JsonNode config, Path root, String name) {
        List<String> args = new ArrayList<>();
        JsonNode stored = config.path("args");
        for (int i = 0; i < stored.size(); i++) {
            String a = stored.get(i).asText();
            if (a.equals("--out")) {
                i++;                                  // the re-run keeps its model in its own run folder
                continue;
            }
            args.add(a);
        }
        args.addAll(List.of("--runs", root.toAbsolutePath().normalize().toString(), "--run-name", name));
        return args;
    }

    /**
     * Runs {@code run} again as {@code root/name} through {@code launcher} and compares the metrics.
     *
     * @param tolerance 0 for bit-identical values, else the relative tolerance
     */
    public static Result run(Path run, Path root, String name, Launcher launcher, double tolerance) {
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("tolerance: must be a finite number >= 0 but was " + tolerance);
        }
        RunRecord original = RunRecord.read(run);
        if (!original.isComplete()) {
            throw new IllegalArgumentException("run folder " + original.dir() + " is incomplete: resume it before re-running it");
        }
        JsonNode config = original.config();
        RunInputs.verify(config);
        Path target = root.toAbsolutePath().normalize().resolve(name);
        int code = launcher.launch(config.path("command").asText(), arguments(config, root, name));
        if (code != 0) return new Result(target, code, null);
        return new Result(target, 0, compare(original.metrics(), RunRecord.read(target).metrics(), tolerance));
    }

    /** Compares two metrics lists (see the class comment). */
    public static Comparison compare(List<RunRecord.Metric> a, List<RunRecord.Metric> b, double tolerance) {
        Map<String, Double> ma = index(a), mb = index(b);
        List<String> mismatches = new ArrayList<>();
        int compared = 0, excluded = 0;
        double maxAbs = 0;
        for (Map.Entry<String, Double> e : ma.entrySet()) {
            if (isTiming(e.getKey().substring(e.getKey().lastIndexOf(',') + 1))) {
                excluded++;
                continue;
            }
            Double y = mb.get(e.getKey());
            if (y == null) {
                mismatches.add(e.getKey() + ": only in the first run");
                continue;
            }
            compared++;
            double x = e.getValue(), d = Math.abs(x - y);
            if (!Double.isNaN(d)) maxAbs = Math.max(maxAbs, d);
            boolean same = tolerance == 0 ? Double.compare(x, y) == 0
                    : Double.compare(x, y) == 0 || d <= tolerance * Math.max(Math.abs(x), Math.abs(y));
            if (!same) mismatches.add(e.getKey() + ": " + x + " vs " + y);
        }
        for (String k : mb.keySet()) {
            if (!ma.containsKey(k) && !isTiming(k.substring(k.lastIndexOf(',') + 1))) mismatches.add(k + ": only in the second run");
        }
        return new Comparison(compared, excluded, maxAbs, List.copyOf(mismatches));
    }

    private static Map<String, Double> index(List<RunRecord.Metric> rows) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (RunRecord.Metric r : rows) m.put(r.step() + "," + r.split() + "," + r.metric(), r.value());
        return m;
    }
}
