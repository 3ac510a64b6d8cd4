package org.distillery.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.distillery.train.LanguageModelRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./lab train --config FILE [--out DIR]}: train a GPT language model on a shipped corpus. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains a GPT on a shipped corpus (see LanguageModelRun for the run file) and writes a "
                + "model directory: config.json, model.safetensors, tokenizer files, summary.json (validation "
                + "perplexity, provenance), run/ (checkpoints, metrics.csv). The run is recorded in a run folder "
                + "(model/, config.json, provenance.json, metrics.csv, summary.json, plots/); --resume RUNDIR continues "
                + "an interrupted run from its last checkpoint. DIR must not exist."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "run file (JSON)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "also write the model directory here (default: only the run folder's model/)")
    Path out;

    @Mixin
    RunOptions runs = new RunOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelOutput.requireFile("--config", config);
        return runs.record(spec, out, true, (target, resuming) -> {
            LanguageModelRun run;
            try {
                run = LanguageModelRun.read(config);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--config " + e.getMessage(), e);     // the message starts with the file
            }
            LanguageModelRun.Result r = resuming ? run.resume(target, true, task -> task, restorer -> restorer)
                    : run.run(target, true);
            System.out.println("trained " + target + ": " + LanguageModelRun.describe(r));
            return null;
        });
    }
}
