package org.distillery.robustness.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.cli.Lab;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.function.Executable;
import picocli.CommandLine;

/**
 * The bad-input matrix's cases: a call, the exception type it must throw and its exact message. Each entry point's
 * test class lists its cases and runs them as one dynamic test each ({@link #tests}); the CLI classes run
 * {@code ./lab} in-process ({@link #lab}) and compare the whole stderr line.
 */
final class BadInput {
    private BadInput() {}

    /** One bad input: {@code call} must throw exactly {@code type} with exactly {@code message}. */
    record Case(String name, Class<? extends Throwable> type, String message, Executable call) {}

    /** An {@link IllegalArgumentException} case. */
    static Case iae(String name, String message, Executable call) {
        return new Case(name, IllegalArgumentException.class, message, call);
    }

    /** An {@link IllegalStateException} case. */
    static Case ise(String name, String message, Executable call) {
        return new Case(name, IllegalStateException.class, message, call);
    }

    /** A {@link CheckpointFormatException} case. */
    static Case cfe(String name, String message, Executable call) {
        return new Case(name, CheckpointFormatException.class, message, call);
    }

    /** An {@link UncheckedIOException} case (a path that cannot be read). */
    static Case io(String name, String message, Executable call) {
        return new Case(name, UncheckedIOException.class, message, call);
    }

    /** The cases as dynamic tests named after them; each asserts the type and the exact message. */
    static Stream<DynamicTest> tests(List<Case> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Throwable e = assertThrows(Throwable.class, c.call(), c.name());
            if (!c.type().equals(e.getClass())) {
                throw new AssertionError(c.name() + ": expected " + c.type().getSimpleName() + " but got " + e, e);
            }
            assertEquals(c.message(), e.getMessage(), c.name());
        }));
    }

    /** What {@code ./lab args} did: exit code, stdout and stderr. */
    record Run(int exit, String out, String err) {}

    /** Runs {@code ./lab args} in-process with the project's error handling ({@link Lab#commandLine()}). */
    static Run lab(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Lab.commandLine();
        cl.setErr(new PrintWriter(err, true));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = cl.execute(args);
        } finally {
            System.setOut(old);
        }
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString());
    }

    /**
     * A bad command line: {@code ./lab args} must exit with {@code exit} and print exactly {@code stderr} (each line
     * ended by the line separator; usually one line, {@code "<command>: <message>"}).
     */
    record Cli(String name, int exit, String stderr, String... args) {}

    /** A one-line refusal with exit code 2: {@code "<command>: <message>"}. */
    static Cli usage(String name, String message, String... args) {
        return new Cli(name, 2, args[0] + ": " + message + System.lineSeparator(), args);
    }

    /**
     * The command lines as dynamic tests: each asserts the exit code, the whole of stderr and that the folder
     * {@code work} (where the commands write) holds exactly what it held before: no output, no temporary folder.
     */
    static Stream<DynamicTest> cli(Path work, List<Cli> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            List<String> before = entries(work);
            Run r = lab(c.args());
            assertEquals(c.stderr(), r.err(), c.name());
            assertEquals(c.exit(), r.exit(), c.name() + ": exit code");
            assertEquals(before, entries(work), c.name() + ": files left in " + work);
        }));
    }

    /** The entries of {@code dir}, sorted (to assert that nothing was left behind). */
    static List<String> entries(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A random GPT: byte vocabulary, context 16, width 32, 2 layers of 2 heads, batches up to 4, seed 7. */
    static Gpt tinyGpt() {
        return new Gpt(Gpt2Config.of(256, 16, 32, 2, 2), 4, 16, 7);
    }

    /** {@link #tinyGpt()} saved as {@code dir}. */
    static Path tinyGpt(Path dir) {
        tinyGpt().save(dir);
        return dir;
    }

    /** {@code n} calibration windows of {@code t} byte ids (deterministic). */
    static List<int[]> windows(int n, int t) {
        List<int[]> w = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[t];
            for (int j = 0; j < t; j++) ids[j] = (31 * i + 7 * j + 3) % 256;
            w.add(ids);
        }
        return w;
    }

    /** 40 numbered English sentences (about 1,900 bytes): a calibration text longer than the tiny GPT's context. */
    static String text() {
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < 40; i++) t.append("The quick brown fox ").append(i).append(" jumps over the lazy dog. ");
        return t.toString();
    }
}
