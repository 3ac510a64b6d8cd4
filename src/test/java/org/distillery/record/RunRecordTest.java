package org.distillery.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** A run folder written and read back exactly; its marker, lock and refusals. */
class RunRecordTest {
    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A provenance record of made-up values (no git or ND4J needed). */
    static RunProvenance provenance() {
        return new RunProvenance(new org.distillery.report.Provenance("c0ffee", false, "17", "Linux", 2, "cpu", "2024-01-01T00:00:00Z"),
                null, "17.0.1", "vendor", "vm", java.util.Map.of("backend", "CPU"), java.util.Map.of("lib", "1.0"),
                java.util.Map.of("brown/train.jsonl.gz", "ab12"));
    }

    private static JsonNode config() throws Exception {
        return JSON.readTree("{\"format\": 1, \"command\": \"quantize\", \"args\": [\"--bits\", \"4\"],"
                + " \"options\": {\"bits\": 4, \"method\": \"rtn\", \"seed\": 7}}");
    }

    @Test
    void writesEveryFileAndReadsItBackExactly() throws Exception {
        Path dir = tmp.resolve("runs").resolve("r1");            // runs/ does not exist yet: created
        List<RunRecord.Metric> rows = List.of(new RunRecord.Metric(1, "train", "loss", 0.1),
                new RunRecord.Metric(2, "train", "loss", 1.0 / 3), new RunRecord.Metric(2, "val", "loss", 1e-300),
                new RunRecord.Metric(0, "final", "perplexity, \"quoted\"", Double.NaN),
                new RunRecord.Metric(0, "final", "bytes", 4416));
        JsonNode summary = JSON.readTree("{\"metrics\": {\"perplexity\": 13.25}, \"seconds\": 1.5}");
        try (RunRecord r = RunRecord.create(dir, config())) {
            assertTrue(Files.exists(dir.resolve(RunRecord.INCOMPLETE)), "the marker is there from the start");
            assertFalse(r.isComplete());
            assertTrue(Files.readString(dir.resolve(RunRecord.INCOMPLETE)).startsWith("pid " + ProcessHandle.current().pid() + ", since "));
            r.writeMetrics(rows);
            r.writeSummary(summary);
            XYChart chart = new XYChartBuilder().width(200).height(100).build();
            chart.addSeries("s", new double[] {1, 2}, new double[] {3, 4});
            Path png = r.savePlot("loss", chart);
            BufferedImage img = ImageIO.read(png.toFile());
            assertEquals(200, img.getWidth());
            assertEquals(100, img.getHeight());
            assertEquals("run folder " + dir + ": write provenance.json before completing the run",
                    assertThrows(IllegalStateException.class, r::complete).getMessage());
            r.writeProvenance(provenance());
            r.complete();
        }
        RunRecord back = RunRecord.read(dir);
        assertTrue(back.isComplete());
        assertFalse(Files.exists(dir.resolve(RunRecord.INCOMPLETE)));
        assertEquals(config(), back.config());
        assertEquals(summary, back.summary());
        assertEquals(JSON.readTree("""
                {"git_commit": "c0ffee", "git_dirty": false, "git_diff_file": null, "java_version": "17.0.1",
                 "java_vendor": "vendor", "java_vm": "vm", "os": "Linux", "cpu_model": "cpu", "cpu_cores": 2,
                 "nd4j": {"backend": "CPU"}, "libraries": {"lib": "1.0"}, "datasets": {"brown/train.jsonl.gz": "ab12"},
                 "date": "2024-01-01T00:00:00Z"}"""), back.provenance());
        assertEquals(rows.size(), back.metrics().size());
        for (int i = 0; i < rows.size(); i++) {
            RunRecord.Metric a = rows.get(i), b = back.metrics().get(i);
            assertEquals(a.step(), b.step());
            assertEquals(a.split(), b.split());
            assertEquals(a.metric(), b.metric());
            assertEquals(Double.doubleToRawLongBits(a.value()), Double.doubleToRawLongBits(b.value()), "bit-exact " + a);
        }
        assertEquals("step,split,metric,value\r\n1,train,loss,0.1\r\n2,train,loss,0.3333333333333333\r\n2,val,loss,1.0E-300\r\n"
                + "0,final,\"perplexity, \"\"quoted\"\"\",NaN\r\n0,final,bytes,4416.0\r\n",
                Files.readString(dir.resolve(RunRecord.METRICS), StandardCharsets.UTF_8));
        try (Stream<Path> s = Files.list(dir.getParent())) {
            assertEquals(List.of(dir), s.toList(), "no temporary folder left beside it");
        }
        assertEquals("run folder " + dir + " is complete: nothing to resume",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.resume(dir)).getMessage());
        assertThrows(IllegalStateException.class, () -> back.writeSummary(summary), "a read record does not write");
    }

    @Test
    void anExistingFolderIsRefusedWithTheExactMessageAndLeftAsItWas() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(dir.resolve("mine.txt"), "keep");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunRecord.create(dir, config()));
        assertEquals("run folder " + dir + " already exists: runs are never overwritten; choose another run name", e.getMessage());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("mine.txt")), s.toList());
        }
        assertEquals("keep", Files.readString(dir.resolve("mine.txt")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList(), "no temporary folder left");
        }
        // an incomplete run: the message says how to continue it
        Path inc = tmp.resolve("inc");
        RunRecord.create(inc, config()).close();
        assertEquals("run folder " + inc + " already exists: runs are never overwritten; choose another run name or continue it"
                + " with --resume " + inc, assertThrows(IllegalArgumentException.class, () -> RunRecord.create(inc, config())).getMessage());
    }

    @Test
    void anIncompleteRunIsLockedWhileWrittenAndResumedAfterwardsWithoutItsTemporaries() throws Exception {
        Path dir = tmp.resolve("r");
        RunRecord first = RunRecord.create(dir, config());
        IllegalArgumentException busy = assertThrows(IllegalArgumentException.class, () -> RunRecord.resume(dir));
        assertTrue(busy.getMessage().startsWith("run folder " + dir + " is being written by another process (pid "
                + ProcessHandle.current().pid() + ", since "), busy.getMessage());
        first.close();                                     // as if its process had been killed
        Files.writeString(dir.resolve(".metrics.csv.123.tmp"), "1,train,lo");     // what a kill mid-write leaves
        Files.createDirectories(dir.resolve(".model.partial-4567").resolve("x"));
        Files.createDirectories(dir.resolve(RunRecord.PLOTS));
        Files.writeString(dir.resolve(RunRecord.PLOTS).resolve(".loss.png.9.tmp"), "\u0089PN");
        try (RunRecord again = RunRecord.resume(dir)) {
            assertFalse(Files.exists(dir.resolve(".metrics.csv.123.tmp")));
            assertFalse(Files.exists(dir.resolve(".model.partial-4567")));
            assertFalse(Files.exists(dir.resolve(RunRecord.PLOTS).resolve(".loss.png.9.tmp")));
            assertEquals(config(), again.config());
            again.writeSummary(JSON.readTree("{\"ok\": true}"));
            again.writeProvenance(provenance());
            again.complete();
        }
        assertTrue(RunRecord.read(dir).isComplete());
    }

    @Test
    void theModelOfAnotherFolderIsLinkedNotCopied() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("out").resolve("run"));
        Files.writeString(tmp.resolve("out").resolve("model.safetensors"), "weights");
        Files.writeString(model.resolve("metrics.csv"), "step,split,metric,value\r\n");
        try (RunRecord r = RunRecord.create(tmp.resolve("rec"), config())) {
            r.linkModel(tmp.resolve("out"));
            assertTrue(Files.isSameFile(tmp.resolve("out").resolve("model.safetensors"), r.modelDir().resolve("model.safetensors")));
            assertEquals("step,split,metric,value\r\n", Files.readString(r.modelDir().resolve("run").resolve("metrics.csv")));
            assertThrows(IllegalStateException.class, () -> r.linkModel(tmp.resolve("out")));
        }
    }

    @Test
    void aMalformedMetricsFileIsReportedWithFileAndRecord() throws Exception {
        Path f = Files.writeString(tmp.resolve("m.csv"), "step,split,metric,value\r\n1,train,loss,0.5\r\n2,train,loss\r\n");
        assertEquals(f + " record 2: 3 fields; expected step,split,metric,value",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.readMetrics(f)).getMessage());
        Path g = Files.writeString(tmp.resolve("g.csv"), "step,split,metric,value\r\nx,train,loss,0.5\r\n");
        assertEquals(g + " record 1: step or value is not a number: [x, train, loss, 0.5]",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.readMetrics(g)).getMessage());
        assertEquals("run folder " + tmp.resolve("none") + ": no such folder",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.read(tmp.resolve("none"))).getMessage());
        assertEquals("run folder " + tmp + ": not a run folder (no config.json with INCOMPLETE or provenance.json)",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.read(tmp)).getMessage());
    }
}
