package org.distillery.pipeline;

import java.io.PrintWriter;
import java.util.List;
import org.distillery.record.SweepGrid;

/**
 * The recorded commands a pipeline runs as its stages: their options (to check a config before anything runs, as a
 * sweep checks its grid) and an in-process execution of one command line ({@code org.distillery.cli.LabCommands} is
 * the {@code ./lab} implementation).
 */
public interface StageCommands extends SweepGrid.Commands {
    /**
     * Runs {@code ./lab args} in this process.
     *
     * @param err where the command's one-line errors go
     * @return the exit code (0 success, 2 bad input, 1 failure)
     */
    int execute(List<String> args, PrintWriter err);
}
