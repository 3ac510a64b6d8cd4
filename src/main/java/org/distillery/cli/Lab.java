package org.distillery.cli;

import java.io.PrintWriter;
import org.distillery.report.LabException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ./lab} command line. The shell script {@code ./lab} runs {@code setup} itself (it must
 * work before anything is built) and hands every other command to this class.
 */
@Command(name = "lab", mixinStandardHelpOptions = true, version = "Distillery 0.1.0",
        description = "Distillery: compress language models; run the notebooks, the tests and the tools.",
        subcommands = {ReproduceCommand.class, TestCommand.class, NotebookCommand.class, TrainCommand.class, DistillCommand.class,
                EvalCommand.class, QuantizeCommand.class, PruneCommand.class, FinetuneCommand.class, BenchCommand.class,
                SweepCommand.class, RunsCommand.class, PipelineCommand.class},
        footer = {"", "Also: ./lab setup  installs what the commands need (they call it themselves)."})
public final class Lab implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: choose one of "
                + String.join(", ", spec.subcommands().keySet()));
    }

    /** The command line with the project's error handling: one clear line and exit code 2 or 1. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Lab()).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof LabException le) {
                cmd.getErr().println(cmd.getCommandName() + ": " + le.getMessage());
                return le.exitCode();
            }
            if (ex instanceof IllegalArgumentException || ex instanceof org.distillery.io.CheckpointFormatException) {
                cmd.getErr().println(cmd.getCommandName() + ": " + ex.getMessage());   // a bad argument or input file
                return 2;
            }
            if (ex instanceof org.distillery.data.DatasetException || ex instanceof java.io.UncheckedIOException
                    || ex instanceof org.distillery.train.TrainingDivergedException) {
                cmd.getErr().println(cmd.getCommandName() + ": " + ex.getMessage());   // a dataset, I/O or training failed
                return 1;
            }
            throw ex;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println(ex.getCommandLine().getCommandName() + ": " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
            return 2;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
