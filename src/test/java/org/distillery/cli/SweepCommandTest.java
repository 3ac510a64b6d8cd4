package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.distillery.io.Safetensors;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.record.RunRecord;
import org.distillery.record.Sweep;
import org.distillery.util.FileTrees;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./lab sweep: grid validation (each bad grid one exact line, nothing written), a 2 x 2 grid end to end (the results
 * table against the runs' own reports), a re-run that launches only what is not complete, and a sweep killed with
 * SIGKILL (with its cells) three times at random moments that, resumed, ends with the uninterrupted sweep's results
 * and never leaves a truncated file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SweepCommandTest {
    @TempDir
    static Path tmp;

    private final LabRun runner = new LabRun();
    private Path model, calib, grid, reference;
    private String sep = System.lineSeparator();

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The reference: the 2 x 2 grid swept without interruption (GPTQ at 4/8 bits x without/with act-order, tiny model). */
    @BeforeAll
    void referenceSweep() throws Exception {
        model = TinyGptDir.model(tmp.resolve("tiny"));
        calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
        grid = Files.writeString(tmp.resolve("q.json"), "{\"command\": \"quantize\", \"base\": {\"model\": \"" + model
                + "\", \"method\": \"gptq\", \"calib\": \"" + calib + "\"}, \"axes\": {\"bits\": [4, 8], \"act-order\": [false, true]}}");
        String out = runner.stdout("sweep", "--grid", grid.toString(), "--runs", tmp.resolve("ref").toString(), "--workers", "2");
        assertTrue(out.contains("sweep q: 4 cells: 0 complete before, 4 processes launched, 0 failed; results: "), out);
        reference = tmp.resolve("ref").resolve("q");
    }

    @Test
    void theResultsTableHoldsEveryCellsOptionsAndTheMetricsOfItsOwnReport() throws Exception {
        List<CSVRecord> rows;
        try (Reader in = Files.newBufferedReader(reference.resolve(Sweep.RESULTS), StandardCharsets.UTF_8)) {
            rows = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(in).getRecords();
        }
        assertEquals(List.of("cell", "status", "bits", "act-order", "bits_per_weight", "packed_file_bytes", "float32_model_bytes",
                "mean_relative_output_error"), rows.get(0).getParser().getHeaderNames());
        String[][] cells = {{"4", "false"}, {"4", "true"}, {"8", "false"}, {"8", "true"}};
        assertEquals(4, rows.size());
        for (int i = 0; i < 4; i++) {
            CSVRecord r = rows.get(i);
            String name = "bits=" + cells[i][0] + "_act-order=" + cells[i][1];
            assertEquals(List.of(name, "complete", cells[i][0], cells[i][1]), r.toList().subList(0, 4));
            Path run = reference.resolve(Sweep.RUNS).resolve(name);
            JsonNode q = JSON.readTree(run.resolve("model/quantization.json").toFile());       // the command's own report
            assertEquals("gptq", q.get("method").asText());
            assertEquals(Integer.parseInt(cells[i][0]), q.get("bits").asInt());
            assertEquals(Boolean.parseBoolean(cells[i][1]), q.get("act_order").asBoolean());
            assertEquals(q.at("/sizes/bits_per_weight").asDouble(), Double.parseDouble(r.get("bits_per_weight")), 0);
            assertEquals(q.at("/sizes/packed_file_bytes").asLong(), Long.parseLong(r.get("packed_file_bytes")));
            assertEquals(Files.size(model.resolve("model.safetensors")), Long.parseLong(r.get("float32_model_bytes")));
            double sum = 0;
            for (JsonNode l : q.get("layers")) sum += l.get("relative_output_error").asDouble();
            assertEquals(sum / q.get("layers").size(), Double.parseDouble(r.get("mean_relative_output_error")), 1e-15);
            JsonNode summary = RunRecord.read(run).summary().get("metrics");
            for (String k : List.of("bits_per_weight", "packed_file_bytes", "float32_model_bytes", "mean_relative_output_error")) {
                assertEquals(summary.get(k).asDouble(), Double.parseDouble(r.get(k)), 0, k);
            }
            JsonNode cfg = RunRecord.read(run).config();
            List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--method", "gptq", "--bits", cells[i][0]));
            if (cells[i][1].equals("true")) args.add("--act-order");
            args.addAll(List.of("--calib", calib.toString()));
            assertEquals(args, List.of(JSON.treeToValue(cfg.get("args"), String[].class)));
        }
        assertTrue(Double.parseDouble(rows.get(0).get("mean_relative_output_error"))
                > Double.parseDouble(rows.get(2).get("mean_relative_output_error")), "4 bits err more than 8");
        assertWhole(reference);
    }

    @Test
    void aSweepRunAgainLaunchesOnlyTheCellsThatAreNotComplete() throws Exception {
        Path copy = tmp.resolve("again").resolve("q");
        FileTrees.copy(reference, copy);
        String out = runner.stdout("sweep", "--grid", grid.toString(), "--runs", copy.getParent().toString());
        assertTrue(out.contains("sweep q: 4 cells: 4 complete before, 0 processes launched, 0 failed"), out);

        FileTrees.delete(copy.resolve(Sweep.RUNS).resolve("bits=8_act-order=false"));                   // never started
        Files.writeString(copy.resolve(Sweep.RUNS).resolve("bits=4_act-order=true").resolve(RunRecord.INCOMPLETE), "pid 1\n"); // cut short
        out = runner.stdout("sweep", "--grid", grid.toString(), "--runs", copy.getParent().toString(), "--workers", "2");
        assertTrue(out.contains("sweep q: 4 cells: 2 complete before, 2 processes launched, 0 failed"), out);
        assertEquals(Files.readString(reference.resolve(Sweep.RESULTS)), Files.readString(copy.resolve(Sweep.RESULTS)));
        assertTrue(Files.readString(copy.resolve(Sweep.LOGS).resolve("bits=4_act-order=true.log")).contains("quantize --resume "));
    }

    @Test
    void badGridsAreRefusedWithOneExactLineAndNothingWritten() throws Exception {
        Path runs = tmp.resolve("bad-runs");
        String m = "\"model\": \"" + model + "\"";
        String[][] cases = {
                {"{\"command\": \"quantize\", \"axes\": {\"bits\": [4]}, \"sweeps\": 2}", "unknown key 'sweeps'; accepted: command, base, axes"},
                {"{\"axes\": {\"bits\": [4]}}", "\"command\" is missing; accepted: train, distill, quantize, prune, eval, finetune"},
                {"{\"command\": \"frobnicate\", \"axes\": {\"bits\": [4]}}", "unknown command \"frobnicate\"; accepted: train, distill,"
                        + " quantize, prune, eval, finetune"},
                {"{\"command\": \"quantize\", \"base\": {" + m + "}}", "\"axes\" must be an object of option -> list of values with at"
                        + " least one axis; it is missing"},
                {"{\"command\": \"quantize\", \"axes\": {}}", "\"axes\" must be an object of option -> list of values with at least one"
                        + " axis, got {}"},
                {"{\"command\": \"quantize\", \"axes\": {\"bits\": []}}", "axis 'bits' is empty; give it at least one value"},
                {"{\"command\": \"quantize\", \"axes\": {\"bits\": 4}}", "axis 'bits' must be a list of values, got 4"},
                {"{\"command\": \"quantize\", \"axes\": {\"bits\": [4, 4]}}", "axis 'bits' lists 4 twice"},
                {"{\"command\": \"quantize\", \"axes\": {\"bits\": [[4]]}}", "axis 'bits' value [4] is not a string, number or boolean"},
                {"{\"command\": \"quantize\", \"axes\": {\"act-order\": [1]}}", "axis 'act-order' value 1: --act-order is a flag; use"
                        + " true or false"},
                {"{\"command\": \"quantize\", \"base\": {\"out\": \"x\"}, \"axes\": {\"bits\": [4]}}", "'out' is set by the sweep for"
                        + " each cell; remove it from base"},
                {"{\"command\": \"quantize\", \"base\": {\"bits\": 4}, \"axes\": {\"bits\": [4]}}", "'bits' is in both base and axes;"
                        + " keep one"},
                {"[1, 2]", "a grid is a JSON object with \"command\", \"axes\" and optionally \"base\""},
        };
        for (String[] c : cases) {
            Path g = Files.writeString(tmp.resolve("bad.json"), c[0]);
            runner.err.getBuffer().setLength(0);
            assertEquals(2, runner.run("sweep", "--grid", g.toString(), "--runs", runs.toString()), c[0]);
            assertEquals("sweep: --grid " + g + ": " + c[1] + sep, runner.err.toString(), c[0]);
        }
        Path g = Files.writeString(tmp.resolve("bad.json"), "{\"command\": \"quantize\", \"axes\": {\"colour\": [\"red\"]}}");
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("sweep", "--grid", g.toString(), "--runs", runs.toString()));
        assertTrue(runner.err.toString().startsWith("sweep: --grid " + g + ": quantize has no option --colour (in axes); its"
                + " options: act, act-bits, act-order, alpha, batch, bits, calib,"), runner.err.toString());
        Files.writeString(g, "{\"command\": ");
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("sweep", "--grid", g.toString(), "--runs", runs.toString()));
        assertTrue(runner.err.toString().startsWith("sweep: --grid " + g + ": not valid JSON: "), runner.err.toString());
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("sweep", "--grid", grid.toString(), "--runs", runs.toString(), "--workers", "0"));
        assertEquals("sweep: --workers 0 is not accepted: use 1 or more" + sep, runner.err.toString());
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("sweep", "--grid", tmp.resolve("none.json").toString(), "--runs", runs.toString()));
        assertEquals("sweep: --grid " + tmp.resolve("none.json") + ": no such file" + sep, runner.err.toString());
        assertFalse(Files.exists(runs), "nothing written");

        Path other = Files.writeString(tmp.resolve("other.json"), Files.readString(grid).replace("[4, 8]", "[4]"));
        assertTrue(Files.readString(other).contains("\"bits\": [4]"));
        Path copy = tmp.resolve("grid-changed");
        FileTrees.copy(reference, copy.resolve("q"));
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("sweep", "--grid", other.toString(), "--runs", copy.toString(), "--name", "q"));
        assertEquals("sweep: sweep folder " + copy.resolve("q") + " holds a sweep of another grid (" + copy.resolve("q/grid.json")
                + " differs): choose another --name or runs folder" + sep, runner.err.toString());
    }

    @Test
    void aSweepKilledWithSigkillThreeTimesResumesToTheUninterruptedResultsAndNeverLeavesATruncatedFile() throws Exception {
        Path runs = tmp.resolve("killed");
        Path sweep = runs.resolve("q");
        Random random = new Random(20241122);
        List<String> cmd = new ArrayList<>(List.of("setsid"));
        cmd.addAll(Sweep.javaCommand(Lab.class.getName()));
        cmd.addAll(List.of("sweep", "--grid", grid.toString(), "--runs", runs.toString(), "--workers", "2"));
        int kills = 0;
        for (int kill = 0; kill < 3; kill++) {
            long delayMs = 1000 + random.nextInt(3000 * (kill + 1));     // later and later: some cells finish between kills
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("killed.log").toFile())).start();
            if (p.waitFor(delayMs, TimeUnit.MILLISECONDS)) break;            // finished before the kill: nothing to cut
            List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
            assertEquals(0, new ProcessBuilder("kill", "-KILL", "--", "-" + p.pid()).start().waitFor(), "kill the process group");
            kills++;
            tree.add(p.toHandle());
            for (ProcessHandle h : tree) h.onExit().get(30, TimeUnit.SECONDS);
            assertWhole(sweep);
            long complete = 0, incomplete = 0;
            if (Files.isDirectory(sweep.resolve(Sweep.RUNS))) {
                try (Stream<Path> s = Files.list(sweep.resolve(Sweep.RUNS))) {
                    for (Path r : s.filter(RunRecord::isRun).toList()) {
                        if (RunRecord.read(r).isComplete()) complete++;
                        else incomplete++;
                    }
                }
            }
            System.out.printf("SIGKILL %d after %d ms (%d processes): %d cells complete, %d incomplete%n", kill + 1, delayMs,
                    tree.size(), complete, incomplete);
        }
        assertTrue(kills >= 1, "at least one kill came before the sweep ended");
        String out = runner.stdout("sweep", "--grid", grid.toString(), "--runs", runs.toString(), "--workers", "2");
        assertTrue(out.contains("0 failed"), out);
        assertEquals(Files.readString(reference.resolve(Sweep.RESULTS)), Files.readString(sweep.resolve(Sweep.RESULTS)));
        for (String cell : List.of("bits=4_act-order=false", "bits=4_act-order=true", "bits=8_act-order=false", "bits=8_act-order=true")) {
            for (String f : List.of("model.safetensors", "quantized.safetensors")) {
                Path a = reference.resolve(Sweep.RUNS).resolve(cell).resolve("model").resolve(f);
                assertEquals(-1L, Files.mismatch(a, sweep.resolve(Sweep.RUNS).resolve(cell).resolve("model").resolve(f)), cell + " " + f);
            }
            assertTrue(RunRecord.read(sweep.resolve(Sweep.RUNS).resolve(cell)).isComplete());
        }
        assertWhole(sweep);
        try (Stream<Path> s = Files.walk(sweep.resolve(Sweep.RUNS))) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".")).toList(),
                    "no temporary file is left once every cell is complete");
        }
    }

    /**
     * Every file of every run folder of a sweep is whole: JSON parses, each CSV ends its last row and every row has the
     * header's fields, safetensors files load, PNGs decode. Names starting with '.' are temporaries (deleted on resume).
     */
    private static void assertWhole(Path sweep) throws Exception {
        if (!Files.isDirectory(sweep.resolve(Sweep.RUNS))) return;
        List<Path> files;
        try (Stream<Path> s = Files.walk(sweep)) {
            files = s.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/.")).toList();
        }
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.endsWith(".json")) {
                assertNotNull(JSON.readTree(f.toFile()), f.toString());
            } else if (n.endsWith(".csv")) {
                String text = Files.readString(f, StandardCharsets.UTF_8);
                assertTrue(text.endsWith("\n"), f + " ends its last row");
                List<CSVRecord> rows = csv(f);
                for (CSVRecord r : rows) assertEquals(rows.get(0).size(), r.size(), f + " record " + r.getRecordNumber());
            } else if (n.equals("quantized.safetensors")) {
                assertFalse(PackedSafetensors.load(f).isEmpty(), f.toString());
            } else if (n.endsWith(".safetensors")) {
                assertFalse(Safetensors.readAll(f).isEmpty(), f.toString());
            } else if (n.endsWith(".png")) {
                assertNotNull(ImageIO.read(f.toFile()), f.toString());
            } else if (n.equals(RunRecord.INCOMPLETE)) {
                assertTrue(Files.readString(f).matches("pid \\d+, since \\S+\\R"), f + ": " + Files.readString(f));
            }
        }
    }

    private static List<CSVRecord> csv(Path f) throws Exception {
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            return CSVFormat.DEFAULT.parse(r).getRecords();
        }
    }
}
