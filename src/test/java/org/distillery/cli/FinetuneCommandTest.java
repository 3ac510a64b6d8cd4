package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.data.BrownCorpus;
import org.distillery.data.GenrePassages;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.model.GptClassifier;
import org.distillery.prune.SparseSafetensors;
import org.distillery.quant.LinearLayers;
import org.distillery.tokenize.ByteTokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./lab finetune on the tiny GPT: a pruned then quantized model fine-tuned with --train norms stays exactly pruned
 * and quantized (its linear layers bit for bit, the packed file carried, the sparse file rewritten and loading to
 * the new parameters), and its reported accuracy equals a recount by hand over the test passages; --train all
 * trains everything and carries nothing; bad input.
 */
class FinetuneCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private final StringWriter err = runner.err;
    private Path src, calib;

    @BeforeEach
    void tinyModel() throws Exception {
        src = TinyGptDir.model(tmp.resolve("src"));
        calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
    }

    private static JsonNode report(Path dir) throws Exception {
        return new ObjectMapper().readTree(dir.resolve(FinetuneCommand.REPORT_FILE).toFile());
    }

    @Test
    void normsKeepACompressedModelCompressedAndTheAccuracyIsARecount() throws Exception {
        Path pruned = tmp.resolve("pruned"), quant = tmp.resolve("quant"), out = tmp.resolve("ft");
        assertEquals(0, runner.run("prune", "--model", src.toString(), "--method", "magnitude", "--sparsity", "0.5",
                "--out", pruned.toString()), err::toString);
        assertEquals(0, runner.run("quantize", "--model", pruned.toString(), "--method", "gptq", "--bits", "8", "--keep-zeros",
                "--calib", calib.toString(), "--out", quant.toString()), err::toString);
        Files.copy(pruned.resolve(PruneCommand.SPARSE_FILE), quant.resolve(PruneCommand.SPARSE_FILE));   // both compressions
        String line = runner.stdout("finetune", "--model", quant.toString(), "--train", "norms", "--steps", "6", "--batch", "8",
                "--lr", "1e-2", "--seed", "3", "--out", out.toString());
        assertTrue(line.startsWith("fine-tuned " + out + " on the genre task (norms trained"), line);

        Gpt before = Gpt.load(quant, 1, 16);
        GptClassifier clf = GptClassifier.load(out, 8, 16);
        Gpt after = clf.body();
        for (var e : before.parameters().entrySet()) {
            float[] b = e.getValue().toFloatArray(), a = after.parameters().get(e.getKey()).toFloatArray();
            boolean linear = e.getKey().matches("h\\.\\d+\\.(attn|mlp)\\.c_(attn|proj|fc)\\.(weight|bias)");
            if (linear) assertArrayEquals(b, a, 0f, e.getKey() + " is frozen");
            else if (e.getKey().startsWith("ln_") || e.getKey().contains(".ln_")) assertFalse(Arrays.equals(b, a), e.getKey() + " is trained");
        }
        assertArrayEquals(Files.readAllBytes(quant.resolve("quantized.safetensors")), Files.readAllBytes(out.resolve("quantized.safetensors")));
        java.util.Map<String, FloatTensor> fromSparse = new java.util.LinkedHashMap<>();
        for (var e : after.parameters().entrySet()) fromSparse.put(e.getKey(), FloatTensor.zeros(e.getValue().shape()));
        SparseSafetensors.loadInto(out.resolve(PruneCommand.SPARSE_FILE), fromSparse);
        for (var e : after.parameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), fromSparse.get(e.getKey()).toFloatArray(), 0f, "sparse file: " + e.getKey());
        }

        JsonNode r = report(out);
        assertEquals("norms", r.get("options").get("train").asText());
        assertEquals(2, r.get("carried_files").size());
        assertEquals(4 * 2 * 2, r.get("frozen_tensors").asInt());                     // 4 layers x (weight, bias) x 2 blocks
        // the accuracy, recounted: every test passage of 16 bytes, argmax of the loaded classifier's logits
        List<GenrePassages.Passage> test = GenrePassages.of(BrownCorpus.load().documents(BrownCorpus.Split.TEST),
                new ByteTokenizer(), 16);
        assertEquals(test.size(), r.get("passages").get("test").asInt());
        clf.eval();
        int correct = 0;
        for (GenrePassages.Passage p : test) {
            int[] ids = Arrays.copyOf(p.tokens(), 16);
            clf.forward(ids, new int[] {p.tokens().length}, null, 1, 16);
            FloatTensor z = clf.logits();
            int best = 0;
            for (int c = 1; c < 15; c++) if (z.get(c) > z.get(best)) best = c;
            if (best == p.label()) correct++;
        }
        assertEquals(correct, r.get("test_correct").asInt());
        int[] counts = new int[15];                                                     // majority of the training passages
        for (GenrePassages.Passage p : GenrePassages.of(BrownCorpus.load().documents(BrownCorpus.Split.TRAIN), new ByteTokenizer(), 16)) {
            counts[p.label()]++;
        }
        int major = 0;
        for (int c = 1; c < 15; c++) if (counts[c] > counts[major]) major = c;
        final int mj = major;
        assertEquals((double) test.stream().filter(p -> p.label() == mj).count() / test.size(),
                r.get("majority_baseline_accuracy").asDouble(), 1e-12);
        assertEquals((double) correct / test.size(), r.get("test_accuracy").asDouble(), 1e-12);
    }

    @Test
    void allTrainsEveryTensorAndCarriesNoCompressedFile() throws Exception {
        Path pruned = tmp.resolve("pruned"), out = tmp.resolve("ft");
        assertEquals(0, runner.run("prune", "--model", src.toString(), "--method", "magnitude", "--sparsity", "0.5",
                "--out", pruned.toString()), err::toString);
        runner.stdout("finetune", "--model", pruned.toString(), "--steps", "3", "--batch", "4", "--lr", "1e-2", "--out", out.toString());
        Gpt before = Gpt.load(pruned, 1, 16), after = GptClassifier.load(out, 4, 16).body();
        for (String n : LinearLayers.names(before)) {
            assertNotEquals(Arrays.toString(before.parameters().get(n).toFloatArray()),
                    Arrays.toString(after.parameters().get(n).toFloatArray()), n + " is trained");
        }
        assertFalse(Files.exists(out.resolve(PruneCommand.SPARSE_FILE)));
        assertEquals(0, report(out).get("carried_files").size());
        assertEquals("", report(out).get("options").get("freeze_pattern").asText());
    }

    private void rejects(String message, String... args) throws Exception {
        int before = err.toString().length();
        assertEquals(2, runner.run(args), err::toString);
        String e = err.toString().substring(before);
        assertTrue(e.startsWith("finetune: " + message), "expected 'finetune: " + message + "' but got: " + e);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("calib.txt", "src"), s.map(p -> p.getFileName().toString()).sorted().toList(), "nothing left");
        }
    }

    @Test
    void badInput() throws Exception {
        String m = src.toString(), out = tmp.resolve("out").toString();
        rejects("--task sentiment is not accepted: use genre", "finetune", "--model", m, "--task", "sentiment", "--out", out);
        rejects("--train heads is not accepted: use all or norms", "finetune", "--model", m, "--train", "heads", "--out", out);
        rejects("--steps 0 is not accepted: use 1 or more", "finetune", "--model", m, "--steps", "0", "--out", out);
        rejects("--lr -1.0 is not accepted: use a finite number > 0", "finetune", "--model", m, "--lr", "-1", "--out", out);
        rejects("--batch 0 is not accepted: use 1 or more", "finetune", "--model", m, "--batch", "0", "--out", out);
        rejects("--dropout 1.0 is out of range: accepted [0, 1)", "finetune", "--model", m, "--dropout", "1", "--out", out);
        rejects("--seq-len 17 is not accepted: use 2 to the model's context 16", "finetune", "--model", m, "--seq-len", "17",
                "--out", out);
        Path missing = tmp.resolve("missing");
        rejects("--model " + missing + ": no config.json there", "finetune", "--model", missing.toString(), "--out", out);
        rejects("--out " + src + " already exists: choose a new folder", "finetune", "--model", m, "--out", m);
    }
}
