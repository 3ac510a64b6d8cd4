package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class LabTest {
    private final StringWriter err = new StringWriter();
    private final StringWriter out = new StringWriter();

    private int run(String... args) {
        CommandLine cl = Lab.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        return cl.execute(args);
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertEquals(2, run("frobnicate"));
        assertTrue(err.toString().startsWith("lab: Unmatched argument at index 0: 'frobnicate'"), err.toString());
    }

    @Test
    void missingCommandIsAUsageError() {
        assertEquals(2, run());
        assertTrue(err.toString().startsWith("lab: missing command: choose one of reproduce, test, notebook, train, distill, eval, quantize, prune, finetune, bench"),
                err.toString());
    }

    @Test
    void unknownProfileNamesTheAcceptedValues() {
        assertEquals(2, run("reproduce", "--profile", "fast"));
        assertTrue(err.toString().startsWith("reproduce: Invalid value for option '--profile': "
                + "unknown profile 'fast': expected one of quick, full"), err.toString());
    }

    @Test
    void unknownOptionIsAUsageError() {
        assertEquals(2, run("test", "--fast"));
        assertTrue(err.toString().startsWith("test: Unknown option: '--fast'"), err.toString());
    }

    @Test
    void badPortIsAUsageError() {
        assertEquals(2, run("notebook", "--port", "70000"));
        assertEquals("notebook: --port 70000 is not accepted: use 1-65535", err.toString().strip());
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : new String[] {"reproduce", "test", "notebook", "train", "distill", "eval", "quantize", "prune", "finetune", "bench"}) {
            assertEquals(0, run(c, "--help"), c);
            assertTrue(out.toString().contains("Usage: lab " + c), c);
        }
    }
}
