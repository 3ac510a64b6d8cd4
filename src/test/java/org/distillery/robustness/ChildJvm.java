package org.distillery.robustness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A fresh JVM running a main class of the test classpath, with the BLAS/OpenMP thread count set in its
 * environment: ND4J reads {@code OMP_NUM_THREADS} once, when its native library loads, so a thread count can
 * only be chosen per process. The flags are those of {@code ./lab} (the incubating Vector API, the JIT trap limit,
 * the serial collector, and on JDK 24+ the native-access permissions); stdout and stderr go to a log file.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** The command line: this JVM's java binary, ./lab's flags, the test classpath, {@code main} and its arguments. */
    static List<String> command(Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", org.distillery.util.JitSettings.TRAP_LIMIT_OPTION,
                "-Djava.awt.headless=true", "-XX:+UseSerialGC", "-Xmn32m", "-Xmx1g"));
        if (Runtime.version().feature() >= 24) {
            cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Starts {@code main args} with {@code threads} BLAS/OpenMP threads ({@code OMP_NUM_THREADS} and
     * {@code OPENBLAS_NUM_THREADS}); stdout and stderr go to {@code log}.
     */
    static Process start(int threads, Path log, Class<?> main, String... args) {
        ProcessBuilder pb = new ProcessBuilder(command(main, args)).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        pb.environment().remove("ND4J_SKIP_BLAS_THREADS");
        try {
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + pb.command(), e);
        }
    }

    /** Runs {@code main args} to the end (at most {@code timeoutSeconds}); returns its exit code. */
    static int run(int threads, Path log, long timeoutSeconds, Class<?> main, String... args) {
        Process p = start(threads, log, main, args);
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(main.getSimpleName() + " did not finish within " + timeoutSeconds + " s; log:\n"
                        + tail(log));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        return p.exitValue();
    }

    /** The last 40 lines of a log, for failure messages. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
