package org.distillery.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.distillery.data.DatasetException;
import org.distillery.data.DatasetFiles;
import org.distillery.notebook.Profile;
import org.distillery.report.LabException;
import org.distillery.report.NotebookRunner;
import org.distillery.report.Reproduce;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./lab reproduce}: execute the notebooks headless and write {@code reports/}. */
@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = {"Executes the notebooks headless and writes reports/: per notebook the executed "
                + ".ipynb, an HTML export and the CSV/PNG files it saves, plus reports/index.html with the "
                + "run's provenance. A failing notebook leaves reports/ as it was."})
final class ReproduceCommand implements Callable<Integer> {
    @Option(names = "--profile", converter = ProfileConverter.class, paramLabel = "quick|full",
            description = "how much work the notebooks do (default: ${DEFAULT-VALUE})", defaultValue = "full")
    Profile profile;

    @Option(names = "--only", paramLabel = "NAME", description = "run only this notebook (file name without .ipynb); "
            + "the other notebooks' reports are kept")
    String only;

    @Option(names = "--notebooks", paramLabel = "DIR", description = "notebook folder (default: notebooks/)")
    Path notebooks;

    @Option(names = "--out", paramLabel = "DIR", description = "report folder (default: reports/)")
    Path out;

    @Option(names = "--startup-timeout", paramLabel = "SECONDS", defaultValue = "" + NotebookRunner.DEFAULT_STARTUP_TIMEOUT_S,
            description = "abandon a kernel start after this long and retry (default: ${DEFAULT-VALUE})")
    int startupTimeout;

    @Option(names = "--startup-attempts", paramLabel = "N", defaultValue = "" + NotebookRunner.DEFAULT_STARTUP_ATTEMPTS,
            description = "kernel starts to try before giving up (default: ${DEFAULT-VALUE})")
    int startupAttempts;

    @Override
    public Integer call() {
        Path root = ProjectPaths.root();
        Path nbDir = notebooks != null ? notebooks : root.resolve("notebooks");
        Path outDir = out != null ? out : root.resolve("reports");
        long t0 = System.nanoTime();
        try {
            DatasetFiles.verifyAll(root.resolve("datasets"));   // fail in one line, before any notebook runs
        } catch (DatasetException e) {
            throw LabException.failure(e.getMessage());
        }
        NotebookRunner runner = new NotebookRunner(root, "distillery", startupTimeout, startupAttempts, System.out);
        Reproduce.Outcome o = new Reproduce(runner, root, System.out).run(nbDir, outDir, profile, only, true);
        if (!o.ok()) {
            throw LabException.failure(o.failures().get(0) + "; " + outDir + " left unchanged");
        }
        System.out.printf("reports written to %s (%d notebooks, %s profile) in %.1f s%n",
                outDir.resolve("index.html"), o.results().size(), profile.id(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
