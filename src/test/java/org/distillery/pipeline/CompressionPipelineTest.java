package org.distillery.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.cli.Lab;
import org.distillery.cli.LabCommands;
import org.distillery.io.Gpt2Config;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.distillery.record.RunRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The pipeline end to end on a tiny teacher trained here (2 x 16, bytes, 6 steps): every stage's run complete, the
 * pruned zeros kept through quantization, the fine-tuned block weights equal to the quantized ones, the cost table
 * against the files, independent parameter counts and ./lab eval, a re-run that skips everything, and a missing input.
 */
class CompressionPipelineTest {
    @TempDir
    static Path tmp;

    static Path root, configFile;
    static CompressionPipeline.Outcome first;
    static String firstCsv;

    static int lab(StringWriter err, String... args) {
        CommandLine cl = Lab.commandLine();
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @BeforeAll
    static void runPipeline() throws Exception {
        root = tmp.resolve("runs");
        Files.createDirectories(root);
        Path runFile = Files.writeString(tmp.resolve("teacher.json"), PipelineConfigTest.STUDENT.replace("\"n_layer\": 1", "\"n_layer\": 2")
                .replace("\"steps\": 3", "\"steps\": 6"));
        StringWriter err = new StringWriter();
        assertEquals(0, lab(err, "train", "--config", runFile.toString(), "--runs", root.toString(), "--run-name", "teacher"), err::toString);
        Files.writeString(tmp.resolve("student.json"), PipelineConfigTest.STUDENT);
        configFile = Files.writeString(tmp.resolve("tiny.json"), """
                {"teacher": "runs/teacher/model",
                 "distill": {"student-config": "student.json", "losses": "ce=0.5,clm=0.5"},
                 "prune": {"method": "sparsegpt", "sparsity": 0.5, "calib-brown": 4},
                 "quantize": {"method": "normtweak+gptq", "bits": 4, "calib-brown": 4, "batch": 4},
                 "finetune": {"steps": 2, "batch": 4},
                 "eval": {"tokens": 600, "decode-tokens": 8, "repeats": 3}}""");
        PipelineConfig c = PipelineConfig.read(configFile, null, new LabCommands());
        first = new CompressionPipeline(c, root, new LabCommands(), System.out).run();
        firstCsv = Files.readString(first.folder().resolve(CompressionPipeline.CSV));
    }

    private static Path model(String run) {
        return first.folder().resolve("runs").resolve(run).resolve("model");
    }

    private static Map<String, NamedTensor> weights(String run) {
        return Safetensors.readAll(model(run).resolve("model.safetensors"));
    }

    @Test
    void everyStageIsACompleteRecordedRun() {
        assertEquals(List.of("1-distill", "2-prune", "3-quantize", "4-finetune", "task-0-teacher", "task-1-distill", "task-2-prune"), first.ran());
        for (String run : first.ran()) {
            RunRecord r = RunRecord.read(first.folder().resolve("runs").resolve(run));
            assertTrue(r.isComplete(), run);
            assertTrue(Files.isRegularFile(r.modelDir().resolve("model.safetensors")), run);
        }
        assertEquals("distill", RunRecord.read(first.folder().resolve("runs/1-distill")).config().get("command").asText());
        assertEquals(model("2-prune").toString(), RunRecord.read(first.folder().resolve("runs/3-quantize")).config()
                .at("/options/model").asText());
        assertTrue(RunRecord.read(first.folder().resolve("runs/3-quantize")).config().at("/options/keep-zeros").asBoolean());
        assertEquals(CompressionPipeline.ROWS, first.costs().stream().map(StageCost::stage).toList());
        assertTrue(Files.isRegularFile(first.folder().resolve(CompressionPipeline.CHART)));
        assertTrue(Files.isRegularFile(first.folder().resolve(CompressionPipeline.JSON)));
    }

    @Test
    void quantizationKeepsThePrunedZerosAndFineTuningKeepsTheQuantizedWeights() throws Exception {
        Map<String, NamedTensor> pruned = weights("2-prune"), quant = weights("3-quantize"), tuned = weights("4-finetune");
        List<String> linear = LinearLayers.names(Gpt.load(model("2-prune"), 1, 16));
        assertEquals(4, linear.size());
        long zeros = 0;
        for (String name : linear) {
            String key = pruned.containsKey(name) ? name : pruned.keySet().stream().filter(k -> k.endsWith(name)).findFirst().orElseThrow();
            float[] p = pruned.get(key).data(), q = quant.get(key).data(), f = tuned.get(key).data();
            for (int i = 0; i < p.length; i++) {
                if (p[i] == 0) {
                    zeros++;
                    assertEquals(0f, q[i], name + "[" + i + "]");
                }
            }
            assertArrayEquals(q, f, name + ": fine-tuning changed a block linear weight");
            String bias = key.substring(0, key.length() - "weight".length()) + "bias";
            assertArrayEquals(quant.get(bias).data(), tuned.get(bias).data(), bias);
        }
        assertTrue(zeros > 0.45 * linear.stream().mapToLong(n -> pruned.values().stream().filter(t -> t.name().endsWith(n))
                .findFirst().orElseThrow().data().length).sum(), "about half of the linear weights are pruned: " + zeros);
        assertEquals(-1, Files.mismatch(model("3-quantize").resolve("quantized.safetensors"), model("4-finetune").resolve("quantized.safetensors")));
        assertNotEquals(-1, Files.mismatch(model("3-quantize").resolve("model.safetensors"), model("4-finetune").resolve("model.safetensors")),
                "the norms and embeddings were fine-tuned");
    }

    @Test
    void theCostTableMatchesTheFilesAndIndependentCounts() throws Exception {
        List<StageCost> costs = first.costs();
        Path teacher = tmp.resolve("runs/teacher/model");
        List<Path> models = List.of(teacher, model("1-distill"), model("2-prune"), model("3-quantize"), model("4-finetune"));
        List<List<String>> expectedFiles = List.of(List.of("model.safetensors"), List.of("model.safetensors"), List.of("sparse.safetensors"),
                List.of("quantized.safetensors", "quantized-float.safetensors"), List.of("quantized.safetensors", "fine-tuned-float.safetensors",
                        "classifier.safetensors"));
        for (int i = 0; i < costs.size(); i++) {
            StageCost c = costs.get(i);
            long sum = 0;
            for (String f : c.files()) sum += Files.size(Path.of(f));
            assertEquals(sum, c.bytes(), c.stage());
            assertEquals(expectedFiles.get(i), c.files().stream().map(f -> Path.of(f).getFileName().toString()).toList(), c.stage());
            // parameters recounted from the loaded model
            Gpt gpt = Gpt.load(models.get(i), 1, 16);
            long n = 0, nonzero = 0;
            for (var t : gpt.parameters().values()) {
                for (float v : t.toFloatArray()) {
                    n++;
                    if (v != 0) nonzero++;
                }
            }
            if (i == 4) {
                JsonNode ft = new ObjectMapper().readTree(models.get(i).resolve("finetune.json").toFile());
                long head = ft.get("parameters").asLong() - gpt.parameterCount();
                assertTrue(head > 0);
                n += head;
                nonzero += head;                                             // a trained head has no exact zeros here
            }
            assertEquals(n, c.parameters(), c.stage());
            assertEquals(nonzero, c.nonzeroParameters(), c.stage());
            assertEquals(i < 3 ? "Gpt" : "PackedGpt", c.decodeModel(), c.stage());
            assertTrue(c.peakMemoryBytes() > 0 && c.tokensPerSecond() > 0, c.toString());
            assertEquals(1000 / c.tokensPerSecond(), c.latencyMs(), 1e-12);
            // perplexity = ./lab eval on the same tokens (a .bin of uint16 ids)
            int[] ids = StageCost.validationTokens(models.get(i), (Gpt2Config) gpt.config(), 600);
            ByteBuffer b = ByteBuffer.allocate(2 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int id : ids) b.putShort((short) id);
            Path bin = Files.write(tmp.resolve("val-" + i + ".bin"), b.array());
            StringWriter err = new StringWriter();
            Path evalRuns = tmp.resolve("eval-runs");
            assertEquals(0, lab(err, "eval", "--model", models.get(i).toString(), "--data", bin.toString(), "--runs", evalRuns.toString(),
                    "--run-name", "e" + i), err::toString);
            double ppl = RunRecord.read(evalRuns.resolve("e" + i)).summary().at("/metrics/perplexity").asDouble();
            assertEquals(ppl, c.perplexity(), 0, c.stage());
            assertEquals(600, c.perplexityTokens());
            // accuracy from the task run of the same recipe
            String task = List.of("task-0-teacher", "task-1-distill", "task-2-prune", "4-finetune", "4-finetune").get(i);
            JsonNode ft = new ObjectMapper().readTree(model(task).resolve("finetune.json").toFile());
            assertEquals(ft.get("test_accuracy").asDouble(), c.accuracy(), 0);
            assertEquals("norms", ft.at("/options/train").asText());
            assertEquals(2, ft.at("/options/steps").asInt());
        }
        assertEquals(costs.get(3).accuracy(), costs.get(4).accuracy(), 0);
        // the table's reductions
        var t = first.table();
        assertEquals((double) costs.get(0).bytes() / costs.get(3).bytes(), t.doubleColumn("x_smaller_bytes").get(3), 1e-12);
        assertEquals(100 * (1 - costs.get(2).latencyMs() / costs.get(0).latencyMs()), t.doubleColumn("latency_pct_lower").get(2), 1e-9);
        assertTrue(costs.get(3).bytes() < costs.get(1).bytes() && costs.get(2).bytes() < costs.get(1).bytes());
    }

    @Test
    void theParetoPointsCoverEveryKindOfRun() {
        List<ParetoChart.Point> points = ParetoChart.points(root);
        Map<String, String> kinds = new java.util.TreeMap<>();
        for (ParetoChart.Point p : points) kinds.put(p.run(), p.kind());
        assertEquals(Map.of("teacher", "trained", "tiny/runs/1-distill", "distilled", "tiny/runs/2-prune", "combined",
                "tiny/runs/3-quantize", "combined"), kinds);
        for (ParetoChart.Point p : points) {
            if (p.run().equals("tiny/runs/3-quantize")) assertEquals(first.costs().get(3).bytes(), p.bytes());
            if (p.run().equals("tiny/runs/2-prune")) assertEquals(first.costs().get(2).bytes(), p.bytes());
        }
    }

    @Test
    void aRerunSkipsEveryCompleteStageAndAMissingInputIsNamed() throws Exception {
        PipelineConfig c = PipelineConfig.read(configFile, null, new LabCommands());
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        CompressionPipeline.Outcome again = new CompressionPipeline(c, root, new LabCommands(),
                new PrintStream(log, true, StandardCharsets.UTF_8)).run();
        assertEquals(List.of(), again.ran());
        assertEquals(first.ran(), again.skipped());
        assertEquals(firstCsv, Files.readString(again.folder().resolve(CompressionPipeline.CSV)), "costs reused, not re-measured");
        assertFalse(log.toString(StandardCharsets.UTF_8).contains("measuring"));

        // the input of stage 2-prune (stage 1's model) gone, stage 2 not yet run
        Path runs = first.folder().resolve("runs"), away = tmp.resolve("away");
        Files.createDirectories(away);
        Files.move(runs.resolve("2-prune"), away.resolve("2-prune"));
        Files.move(runs.resolve("1-distill/model"), away.resolve("model"));
        List<String> before = listing(first.folder());
        try {
            StringWriter err = new StringWriter();
            assertEquals(2, lab(err, "pipeline", "--config", configFile.toString(), "--runs", root.toString()));
            assertEquals("pipeline: pipeline tiny: stage 2-prune needs the model of stage 1-distill, " + runs.resolve("1-distill/model")
                    + ", which does not exist (or lacks config.json / model.safetensors); nothing was run. Run that stage again by"
                    + " removing its run folder, or start a new pipeline (another name)" + System.lineSeparator(), err.toString());
            assertEquals(before, listing(first.folder()), "nothing written or removed");
        } finally {
            Files.move(away.resolve("model"), runs.resolve("1-distill/model"));
            Files.move(away.resolve("2-prune"), runs.resolve("2-prune"));
        }
        // another config into the same folder is refused
        Path other = Files.writeString(tmp.resolve("tiny-other.json"), Files.readString(configFile).replace("\"steps\": 2", "\"steps\": 3"));
        StringWriter err = new StringWriter();
        assertEquals(2, lab(err, "pipeline", "--config", other.toString(), "--runs", root.toString(), "--name", "tiny"));
        assertEquals("pipeline: pipeline folder " + first.folder() + " holds a pipeline of another config (" + first.folder()
                .resolve("config.json") + " differs): choose another name or runs folder" + System.lineSeparator(), err.toString());
    }

    private static List<String> listing(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.forEach(p -> out.add(dir.relativize(p) + (Files.isRegularFile(p) ? " " + p.toFile().length() + " " + p.toFile().lastModified() : "")));
        }
        out.sort(null);
        return out;
    }
}
