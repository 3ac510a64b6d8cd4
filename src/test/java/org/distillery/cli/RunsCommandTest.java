package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.distillery.record.RunRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./lab runs: the table of two quantize runs, a filter, a diff and a re-run, and the errors. */
class RunsCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();

    @Test
    void listsFiltersDiffsAndRerunsRecordedRuns() throws Exception {
        Path src = TinyGptDir.model(tmp.resolve("src"));
        Path calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
        Path root = tmp.resolve("runs");
        for (String bits : List.of("4", "8")) {
            runner.stdout("quantize", "--model", src.toString(), "--method", "gptq", "--bits", bits, "--calib", calib.toString(),
                    "--runs", root.toString(), "--run-name", "g" + bits);
        }
        List<String> table = runner.stdout("runs", "--root", root.toString()).lines().toList();
        String header = table.stream().filter(l -> l.contains(" run ")).findFirst().orElseThrow();
        assertTrue(header.matches("\\s*run\\s+\\|\\s+status\\s+\\|\\s+command\\s+\\|\\s+bits\\s+\\|.*"), header);
        assertTrue(header.contains("mean_relative_output_error") && !header.contains(" method "), "only what differs: " + header);
        assertTrue(table.stream().anyMatch(l -> l.matches("\\s*g4\\s+\\|\\s+complete\\s+\\|\\s+quantize\\s+\\|\\s+4\\s+\\|.*")), table.toString());
        assertEquals(root.resolve("g4").getParent() + "", root.toString());
        assertEquals("2 runs in " + root, table.get(table.size() - 1));

        List<String> one = runner.stdout("runs", "--root", root.toString(), "--filter", "bits=8", "--columns", "run,bits").lines().toList();
        assertEquals("1 run in " + root, one.get(one.size() - 1));
        assertTrue(one.stream().anyMatch(l -> l.matches("\\s*g8\\s+\\|\\s+8\\s+\\|")), one.toString());

        String diff = runner.stdout("runs", "--root", root.toString(), "--diff", "g4", "g8");
        assertTrue(diff.lines().anyMatch(l -> l.matches("\\s*config\\s+\\|\\s+options\\.bits\\s+\\|\\s+4\\s+\\|\\s+8\\s+\\|")), diff);

        String rerun = runner.stdout("runs", "--root", root.toString(), "--rerun", "g4");
        int rows = RunRecord.read(root.resolve("g4")).metrics().size();
        assertTrue(rerun.contains("rerun " + root.resolve("g4-rerun-1") + ": " + rows + " metrics compared (0 timing metrics left out),"
                + " max |difference| 0.00000: bit-identical"), rerun);
        assertTrue(RunRecord.read(root.resolve("g4-rerun-1")).isComplete());

        String sep = System.lineSeparator();
        assertEquals(2, runner.run("runs", "--root", root.toString(), "--filter", "colour=red"));
        assertTrue(runner.err.toString().startsWith("runs: filter 'colour=red': no column 'colour'; columns: run, status, command,"),
                runner.err.toString());
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("runs", "--root", root.toString(), "--diff", "g4", "nope"));
        assertEquals("runs: --diff nope: not a run folder (neither it nor " + root.resolve("nope") + " holds config.json)" + sep,
                runner.err.toString());
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("runs", "--root", tmp.resolve("none").toString()));
        assertEquals("runs: runs folder " + tmp.resolve("none") + ": no such folder" + sep, runner.err.toString());
        assertTrue(Files.isDirectory(root.resolve("g8")));
    }
}
