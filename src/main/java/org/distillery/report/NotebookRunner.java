package org.distillery.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.distillery.notebook.Notebook;
import org.distillery.notebook.Profile;
import org.distillery.util.ProjectPaths;

/**
 * Executes one notebook headless through {@code environment/run_notebook.py} (nbclient with the
 * project kernel), with the notebook's profile and output folder in its environment. The runner's
 * full output (including the kernel's) goes to a log file; its progress lines are echoed.
 */
public final class NotebookRunner {
    /** Debian's Python, which has nbclient (a python3 earlier on PATH may not). */
    static final String PYTHON = "/usr/bin/python3";

    private final Path root;
    private final String kernelName;
    private final int startupTimeoutSeconds;
    private final int startupAttempts;
    private final PrintStream progress;

    /**
     * @param root                  the project root (holds environment/ and target/jupyter)
     * @param kernelName            the kernelspec to use ("distillery")
     * @param startupTimeoutSeconds how long a kernel start may take before it is abandoned
     * @param startupAttempts       how many kernel starts to try before giving up
     * @param progress              where progress lines go
     */
    public NotebookRunner(Path root, String kernelName, int startupTimeoutSeconds, int startupAttempts,
                          PrintStream progress) {
        if (startupTimeoutSeconds <= 0) {
            throw new IllegalArgumentException("startupTimeoutSeconds must be > 0, got " + startupTimeoutSeconds);
        }
        if (startupAttempts <= 0) {
            throw new IllegalArgumentException("startupAttempts must be > 0, got " + startupAttempts);
        }
        this.root = root;
        this.kernelName = kernelName;
        this.startupTimeoutSeconds = startupTimeoutSeconds;
        this.startupAttempts = startupAttempts;
        this.progress = progress;
    }

    /**
     * Default kernel start timeout: a start takes 2-6 s on 2 cores (15 s under heavy load), so 30 s
     * tells a hung start from a slow one.
     */
    public static final int DEFAULT_STARTUP_TIMEOUT_S = 30;
    /** Default number of kernel starts tried before a notebook is reported as failed. */
    public static final int DEFAULT_STARTUP_ATTEMPTS = 3;

    /** A runner with the project's kernel and default timeouts. */
    public static NotebookRunner withDefaults(Path root, PrintStream progress) {
        return new NotebookRunner(root, "distillery", DEFAULT_STARTUP_TIMEOUT_S, DEFAULT_STARTUP_ATTEMPTS, progress);
    }

    /** What happened to one notebook. */
    public record Result(String name, String status, double seconds, int attempts, String error,
                         int cells, Path log) {
        public boolean ok() {
            return "ok".equals(status);
        }
    }

    /**
     * Executes {@code notebook}; the executed copy, its HTML export and the files it saves go into
     * {@code outDir}; the log into {@code log}.
     */
    public Result run(Path notebook, Path outDir, Profile profile, Path log) {
        String name = stem(notebook);
        List<String> cmd = List.of(PYTHON, root.resolve("environment/run_notebook.py").toString(),
                notebook.toAbsolutePath().toString(), outDir.toAbsolutePath().toString(),
                "--kernel", kernelName,
                "--startup-timeout", Integer.toString(startupTimeoutSeconds),
                "--startup-attempts", Integer.toString(startupAttempts));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(root.toFile());
        Map<String, String> env = pb.environment();
        env.put("JUPYTER_PATH", root.resolve("target/jupyter").toString());
        env.put(ProjectPaths.HOME_ENV, root.toString());
        env.put(Profile.ENV, profile.id());
        env.put(Notebook.OUTPUT_ENV, outDir.toAbsolutePath().toString());
        env.put("PYTHONUNBUFFERED", "1");
        String last = null;
        try {
            Files.createDirectories(outDir);
            Files.createDirectories(log.toAbsolutePath().getParent());
            Process p = pb.start();
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                 Writer logOut = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                    logOut.write(line);
                    logOut.write('\n');
                    logOut.flush();
                    if (line.startsWith(notebook.getFileName() + ":")) {
                        progress.println("  " + line);
                    }
                    if (line.startsWith("{\"status\"")) {
                        last = line;
                    }
                }
            }
            p.waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run notebook " + notebook + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + notebook, e);
        }
        if (last == null) {
            return new Result(name, "failed", 0, 0, "the notebook runner stopped without a result", 0, log);
        }
        try {
            JsonNode j = new ObjectMapper().readTree(last);
            return new Result(name, j.get("status").asText(), j.get("seconds").asDouble(),
                    j.get("attempts").asInt(), j.get("error").isNull() ? null : j.get("error").asText(),
                    j.get("cells").asInt(), log);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable runner result: " + last, e);
        }
    }

    /** The notebooks in {@code dir} ({@code *.ipynb}), sorted by name. */
    public static List<Path> list(Path dir) {
        try (var s = Files.list(dir)) {
            List<Path> out = new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(".ipynb"))
                    .sorted().toList());
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list notebooks in " + dir, e);
        }
    }

    /** A notebook's name: its file name without {@code .ipynb}. */
    public static String stem(Path notebook) {
        String f = notebook.getFileName().toString();
        return f.endsWith(".ipynb") ? f.substring(0, f.length() - ".ipynb".length()) : f;
    }
}
