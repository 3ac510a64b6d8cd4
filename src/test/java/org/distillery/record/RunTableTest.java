package org.distillery.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.distillery.cli.Lab;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** RunTable on two fabricated runs, one incomplete run and one real ./lab quantize run; RunDiff of two of them. */
class RunTableTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();
    private Path root, real;

    private void fabricate(String name, String options, String metrics, boolean complete) throws Exception {
        RunRecord r = RunRecord.create(root.resolve(name), JSON.readTree("{\"command\": \"quantize\", \"options\": " + options + "}"));
        r.writeProvenance(RunProvenance.capture(org.distillery.util.ProjectPaths.root(), List.of()));
        if (complete) {
            r.writeSummary(JSON.readTree("{\"metrics\": " + metrics + ", \"seconds\": 2.5}"));
            r.complete();
        } else {
            r.close();
        }
    }

    @BeforeEach
    void runs() throws Exception {
        root = tmp.resolve("runs");
        Path model = tmp.resolve("tiny");
        new Gpt(Gpt2Config.of(256, 16, 32, 2, 2), 4, 16, 7).save(model);
        fabricate("a", "{\"model\": \"m\", \"method\": \"gptq\", \"bits\": 4, \"seed\": 1}",
                "{\"perplexity_after\": 10.5, \"bits_per_weight\": 4.25}", true);
        fabricate("b", "{\"model\": \"m\", \"method\": \"gptq\", \"bits\": 4, \"seed\": 2}",
                "{\"perplexity_after\": 11.5, \"bits_per_weight\": 4.25}", true);
        fabricate("c", "{\"model\": \"m\", \"method\": \"rtn\", \"bits\": 3, \"seed\": 1}", null, false);
        assertEquals(0, Lab.commandLine().execute("quantize", "--model", model.toString(), "--method", "rtn", "--bits", "8",
                "--runs", root.toString(), "--run-name", "real"));
        real = root.resolve("real");
    }

    @Test
    void loadsOneRowPerRunWithOptionsAndMetricsAsTypedColumns() throws Exception {
        Table t = RunTable.load(root);
        assertEquals(List.of("a", "b", "c", "real"), t.stringColumn("run").asList(), "the model/ folder is no run");
        assertEquals(List.of("complete", "complete", "incomplete", "complete"), t.stringColumn("status").asList());
        assertEquals(List.of("run", "status", "command", "model", "method", "bits", "seed"), t.columnNames().subList(0, 7));
        assertTrue(t.column("bits") instanceof LongColumn);
        assertEquals(List.of(4L, 4L, 3L, 8L), ((LongColumn) t.column("bits")).asList());
        assertEquals(List.of("gptq", "gptq", "rtn", "rtn"), t.stringColumn("method").asList());
        DoubleColumn ppl = t.doubleColumn("perplexity_after");
        assertEquals(10.5, ppl.get(0));
        assertEquals(11.5, ppl.get(1));
        assertTrue(ppl.isMissing(2), "the incomplete run has no metrics");
        assertTrue(ppl.isMissing(3), "no --eval: no perplexity");
        JsonNode summary = JSON.readTree(real.resolve("model").resolve("quantization.json").toFile());
        assertEquals(summary.at("/sizes/bits_per_weight").asDouble(), t.doubleColumn("bits_per_weight").get(3), 0);
        assertEquals(summary.at("/sizes/packed_file_bytes").asLong(), ((LongColumn) t.column("packed_file_bytes")).get(3));
        assertTrue(((LongColumn) t.column("packed_file_bytes")).isMissing(0), "fabricated runs do not have it");
        assertEquals("", t.stringColumn("out").get(3), "no --out: the model is only in the run folder");
        String commit = RunRecord.read(real).provenance().get("git_commit").asText();
        assertEquals(List.of(commit, commit, commit, commit), t.stringColumn("git_commit").asList());
        assertTrue(t.columnNames().containsAll(List.of("seconds", "git_commit", "git_dirty", "date")));
    }

    @Test
    void filtersGroupsAndPlots() {
        Table t = RunTable.load(root);
        assertEquals(List.of("a", "b"), RunTable.filter(t, "bits=4").stringColumn("run").asList());
        assertEquals(List.of("c", "real"), RunTable.filter(t, "method=rtn").stringColumn("run").asList());
        assertEquals(List.of("a"), RunTable.filter(t, "method=gptq", "seed=1").stringColumn("run").asList());
        assertEquals(0, RunTable.filter(t, "method=awq").rowCount());
        assertEquals("filter 'colour=red': no column 'colour'; columns: " + String.join(", ", t.columnNames()),
                assertThrows(IllegalArgumentException.class, () -> RunTable.filter(t, "colour=red")).getMessage());
        assertEquals("filter 'bits=four': column bits holds numbers and 'four' is not one",
                assertThrows(IllegalArgumentException.class, () -> RunTable.filter(t, "bits=four")).getMessage());
        assertEquals("filter 'bits' is not COLUMN=VALUE",
                assertThrows(IllegalArgumentException.class, () -> RunTable.filter(t, "bits")).getMessage());

        Table g = RunTable.group(RunTable.filter(t, "status=complete"), "perplexity_after", "method");
        assertEquals(List.of("gptq", "rtn"), g.stringColumn("method").asList());
        assertEquals(11.0, g.doubleColumn(1).get(0), 1e-15, "mean of 10.5 and 11.5");
        assertEquals(Math.sqrt(0.5), g.doubleColumn(2).get(0), 1e-15, "sample standard deviation");
        assertEquals(2.0, g.doubleColumn(3).get(0), 0, "count");

        XYChart c = RunTable.plot(t, "seed", "perplexity_after", "method");
        assertEquals(List.of("method=gptq"), List.copyOf(c.getSeriesMap().keySet()), "rows without a y value are left out");
        double[] x = c.getSeriesMap().get("method=gptq").getXData(), y = c.getSeriesMap().get("method=gptq").getYData();
        assertEquals(List.of(1.0, 2.0), List.of(x[0], x[1]));
        assertEquals(List.of(10.5, 11.5), List.of(y[0], y[1]));
    }

    @Test
    void diffListsExactlyTheConfigAndProvenanceFieldsThatDiffer() {
        Table d = RunDiff.of(root.resolve("a"), root.resolve("c"));
        List<String> keys = d.stringColumn("key").asList();
        assertEquals("config", d.stringColumn("file").get(0));
        assertEquals(List.of("options.method", "options.bits"), keys.subList(0, 2), "seed and model are equal");
        assertEquals(List.of("gptq", "4"), List.of(d.stringColumn("a").get(0), d.stringColumn("a").get(1)));
        assertEquals(List.of("rtn", "3"), List.of(d.stringColumn("b").get(0), d.stringColumn("b").get(1)));
        for (int i = 2; i < d.rowCount(); i++) {
            assertEquals("provenance", d.stringColumn("file").get(i));
            assertEquals("date", d.stringColumn("key").get(i), "the same machine and commit: only the date differs");
        }
        Table self = RunDiff.of(root.resolve("a"), root.resolve("a"));
        assertEquals(0, self.rowCount());
        StringColumn k = RunDiff.of(root.resolve("a"), real).stringColumn("key");
        assertTrue(k.asList().containsAll(List.of("args", "options.method", "options.bits", "options.seed", "options.model",
                "options.out", "inputs.model.path", "format", "cwd")), k.asList().toString());
    }
}
