package org.distillery.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.distillery.train.LanguageModelRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./lab train --config FILE --out DIR}: train a GPT language model on a shipped corpus. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains a GPT on a shipped corpus (see LanguageModelRun for the run file) and writes a "
                + "model directory: config.json, model.safetensors, tokenizer files, summary.json (validation "
                + "perplexity, provenance), run/ (checkpoints, metrics.csv). DIR must not exist."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "run file (JSON)")
    Path config;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "model directory to create")
    Path out;

    @Override
    public Integer call() {
        ModelOutput.requireFile("--config", config);
        ModelOutput.newOutParent(out);
        LanguageModelRun run;
        try {
            run = LanguageModelRun.read(config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--config " + e.getMessage(), e);     // the message starts with the file
        }
        LanguageModelRun.Result r = run.run(out, true);
        System.out.println("trained " + out + ": " + LanguageModelRun.describe(r));
        return 0;
    }
}
