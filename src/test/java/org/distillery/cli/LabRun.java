package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** The command line run in-process for the command tests: picocli's error stream collected in {@link #err}. */
final class LabRun {
    /** Everything the commands wrote to picocli's error stream so far. */
    final StringWriter err = new StringWriter();

    /** Runs {@code ./lab args}; returns the exit code. */
    int run(String... args) {
        CommandLine cl = Lab.commandLine();
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    /** Runs {@code ./lab args}, asserts exit code 0 (showing the errors otherwise) and returns what it printed on System.out. */
    String stdout(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, run(args), err::toString);
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
