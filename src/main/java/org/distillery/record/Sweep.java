package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.distillery.util.AtomicFiles;
import org.distillery.util.JobFolder;
import org.distillery.util.FileTrees;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Runs a {@link SweepGrid}: every cell as a process of its own ({@code java ... MAIN COMMAND ARGS --runs
 * SWEEP/runs --run-name CELL}), up to {@code workers} at a time, each with its own run folder. The sweep folder:
 * <pre>
 * SWEEP/
 *   grid.json     the grid (a later sweep into this folder must have the same one)
 *   runs/CELL/    the cells' run folders ({@link RunRecord})
 *   logs/CELL.log each cell's output (attempts appended)
 *   results.csv   one row per cell: cell, status, the axis values, the headline metrics
 *   sweep.lock    held while a sweep runs here (an OS lock: gone with the process, also on kill -9)
 * </pre>
 * Running a sweep again continues it: a cell whose run folder is complete is skipped, an incomplete one is resumed
 * ({@code COMMAND --resume RUNDIR}: training from its last checkpoint, one-shot commands done again), a missing one
 * is started. Progress is an in-place bar on a terminal and one line per finished cell otherwise.
 */
public final class Sweep {
    /** Files and folders of a sweep folder. */
    public static final String GRID = "grid.json", RUNS = "runs", LOGS = "logs", RESULTS = "results.csv", LOCK = "sweep.lock";

    private Sweep() {}

    /** What a sweep did. */
    public record Outcome(Path folder, int cells, int skipped, int launched, List<String> failed, Table results) {}

    /**
     * Runs {@code grid} in {@code folder} (created when missing).
     *
     * @param launch   the command line that starts the launcher: java, JVM options, -cp, main class ({@link #javaCommand})
     * @param workers  cells run at the same time, 1 or more
     * @param terminal true for an in-place progress bar, false for one line per cell
     */
    public static Outcome run(SweepGrid grid, Path folder, List<String> launch, int workers, PrintStream out, boolean terminal) {
        if (workers < 1) throw new IllegalArgumentException("--workers " + workers + " is not accepted: use 1 or more");
        Path dir = folder.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir.resolve(RUNS));
            Files.createDirectories(dir.resolve(LOGS));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create sweep folder " + dir + ": " + e.getMessage(), e);
        }
        try (JobFolder.Lock lock = JobFolder.lock(dir.resolve(LOCK),
                "sweep folder " + dir + " is in use by another sweep: wait for it to end or stop it")) {
            // the first grid of a sweep folder is kept as grid.json; a different grid is refused
            JobFolder.keepFirst(dir.resolve(GRID), grid.toJson(), "sweep folder " + dir + " holds a sweep of another grid ("
                    + dir.resolve(GRID) + " differs): choose another --name or runs folder");
            deletePartials(dir.resolve(RUNS));
            return runLocked(grid, dir, launch, workers, out, terminal);
        } catch (IOException e) {
            throw new UncheckedIOException("sweep folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Deletes the temporary folders of run folders whose creation a kill interrupted ({@code .CELL.partial-*}). */
    private static void deletePartials(Path runs) throws IOException {
        try (Stream<Path> s = Files.list(runs)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".")
                    && p.getFileName().toString().contains(".partial-")).toList()) {
                FileTrees.delete(p);
            }
        }
    }

    private static Outcome runLocked(SweepGrid grid, Path dir, List<String> launch, int workers, PrintStream out,
                                     boolean terminal) {
        List<SweepGrid.Cell> cells = grid.cells();
        List<SweepGrid.Cell> todo = new ArrayList<>();
        for (SweepGrid.Cell c : cells) {
            Path run = dir.resolve(RUNS).resolve(c.name());
            if (!(RunRecord.isRun(run) && RunRecord.read(run).isComplete())) todo.add(c);
        }
        int skipped = cells.size() - todo.size();
        out.printf(Locale.ROOT, "sweep %s: %d cells (%s), %d complete before, %d to run with %d worker%s%n", dir.getFileName(),
                cells.size(), grid.command(), skipped, todo.size(), workers, workers == 1 ? "" : "s");
        Set<Process> live = ConcurrentHashMap.newKeySet();
        Thread hook = new Thread(() -> live.forEach(Process::destroy));   // Ctrl-C / SIGTERM: the cells stop too
        Runtime.getRuntime().addShutdownHook(hook);
        List<String> failed = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger launched = new AtomicInteger(), done = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try (ProgressBar bar = terminal && !todo.isEmpty() ? new ProgressBarBuilder().setTaskName("sweep").setInitialMax(todo.size())
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(out)).build() : null) {
            List<Future<?>> futures = new ArrayList<>();
            for (SweepGrid.Cell c : todo) {
                futures.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    launched.incrementAndGet();
                    String problem = runCell(grid, dir, c, launch, workers, live);
                    if (problem != null) failed.add(c.name() + " (" + problem + ")");
                    int k = done.incrementAndGet();
                    String line = String.format(Locale.ROOT, "[%d/%d] %s %s (%.1f s)", k, todo.size(), c.name(),
                            problem == null ? "complete" : "FAILED: " + problem, (System.nanoTime() - t0) / 1e9);
                    if (bar != null) {
                        bar.step();
                        bar.setExtraMessage(" " + c.name());
                        if (problem != null) bar.setExtraMessage(" FAILED " + c.name());
                    } else {
                        synchronized (out) {
                            out.println(line);
                        }
                    }
                }));
            }
            for (Future<?> f : futures) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("sweep interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("sweep: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // shutting down already
            }
        }
        Table results = results(grid, dir, cells);
        AtomicFiles.writeCsv(dir.resolve(RESULTS), results);
        return new Outcome(dir, cells.size(), skipped, launched.get(), List.copyOf(failed), results);
    }

    /** Runs one cell to its end; returns null when its run folder is complete, else what went wrong. */
    private static String runCell(SweepGrid grid, Path dir, SweepGrid.Cell c, List<String> launch, int workers, Set<Process> live) {
        Path run = dir.resolve(RUNS).resolve(c.name());
        Path log = dir.resolve(LOGS).resolve(c.name() + ".log");
        List<String> cmd = new ArrayList<>(launch);
        cmd.add(grid.command());
        if (Files.exists(run)) {
            cmd.addAll(List.of("--resume", run.toString()));
        } else {
            cmd.addAll(c.args());
            cmd.addAll(List.of("--runs", dir.resolve(RUNS).toString(), "--run-name", c.name()));
        }
        try {
            Files.writeString(log, "=== " + OffsetDateTime.now(ZoneOffset.UTC).withNano(0) + " " + String.join(" ",
                    cmd.subList(launch.size(), cmd.size())) + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            if (System.getenv("OMP_NUM_THREADS") == null) {   // the cells share the cores
                pb.environment().put("OMP_NUM_THREADS", String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / workers)));
            }
            Process p = pb.start();
            live.add(p);
            int code;
            try {
                code = p.waitFor();
            } finally {
                live.remove(p);
            }
            if (code == 0 && RunRecord.isRun(run) && RunRecord.read(run).isComplete()) return null;
            return "exit code " + code + ": " + lastLine(log) + "; log " + log;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (IOException e) {
            return "cannot start: " + e.getMessage();
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) if (!lines.get(i).isBlank()) return lines.get(i).strip();
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
        return "(empty log)";
    }

    /**
     * The results table: one row per cell in grid order: cell, status (complete / incomplete / not started), the axis
     * values (numeric columns where every value is a number) and the headline metrics of the cell's summary.
     */
    public static Table results(SweepGrid grid, Path dir, List<SweepGrid.Cell> cells) {
        StringColumn cell = StringColumn.create("cell"), status = StringColumn.create("status");
        List<JsonNode> summaries = new ArrayList<>();
        Set<String> metrics = new LinkedHashSet<>();
        for (SweepGrid.Cell c : cells) {
            Path run = dir.resolve(RUNS).resolve(c.name());
            cell.append(c.name());
            JsonNode s = null;
            if (!RunRecord.isRun(run)) {
                status.append("not started");
            } else {
                RunRecord r = RunRecord.read(run);
                status.append(r.isComplete() ? "complete" : "incomplete");
                if (r.isComplete()) s = r.summary();
            }
            summaries.add(s);
            if (s != null) s.path("metrics").fieldNames().forEachRemaining(metrics::add);
        }
        Table t = Table.create("sweep " + dir.getFileName(), cell, status);
        for (String axis : grid.axes().keySet()) {
            t.addColumns(RunTable.column(axis, cells.stream().map(c -> c.values().get(axis)).toList()));
        }
        for (String m : metrics) {
            t.addColumns(RunTable.column(t.containsColumn(m) ? "metric." + m : m,
                    summaries.stream().map(s -> s == null ? null : s.path("metrics").get(m)).toList()));
        }
        return t;
    }

    /** The command line that starts {@code mainClass} in a JVM like this one (class path, the launcher's JVM options). */
    public static List<String> javaCommand(String mainClass) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // the options ./lab starts the JVM with (see the lab script)
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", org.distillery.util.JitSettings.TRAP_LIMIT_OPTION,
                "-Djava.awt.headless=true", "-XX:+UseSerialGC", "-Xmn32m", "-Xms64m"));
        if (Runtime.version().feature() >= 24) {
            cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        return cmd;
    }
}
