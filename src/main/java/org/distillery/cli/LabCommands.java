package org.distillery.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import org.distillery.pipeline.StageCommands;
import org.distillery.record.SweepGrid;
import picocli.CommandLine;

/** The {@code ./lab} commands for {@link org.distillery.pipeline.CompressionPipeline}: the sweep's option table, run in-process. */
public final class LabCommands implements StageCommands {
    @Override
    public List<String> names() {
        return SweepCommand.GRID_COMMANDS.names();
    }

    @Override
    public Map<String, SweepGrid.Kind> options(String command) {
        return SweepCommand.GRID_COMMANDS.options(command);
    }

    @Override
    public int execute(List<String> args, PrintWriter err) {
        CommandLine cl = Lab.commandLine();
        cl.setErr(err);
        return cl.execute(args.toArray(String[]::new));
    }
}
