package org.distillery.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.distillery.record.RunDiff;
import org.distillery.record.RunRecord;
import org.distillery.record.RunTable;
import org.distillery.record.Rerun;
import org.distillery.report.LabException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/**
 * {@code ./lab runs [--root DIR] [--filter K=V]... [--columns A,B]}, {@code ./lab runs --diff A B},
 * {@code ./lab runs --rerun RUN [--tolerance T]}: the recorded runs as a table, two runs' differences, a re-run.
 */
@Command(name = "runs", mixinStandardHelpOptions = true,
        description = {"Lists the run folders under the runs folder as one table (run, status, command, the options and "
                + "headline metrics that differ between the runs shown; --columns to choose), compares two runs' "
                + "config and provenance (--diff), or runs a run again from its record and checks that its metrics "
                + "match (--rerun; timing metrics are left out; exact unless --tolerance)."})
final class RunsCommand implements Callable<Integer> {
    @Option(names = "--root", paramLabel = "DIR", description = "runs folder (default: $DISTILLERY_RUNS, else runs/ in the project)")
    Path root;

    @Option(names = "--filter", paramLabel = "K=V", description = "keep the runs whose column K equals V (repeatable)")
    List<String> filters = new ArrayList<>();

    @Option(names = "--columns", paramLabel = "A,B", split = ",", description = "the columns to show")
    List<String> columns;

    @Option(names = "--diff", arity = "2", paramLabel = "RUN", description = "two run folders (paths, or names under the runs folder)")
    List<Path> diff;

    @Option(names = "--rerun", paramLabel = "RUN", description = "run folder to run again (as RUN-rerun-N beside it)")
    Path rerun;

    @Option(names = "--tolerance", defaultValue = "0", paramLabel = "T", description = "--rerun: relative tolerance (default 0: bit-identical)")
    double tolerance;

    @Override
    public Integer call() {
        Path dir = RunOptions.runsRoot(root);
        if (diff != null && rerun != null) throw new IllegalArgumentException("--diff and --rerun: choose one");
        if (diff != null) {
            System.out.println(RunDiff.of(resolve(dir, diff.get(0), "--diff"), resolve(dir, diff.get(1), "--diff")).printAll());
            return 0;
        }
        if (rerun != null) return rerun(dir);
        Table t = RunTable.filter(RunTable.load(dir), filters.toArray(String[]::new));
        if (columns != null) {
            for (String c : columns) {
                if (!t.containsColumn(c)) {
                    throw new IllegalArgumentException("--columns: no column '" + c + "'; columns: " + String.join(", ", t.columnNames()));
                }
            }
            t = t.selectColumns(columns.toArray(String[]::new));
        } else {
            t = t.selectColumns(shown(t).toArray(String[]::new));
        }
        System.out.println(t.printAll());
        System.out.println(t.rowCount() + " run" + (t.rowCount() == 1 ? "" : "s") + " in " + dir);
        return 0;
    }

    /** run, status, command, then every column whose values differ between the rows (all non-empty ones for one row). */
    static List<String> shown(Table t) {
        List<String> names = new ArrayList<>(RunTable.LEAD);
        for (Column<?> c : t.columns()) {
            if (names.contains(c.name()) || List.of("date", "seconds").contains(c.name())) continue;
            Set<String> values = new HashSet<>();
            for (int i = 0; i < c.size(); i++) values.add(c.getString(i));
            boolean empty = values.stream().allMatch(String::isEmpty);
            if (t.rowCount() == 1 ? !empty : values.size() > 1) names.add(c.name());
        }
        return names;
    }

    private int rerun(Path dir) {
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("--tolerance " + tolerance + " is not accepted: use a finite number >= 0");
        }
        Path run = resolve(dir, rerun, "--rerun");
        Path parent = run.getParent();
        String name = run.getFileName() + "-rerun-1";
        for (int k = 2; Files.exists(parent.resolve(name)); k++) name = run.getFileName() + "-rerun-" + k;
        Rerun.Result r = Rerun.run(run, parent, name, (command, args) -> {
            List<String> all = new ArrayList<>();
            all.add(command);
            all.addAll(args);
            return Lab.commandLine().execute(all.toArray(String[]::new));
        }, tolerance);
        if (r.exitCode() != 0) throw LabException.failure("the re-run " + r.rerun() + " failed with exit code " + r.exitCode());
        Rerun.Comparison c = r.comparison();
        String how = tolerance == 0 ? "bit-identical" : String.format(Locale.ROOT, "within a relative %.3g", tolerance);
        System.out.printf(Locale.ROOT, "rerun %s: %d metrics compared (%d timing metrics left out), max |difference| %.6g: %s%n",
                r.rerun(), c.compared(), c.excluded(), c.maxAbsDiff(),
                c.matches() ? how : c.mismatches().size() + " differ, e.g. " + c.mismatches().get(0));
        if (!c.matches()) throw LabException.failure(c.mismatches().size() + " metrics of the re-run are not " + how);
        return 0;
    }

    private static Path resolve(Path root, Path p, String option) {
        if (RunRecord.isRun(p)) return p;
        if (!p.isAbsolute() && RunRecord.isRun(root.resolve(p))) return root.resolve(p);
        throw new IllegalArgumentException(option + " " + p + ": not a run folder (neither it nor " + root.resolve(p)
                + " holds " + RunRecord.CONFIG + ")");
    }
}
