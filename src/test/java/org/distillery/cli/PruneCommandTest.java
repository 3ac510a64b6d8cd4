package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.model.Gpt;
import org.distillery.prune.MagnitudePruning;
import org.distillery.prune.NmPattern;
import org.distillery.prune.SparseGpt;
import org.distillery.prune.SparseSafetensors;
import org.distillery.prune.Structure;
import org.distillery.prune.StructureImportance;
import org.distillery.prune.StructuredPruning;
import org.distillery.quant.LinearLayers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./lab prune end to end on a tiny random GPT (byte vocabulary, context 16, width 32, 2 layers of 2 heads), and its bad input. */
class PruneCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private Path src;
    private Path calib;

    @BeforeEach
    void tinyModel() throws Exception {
        src = TinyGptDir.model(tmp.resolve("src"));
        calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
    }

    private JsonNode report(Path out) throws Exception {
        return new ObjectMapper().readTree(out.resolve(PruneCommand.REPORT_FILE).toFile());
    }

    /** Nothing but the inputs in the temporary folder: no output, no partial folder. */
    private void nothingLeft() throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            for (String n : names) {
                assertTrue(n.equals("src") || n.endsWith(".txt") || n.equals("exists"), "left behind: " + n + " in " + names);
            }
        }
    }

    private static void assertSameWeights(Gpt want, Gpt got) {
        assertEquals(want.config(), got.config());
        for (Map.Entry<String, FloatTensor> e : want.parameters().entrySet()) {
            float[] a = e.getValue().toFloatArray(), b = got.parameters().get(e.getKey()).toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), e.getKey() + "[" + i + "]");
            }
        }
    }

    /** The calibration windows the command cuts from calib.txt: consecutive windows of the context (16 bytes). */
    private List<int[]> calibWindows() throws Exception {
        byte[] b = Files.readString(calib).getBytes(StandardCharsets.UTF_8);
        List<int[]> w = new ArrayList<>();
        for (int s = 0; s + 16 <= b.length; s += 16) {
            int[] ids = new int[16];
            for (int i = 0; i < 16; i++) ids[i] = b[s + i] & 0xFF;
            w.add(ids);
        }
        return w;
    }

    @Test
    void magnitudeWritesTheLibrarysWeightsASparseFileAndTheReport() throws Exception {
        Path out = tmp.resolve("mag");
        String line = runner.stdout("prune", "--model", src.toString(), "--method", "magnitude", "--sparsity", "0.5",
                "--out", out.toString());
        assertTrue(line.startsWith("pruned " + out + ": magnitude 50%, 8 linear layers, zeros 0.5000 of the linear weights"), line);
        Gpt lib = Gpt.load(src, 1, 16);
        MagnitudePruning.prune(lib, 0.5, MagnitudePruning.Scope.LAYER);
        Gpt got = Gpt.load(out, 1, 16);
        assertSameWeights(lib, got);
        Map<String, NamedTensor> sparse = SparseSafetensors.load(out.resolve(PruneCommand.SPARSE_FILE));
        for (Map.Entry<String, FloatTensor> e : got.parameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), sparse.get(e.getKey()).data(), e.getKey());
        }
        JsonNode r = report(out);
        assertEquals("magnitude", r.get("method").asText());
        assertEquals(0.5, r.get("sparsity").asDouble(), 0.0);
        assertEquals("layer", r.get("scope").asText());
        assertTrue(r.get("calibration").isNull());
        assertEquals(8, r.get("layers").size());
        for (JsonNode l : r.get("layers")) assertEquals(0.5, l.get("sparsity").asDouble(), 0.0, l.toString());
        JsonNode sizes = r.get("sizes");
        long dense = Files.size(src.resolve("model.safetensors"));
        assertEquals(dense, sizes.get("dense_model_bytes").asLong());
        assertEquals(Files.size(out.resolve(PruneCommand.SPARSE_FILE)), sizes.get("sparse_file_bytes").asLong());
        assertTrue(sizes.get("sparse_file_bytes").asLong() < dense, sizes.toString());
        assertEquals(got.parameterCount(), sizes.get("parameters_after").asLong());
        assertEquals(40, r.get("provenance").get("git_commit").asText().length());
        String ev = runner.stdout("eval", "--model", out.toString(), "--data", calib.toString());
        assertTrue(ev.startsWith("perplexity "), ev);
    }

    @Test
    void sparseGptTwoFourOnACalibrationFileEqualsTheLibrary() throws Exception {
        Path out = tmp.resolve("sgpt");
        String line = runner.stdout("prune", "--model", src.toString(), "--method", "sparsegpt", "--pattern", "2:4", "--calib",
                calib.toString(), "--batch", "4", "--out", out.toString());
        assertTrue(line.contains("sparsegpt 2:4"), line);
        Gpt lib = Gpt.load(src, 4, 16);
        SparseGpt.prune(lib, calibWindows(), SparseGpt.Options.nm(NmPattern.TWO_FOUR));
        Gpt got = Gpt.load(out, 4, 16);
        assertSameWeights(lib, got);
        for (String n : LinearLayers.names(got)) {
            FloatTensor w = got.parameters().get(n);
            assertTrue(NmPattern.TWO_FOUR.holds(w.toFloatArray(), w.dim(0), w.dim(1)), n);
        }
        JsonNode r = report(out);
        assertEquals("2:4", r.get("pattern").asText());
        assertEquals(calibWindows().size(), r.get("calibration").get("windows").asInt());
        assertEquals(64, r.get("calibration").get("token_ids_sha256").asText().length());
        assertTrue(r.get("layers").get(0).get("relative_output_error").asDouble() > 0);
    }

    @Test
    void headsAreRemovedPhysicallyAndTheDirectoryLoads() throws Exception {
        Path out = tmp.resolve("heads");
        String line = runner.stdout("prune", "--model", src.toString(), "--method", "heads", "--sparsity", "0.5", "--importance",
                "weight", "--out", out.toString());
        assertTrue(line.contains("heads 50% (weight_norm)"), line);
        Gpt source = Gpt.load(src, 1, 16);
        Gpt lib = StructuredPruning.prune(source, Structure.HEAD, StructureImportance.Criterion.WEIGHT_NORM, 0.5,
                MagnitudePruning.Scope.LAYER, null).model();
        Gpt got = Gpt.load(out, 1, 16);
        assertSameWeights(lib, got);
        assertEquals(1, got.config().headCount(0));
        assertEquals(1, got.config().headCount(1));
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"pruned_heads\""));
        assertFalse(Files.exists(out.resolve(PruneCommand.SPARSE_FILE)));
        JsonNode r = report(out);
        assertEquals(1, r.get("structure").get("heads_per_layer").get(0).asInt());
        JsonNode sizes = r.get("sizes");
        assertTrue(sizes.get("sparse_file").isNull());
        assertEquals(source.parameterCount() - 2L * (4 * 16 * 32 + 48), sizes.get("parameters_after").asLong());
        assertTrue(sizes.get("model_safetensors_bytes").asLong() < sizes.get("dense_model_bytes").asLong());
    }

    @Test
    void neuronsGlobalByActivationAndLayersByTaylor() throws Exception {
        Path out = tmp.resolve("neurons");
        runner.stdout("prune", "--model", src.toString(), "--method", "neurons", "--sparsity", "0.25", "--scope", "global",
                "--importance", "activation", "--calib", calib.toString(), "--out", out.toString());
        Gpt got = Gpt.load(out, 1, 16);
        assertEquals(2 * 128 - 64, got.config().innerSize(0) + got.config().innerSize(1));
        Path layers = tmp.resolve("layers");
        runner.stdout("prune", "--model", src.toString(), "--method", "layers", "--sparsity", "0.5", "--calib", calib.toString(),
                "--eval", "300", "--out", layers.toString());
        assertEquals(1, Gpt.load(layers, 1, 16).config().nLayer());
        JsonNode r = report(layers);
        assertEquals("taylor", r.get("importance").asText());
        assertTrue(r.get("validation").get("perplexity_after").asDouble() > 1);
    }

    @Test
    void gradualMagnitudeWithFineTuningHoldsItsZeros() throws Exception {
        Path out = tmp.resolve("agp");
        runner.stdout("prune", "--model", src.toString(), "--method", "magnitude", "--sparsity", "0.6", "--gradual", "2",
                "--finetune-steps", "2", "--finetune-lr", "1e-3", "--batch", "2", "--out", out.toString());
        JsonNode r = report(out);
        assertEquals(3, r.get("gradual_steps").size());
        assertEquals(0.6 - 0.6 / 8, r.get("gradual_steps").get(1).get("target").asDouble(), 1e-12);
        for (JsonNode l : r.get("layers")) assertEquals(0.6, l.get("sparsity").asDouble(), 2e-3, l.toString());
        assertTrue(r.get("finetune").get("mask_held").asBoolean());
    }

    @Test
    void badInputGetsOneLineErrorsAndLeavesNothing() throws Exception {
        String out = tmp.resolve("out").toString();
        String[][] cases = {
                {"--method", "magnitude", "--sparsity", "1.0"},
                {"--method", "wanda", "--pattern", "4:4"},
                {"--method", "sparsegpt", "--pattern", "2:3", "--calib", calib.toString()},
                {"--method", "heads", "--sparsity", "0.9", "--importance", "weight"},
                {"--method", "wanda", "--sparsity", "0.5", "--calib", "SHORT"},
                {"--method", "magnitude"},
                {"--method", "prune-it", "--sparsity", "0.5"},
                {"--method", "magnitude", "--sparsity", "0.5", "--calib", calib.toString()},
        };
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "too short");
        String[] expected = {
                "prune: --sparsity 1.0 is out of range: accepted [0, 1)",
                "prune: --pattern 4:4 is not accepted: pattern 4:4: N = 4 must be in [1, M = 4) (N weights kept of every M, e.g. 2:4)",
                "prune: --pattern 2:3: M = 3 does not divide the input width 32 of layer h.0.attn.c_attn.weight; M must divide every"
                        + " layer's input width",
                "prune: --sparsity 0.9: removes round(0.9 x 2) = 2 of the 2 heads of layer 0; at least one must remain (use a"
                        + " sparsity below 0.750)",
                "prune: --calib " + shortText + ": the calibration text has 9 tokens, shorter than the model's context of 16 tokens;"
                        + " use more text",
                "prune: --sparsity: required for --method magnitude (a fraction in [0, 1))",
                "prune: --method prune-it is not accepted: use magnitude, wanda, sparsegpt, nm, heads, neurons, layers",
                "prune: --calib/--calib-brown: --method magnitude uses no calibration data",
        };
        for (int i = 0; i < cases.length; i++) {
            List<String> args = new ArrayList<>(List.of("prune", "--model", src.toString(), "--out", out));
            for (String a : cases[i]) args.add(a.equals("SHORT") ? shortText.toString() : a);
            runner.err.getBuffer().setLength(0);
            assertEquals(2, runner.run(args.toArray(String[]::new)), String.join(" ", args));
            assertEquals(expected[i], runner.err.toString().strip());
            nothingLeft();
        }
        Files.createDirectory(tmp.resolve("exists"));
        runner.err.getBuffer().setLength(0);
        assertEquals(2, runner.run("prune", "--model", src.toString(), "--method", "nm", "--out", tmp.resolve("exists").toString()));
        assertEquals("prune: --out " + tmp.resolve("exists") + " already exists: choose a new folder (outputs are never overwritten)",
                runner.err.toString().strip());
    }
}
