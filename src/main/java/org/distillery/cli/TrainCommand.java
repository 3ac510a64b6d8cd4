package org.distillery.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.distillery.train.LanguageModelRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./lab train --config FILE --out DIR}: train a GPT language model on a shipped corpus. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Trains a GPT on a shipped corpus (see LanguageModelRun for the run file) and writes a "
                + "model directory: config.json, model.safetensors, tokenizer files, summary.json (validation "
                + "perplexity, provenance), run/ (checkpoints, metrics.csv, run.json). DIR must not exist.",
                "--resume DIR continues an interrupted run of --out DIR from its last checkpoint."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "run file (JSON)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "model directory to create")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue the interrupted run of --out DIR "
            + "(killed, crashed) from its last checkpoint and write DIR; given alone")
    Path resume;

    @Override
    public Integer call() {
        if (resume != null) return resume();
        if (config == null || out == null) {
            throw new IllegalArgumentException("--config FILE and --out DIR are required (or --resume DIR alone to"
                    + " continue an interrupted run)");
        }
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException("--config " + config + ": no such file");
        }
        LanguageModelRun.Result r = LanguageModelRun.read(config).run(out, true);
        System.out.println("trained " + out + ": " + LanguageModelRun.describe(r));
        return 0;
    }

    private Integer resume() {
        if (config != null || out != null) {
            throw new IllegalArgumentException("--resume " + resume + " takes no --config or --out: the run continues"
                    + " with the run file and folder it started with");
        }
        LanguageModelRun.Result r = LanguageModelRun.resume(resume, true);
        System.out.println("trained " + resume + " (resumed): " + LanguageModelRun.describe(r));
        return 0;
    }
}
