package org.distillery.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.record.Sweep;
import org.distillery.record.SweepGrid;
import org.distillery.report.LabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/** {@code ./lab sweep --grid FILE [--workers N] [--runs DIR] [--name NAME]}: a grid of runs as separate processes. */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Runs every cell of a grid (the cross product of its axes) as a process of its own, up to --workers at "
                + "a time, each recorded in a run folder SWEEP/runs/CELL; then prints the results table (cell, axis values, "
                + "headline metrics) and writes it as SWEEP/results.csv. SWEEP is RUNS/NAME (NAME: --name, default the grid "
                + "file's name without .json). Running it again continues: complete cells are skipped, incomplete ones "
                + "resumed. Grid file, e.g.:",
                "  {\"command\": \"quantize\", \"base\": {\"model\": \"teacher/\", \"calib-brown\": 16},",
                "   \"axes\": {\"method\": [\"rtn\", \"gptq\"], \"bits\": [2, 3, 4], \"seed\": [1, 2]}}",
                "command: train, distill, quantize, prune, eval or finetune; keys are the command's options without the dashes; "
                + "values are strings, numbers or booleans (flags: true / false)."})
final class SweepCommand implements Callable<Integer> {
    /** The commands a sweep runs, by name. */
    static final Map<String, Class<?>> COMMANDS = commands();

    @Option(names = "--grid", required = true, paramLabel = "FILE", description = "grid file (JSON)")
    Path grid;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "N", description = "cells run at the same time (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--runs", paramLabel = "DIR", description = "runs folder the sweep folder goes in (default: $DISTILLERY_RUNS, else runs/ in the project)")
    Path runs;

    @Option(names = "--name", paramLabel = "NAME", description = "the sweep folder's name (default: the grid file's name without .json)")
    String name;

    private static Map<String, Class<?>> commands() {
        Map<String, Class<?>> m = new LinkedHashMap<>();
        m.put("train", TrainCommand.class);
        m.put("distill", DistillCommand.class);
        m.put("quantize", QuantizeCommand.class);
        m.put("prune", PruneCommand.class);
        m.put("eval", EvalCommand.class);
        m.put("finetune", FinetuneCommand.class);
        return m;
    }

    /** The recorded commands and their options, read from their picocli specifications. */
    static final SweepGrid.Commands GRID_COMMANDS = new SweepGrid.Commands() {
        @Override
        public List<String> names() {
            return List.copyOf(COMMANDS.keySet());
        }

        @Override
        public Map<String, SweepGrid.Kind> options(String command) {
            Map<String, SweepGrid.Kind> m = new LinkedHashMap<>();
            for (OptionSpec o : new CommandLine(COMMANDS.get(command)).getCommandSpec().options()) {
                if (o.usageHelp() || o.versionHelp()) continue;
                SweepGrid.Kind kind = o.arity().max() > 0 ? SweepGrid.Kind.VALUE
                        : o.negatable() ? SweepGrid.Kind.NEGATABLE_FLAG : SweepGrid.Kind.FLAG;
                m.put(o.longestName().replaceFirst("^-+", ""), kind);
            }
            return m;
        }
    };

    @Override
    public Integer call() {
        if (workers < 1) throw new IllegalArgumentException("--workers " + workers + " is not accepted: use 1 or more");
        if (!Files.isRegularFile(grid)) throw new IllegalArgumentException("--grid " + grid + ": no such file");
        SweepGrid g = SweepGrid.read(grid, GRID_COMMANDS);
        String n;
        if (name != null) {
            try {
                n = RunOptions.checkName(name);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().replace("--run-name", "--name"), e);
            }
        } else {
            n = grid.getFileName().toString().replaceFirst("\\.json$", "");
            try {
                RunOptions.checkName(n);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--grid " + grid + ": its file name is no usable sweep name; give --name", e);
            }
        }
        Path folder = RunOptions.runsRoot(runs).resolve(n);
        Sweep.Outcome o = Sweep.run(g, folder, Sweep.javaCommand(Lab.class.getName()), workers, System.out, System.console() != null);
        System.out.println(o.results().printAll());
        System.out.printf(Locale.ROOT, "sweep %s: %d cells: %d complete before, %d processes launched, %d failed; results: %s%n",
                n, o.cells(), o.skipped(), o.launched(), o.failed().size(), folder.resolve(Sweep.RESULTS));
        if (!o.failed().isEmpty()) {
            throw LabException.failure(o.failed().size() + " of " + o.cells() + " cells failed: " + String.join("; ", o.failed())
                    + "; run the sweep again to retry them");
        }
        return 0;
    }
}
