package org.distillery.report;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.distillery.notebook.Profile;
import org.distillery.util.AtomicFiles;
import org.distillery.util.FileTrees;

/**
 * Executes notebooks headless and writes their reports: per notebook the executed {@code .ipynb}, its
 * HTML export and the CSV/PNG files it saved; {@code index.html} linking them with provenance; and
 * {@code manifest.json}. Everything is built in a temporary folder beside the reports folder and only
 * swapped in when every notebook succeeded, so a failed run leaves the previous reports untouched.
 */
public final class Reproduce {
    private final NotebookRunner runner;
    private final Path root;
    private final PrintStream out;

    /**
     * @param runner executes one notebook
     * @param root   the project root (provenance is read from its git checkout; logs go to target/logs)
     * @param out    where progress lines go
     */
    public Reproduce(NotebookRunner runner, Path root, PrintStream out) {
        this.runner = runner;
        this.root = root;
        this.out = out;
    }

    /**
     * What a run did: each executed notebook's result, the failures as one-line messages, and the
     * manifest of the reports written (null when a notebook failed and nothing was written).
     */
    public record Outcome(List<NotebookRunner.Result> results, List<String> failures, ReportManifest manifest) {
        public boolean ok() {
            return failures.isEmpty();
        }
    }

    /**
     * Runs the notebooks of {@code notebooksDir} (all, or only the one named {@code only}) in
     * {@code profile} and, when all succeed, replaces {@code reportsDir} with the result. With
     * {@code only}, the other notebooks' existing reports are kept as they are. With {@code failFast},
     * the first failing notebook ends the run; otherwise every notebook is tried.
     *
     * @throws LabException with exit code 2 for an unknown notebook name or a missing notebook folder
     */
    public Outcome run(Path notebooksDir, Path reportsDir, Profile profile, String only, boolean failFast) {
        List<Path> notebooks = select(notebooksDir, only);
        Provenance provenance = Provenance.capture(root);
        Path parent = reportsDir.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + reportsDir.getFileName() + "-tmp-" + ProcessHandle.current().pid());
        long t0 = System.nanoTime();
        try {
            FileTrees.delete(tmp);
            Files.createDirectories(tmp);
            Map<String, ReportManifest.Entry> entries = new LinkedHashMap<>();
            ReportManifest previous = only == null ? null : ReportManifest.read(reportsDir);
            for (Path nb : NotebookRunner.list(notebooksDir)) {   // keep the others' reports in order
                String name = NotebookRunner.stem(nb);
                if (previous != null && !notebooks.contains(nb)) {
                    previous.notebooks().stream().filter(e -> e.name().equals(name)).findFirst().ifPresent(e -> {
                        FileTrees.copy(reportsDir.resolve(name), tmp.resolve(name));
                        entries.put(name, e);
                    });
                }
            }
            List<NotebookRunner.Result> results = new ArrayList<>();
            List<String> failures = new ArrayList<>();
            for (Path nb : notebooks) {
                String name = NotebookRunner.stem(nb);
                out.println("notebook " + name + " (" + profile.id() + " profile)");
                Path log = root.resolve("target/logs").resolve(name + ".log");
                NotebookRunner.Result r = runner.run(nb, tmp.resolve(name), profile, log);
                results.add(r);
                if (!r.ok()) {
                    Path kept = keepFailedCopy(tmp.resolve(name).resolve(nb.getFileName()), log);
                    String msg = "notebook " + name + " failed: " + r.error() + " (log: " + shown(log)
                            + (kept == null ? "" : "; executed copy: " + shown(kept)) + ")";
                    out.println(msg);
                    failures.add(msg);
                    if (failFast) {
                        break;
                    }
                    continue;
                }
                out.printf("notebook %s: ok in %.1f s (%d cells)%n", name, r.seconds(), r.cells());
                entries.put(name, new ReportManifest.Entry(name, profile.id(), r.seconds(), r.attempts(),
                        r.cells(), savedFiles(tmp.resolve(name)), provenance.asMap(), headline(tmp.resolve(name))));
            }
            if (!failures.isEmpty()) {
                return new Outcome(results, failures, null);
            }
            List<ReportManifest.Entry> ordered = new ArrayList<>();
            for (Path nb : NotebookRunner.list(notebooksDir)) {
                ReportManifest.Entry e = entries.get(NotebookRunner.stem(nb));
                if (e != null) {
                    ordered.add(e);
                }
            }
            ReportManifest manifest = new ReportManifest(profile.id(), (System.nanoTime() - t0) / 1e9,
                    provenance.asMap(), ordered);
            manifest.write(tmp);
            AtomicFiles.writeString(tmp.resolve("index.html"), ReportIndex.html(manifest));
            swapIn(tmp, reportsDir);
            return new Outcome(results, failures, manifest);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write reports to " + reportsDir + ": " + e.getMessage(), e);
        } finally {
            FileTrees.delete(tmp);
        }
    }

    /** The notebooks to run: all of them, or the one named {@code only}. */
    static List<Path> select(Path notebooksDir, String only) {
        if (!Files.isDirectory(notebooksDir)) {
            throw LabException.usage("notebook folder " + notebooksDir + " does not exist");
        }
        List<Path> all = NotebookRunner.list(notebooksDir);
        if (all.isEmpty()) {
            throw LabException.usage("no notebooks (*.ipynb) in " + notebooksDir);
        }
        if (only == null) {
            return all;
        }
        String wanted = only.endsWith(".ipynb") ? only.substring(0, only.length() - 6) : only;
        return all.stream().filter(p -> NotebookRunner.stem(p).equals(wanted)).findFirst().map(List::of)
                .orElseThrow(() -> LabException.usage("no notebook named '" + only + "' in " + notebooksDir
                        + "; available: " + all.stream().map(NotebookRunner::stem).collect(Collectors.joining(", "))));
    }

    /** The headline a notebook wrote into its folder ({@link org.distillery.notebook.Notebook#headline}), or null. */
    static String headline(Path dir) throws IOException {
        Path f = dir.resolve(org.distillery.notebook.Notebook.HEADLINE_FILE);
        return Files.isRegularFile(f) ? Files.readString(f, java.nio.charset.StandardCharsets.UTF_8).strip() : null;
    }

    /** The CSV and PNG files a notebook saved into its folder, sorted. */
    static List<String> savedFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(f -> f.endsWith(".csv") || f.endsWith(".png")).sorted().toList();
        }
    }

    /** Replaces {@code target} by {@code fresh}: two renames, the old folder deleted afterwards. */
    static void swapIn(Path fresh, Path target) throws IOException {
        Path old = target.toAbsolutePath().getParent()
                .resolve("." + target.getFileName() + "-old-" + ProcessHandle.current().pid());
        FileTrees.delete(old);
        if (Files.exists(target)) {
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
        FileTrees.delete(old);
    }

    /** A path relative to the project root when it lies inside it. */
    private String shown(Path p) {
        Path abs = p.toAbsolutePath();
        return abs.startsWith(root) ? root.relativize(abs).toString() : abs.toString();
    }

    private Path keepFailedCopy(Path executed, Path log) {
        if (!Files.isRegularFile(executed)) {
            return null;
        }
        Path kept = log.resolveSibling(executed.getFileName());
        try {
            Files.copy(executed, kept, StandardCopyOption.REPLACE_EXISTING);
            return kept.toAbsolutePath();
        } catch (IOException e) {
            return null;
        }
    }
}
