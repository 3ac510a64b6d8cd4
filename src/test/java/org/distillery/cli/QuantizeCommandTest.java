package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.QuantizedTensor;
import org.distillery.quant.Quantizer;
import org.distillery.quant.Rtn;
import org.distillery.quant.packed.PackedFormat;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.quant.packed.QuantizedLinear;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./lab quantize end to end on a tiny random GPT (byte vocabulary, context 16, width 32), and its bad input. */
class QuantizeCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private final StringWriter err = runner.err;
    private Path src;
    private Path calib;

    @BeforeEach
    void tinyModel() throws Exception {
        src = TinyGptDir.model(tmp.resolve("src"));
        calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
    }

    private int lab(String... args) {
        return runner.run(args);
    }

    private String stdout(String... args) {
        return runner.stdout(args);
    }

    private JsonNode report(Path out) throws Exception {
        return new ObjectMapper().readTree(out.resolve(QuantizeCommand.REPORT_FILE).toFile());
    }

    /** Nothing but the inputs in the temporary folder: no output, no partial folder. */
    private void nothingLeft() throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            for (String n : names) {
                assertTrue(n.equals("src") || n.equals("bpe") || n.endsWith(".txt") || n.equals("exists") || n.equals("nan"),
                        "left behind: " + n + " in " + names);
            }
        }
    }

    @Test
    void rtn8WritesTheLibrarysRtnWeightsBitForBitAndAnExactPackedFile() throws Exception {
        Path out = tmp.resolve("rtn8");
        String line = stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8", "--out", out.toString());
        assertTrue(line.startsWith("quantized " + out + ": 8 linear layers, RTN INT8-asym per-channel fp16-scales, 8."), line);
        assertTrue(line.contains("packed "), line);

        Gpt source = Gpt.load(src, 1, 16);
        Rtn.Result lib = Rtn.quantizeCopy(source, Quantizer.perChannel(8, false).withFp16Scales(true));
        Gpt q = Gpt.load(out, 1, 16);
        for (Map.Entry<String, FloatTensor> e : q.parameters().entrySet()) {
            float[] got = e.getValue().toFloatArray();
            QuantizedTensor t = lib.tensors().get(e.getKey());
            float[] want = t == null ? source.parameters().get(e.getKey()).toFloatArray() : t.dequantize();
            for (int i = 0; i < got.length; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), e.getKey() + "[" + i + "]");
            }
        }
        assertEquals(LinearLayers.names(q), List.copyOf(lib.tensors().keySet()));
        assertExactPackedFile(out, PackedFormat.INT8_ASYM);

        JsonNode r = report(out);
        assertEquals("rtn", r.get("method").asText());
        assertEquals(8, r.get("bits").asInt());
        assertTrue(r.get("group").isNull());
        assertFalse(r.get("sym").asBoolean());
        assertTrue(r.get("calibration").isNull());
        assertEquals(8, r.get("layers").size());
        JsonNode l0 = r.get("layers").get(0);
        assertEquals("h.0.attn.c_attn.weight", l0.get("name").asText());
        assertEquals(96, l0.get("shape").get(0).asInt());
        assertEquals(32, l0.get("shape").get(1).asInt());
        assertTrue(l0.get("weight_mse").asDouble() > 0);
        JsonNode sizes = r.get("sizes");
        assertEquals(Files.size(src.resolve("model.safetensors")), sizes.get("float32_model_bytes").asLong());
        assertEquals(Files.size(out.resolve(QuantizeCommand.PACKED_FILE)), sizes.get("packed_file_bytes").asLong());
        // int8-asym per channel: 8 bits + (16-bit scale + 8-bit zero) per row of 32 or 128 columns
        double bpw = sizes.get("bits_per_weight").asDouble();
        assertTrue(bpw > 8.1 && bpw < 8.75, "bits/weight " + bpw);
        assertEquals(40, r.get("provenance").get("git_commit").asText().length());

        // ./lab eval runs on it (byte tokenizer: text is fine)
        String ev = stdout("eval", "--model", out.toString(), "--data", calib.toString());
        assertTrue(ev.startsWith("perplexity "), ev);
    }

    @Test
    void gptq4g32PackedFileDequantizesToTheSavedWeightsExactly() throws Exception {
        Path out = tmp.resolve("gptq4");
        String line = stdout("quantize", "--model", src.toString(), "--method", "gptq", "--bits", "4", "--group", "32",
                "--calib", calib.toString(), "--eval", "300", "--out", out.toString());
        assertTrue(line.contains("GPTQ INT4-asym g32 fp16-scales"), line);
        assertTrue(line.contains("validation perplexity "), line);
        assertExactPackedFile(out, PackedFormat.INT4_ASYM);

        JsonNode r = report(out);
        assertEquals("gptq", r.get("method").asText());
        assertEquals(4, r.get("bits").asInt());
        assertEquals(32, r.get("group").asInt());
        assertFalse(r.get("act_order").asBoolean());
        JsonNode c = r.get("calibration");
        assertTrue(c.get("source").asText().startsWith("file "), c.toString());
        int tokens = Files.readString(calib).length();
        assertEquals(tokens / 16, c.get("windows").asInt());
        assertEquals(16, c.get("window_tokens").asInt());
        assertEquals(64, c.get("token_ids_sha256").asText().length());
        for (JsonNode l : r.get("layers")) {
            double e = l.get("relative_output_error").asDouble();
            assertTrue(e > 0 && e < 0.5, l.toString());
        }
        assertEquals(4 + 24.0 / 32, r.get("sizes").get("bits_per_weight").asDouble(), 1e-12);
        JsonNode v = r.get("validation");
        assertEquals(300, v.get("tokens").asInt());
        assertTrue(v.get("perplexity_before").asDouble() > 1 && v.get("perplexity_after").asDouble() > 1);

        String ev = stdout("eval", "--model", out.toString(), "--data", calib.toString());
        assertTrue(ev.startsWith("perplexity "), ev);
    }

    /** Every packed layer dequantizes to the weight Gpt.load reads from model.safetensors, and carries its bias. */
    private void assertExactPackedFile(Path out, PackedFormat format) {
        assertExactPackedFile(out, format, 8);
    }

    static void assertExactPackedFile(Path out, PackedFormat format, int layers) {
        Gpt q = Gpt.load(out, 1, 16);
        Map<String, QuantizedLinear> packed = PackedSafetensors.load(out.resolve(QuantizeCommand.PACKED_FILE));
        assertEquals(layers, packed.size());
        for (String name : LinearLayers.names(q)) {
            String layer = name.substring(0, name.length() - ".weight".length());
            QuantizedLinear l = packed.get(layer);
            assertNotNull(l, layer);
            assertEquals(format, l.weight().format());
            double[] d = l.weight().dequantize();
            float[] w = q.parameters().get(name).toFloatArray();
            for (int i = 0; i < w.length; i++) {
                assertEquals(Float.floatToRawIntBits(w[i]), Float.floatToRawIntBits((float) d[i]), name + "[" + i + "]");
                assertEquals(w[i], d[i], 0.0, name + "[" + i + "]");
            }
            float[] bias = q.parameters().get(layer + ".bias").toFloatArray();
            assertTrue(java.util.Arrays.equals(bias, l.bias()), layer + ".bias");
        }
    }

    @Test
    void layoutsThatDoNotPackSaySoAndWriteNoPackedFile() throws Exception {
        Path out3 = tmp.resolve("rtn3");
        String line = stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "3", "--group", "16", "--sym",
                "--clip", "--out", out3.toString());
        assertTrue(line.contains("no packed file: 3-bit codes have no packed format (int8 and int4 only)"), line);
        assertFalse(Files.exists(out3.resolve(QuantizeCommand.PACKED_FILE)));
        JsonNode r = report(out3);
        assertTrue(r.get("sizes").get("packed_file_bytes").isNull());
        assertEquals(3 + 16.0 / 16, r.get("sizes").get("bits_per_weight").asDouble(), 1e-12);
        assertTrue(r.get("clip").asBoolean());
        Gpt.load(out3, 1, 16);

        Path ao = tmp.resolve("gptq-ao");
        line = stdout("quantize", "--model", src.toString(), "--method", "gptq", "--bits", "4", "--group", "16",
                "--act-order", "--calib-brown", "4", "--seed", "3", "--out", ao.toString());
        assertTrue(line.contains("no packed file: act-order with groups"), line);
        JsonNode c = report(ao).get("calibration");
        assertEquals("brown train", c.get("source").asText());
        assertEquals(4, c.get("windows").asInt());
        assertEquals(3, c.get("seed").asLong());
        assertTrue(report(ao).get("act_order").asBoolean());
    }

    @Test
    void aBpeModelKeepsItsTokenizerAndIsCalibratedWithIt() throws Exception {
        org.distillery.tokenize.Gpt2Tokenizer bpe = org.distillery.tokenize.BpeTrainer.gpt2Style(300)
                .train(Files.readString(calib).repeat(3));
        Path bpeModel = tmp.resolve("bpe");
        new Gpt(Gpt2Config.of(300, 16, 32, 1, 2), 4, 16, 5).save(bpeModel);
        bpe.save(bpeModel);
        Path out = tmp.resolve("bpe-q");
        stdout("quantize", "--model", bpeModel.toString(), "--method", "gptq", "--bits", "8", "--sym", "--calib",
                calib.toString(), "--out", out.toString());
        for (String f : new String[] {"vocab.json", "merges.txt"}) {
            assertEquals(-1L, Files.mismatch(bpeModel.resolve(f), out.resolve(f)), f + " copied");
        }
        int[] ids = bpe.encode(Files.readString(calib));
        List<int[]> windows = new java.util.ArrayList<>();
        for (int s = 0; s + 16 <= ids.length; s += 16) windows.add(java.util.Arrays.copyOfRange(ids, s, s + 16));
        QuantizeCommand.Calibration expected = new QuantizeCommand.Calibration("x", windows, null);
        JsonNode c = report(out).get("calibration");
        assertEquals(windows.size(), c.get("windows").asInt());
        assertEquals(expected.sha256(), c.get("token_ids_sha256").asText());
        assertExactPackedFile(out, PackedFormat.INT8, 4);
        String ev = stdout("eval", "--model", out.toString(), "--data", calib.toString());
        assertTrue(ev.startsWith("perplexity "), ev);
    }

    private void rejects(String message, String... args) throws Exception {
        StringWriter before = new StringWriter();
        before.write(err.toString());
        assertEquals(2, lab(args), err::toString);
        String e = err.toString().substring(before.toString().length());
        assertTrue(e.startsWith("quantize: " + message), "expected 'quantize: " + message + "' but got: " + e);
        assertFalse(Files.exists(tmp.resolve("out")), "no output folder");
        nothingLeft();
    }

    @Test
    void badInputIsAClearErrorAndLeavesNoFolder() throws Exception {
        String out = tmp.resolve("out").toString();
        String m = src.toString();
        rejects("--bits 9 is out of range: accepted 2 to 8", "quantize", "--model", m, "--method", "rtn", "--bits", "9", "--out", out);
        rejects("--bits 1 is out of range: accepted 2 to 8", "quantize", "--model", m, "--method", "rtn", "--bits", "1", "--out", out);
        rejects("--group 24 does not divide the input width 32 of layer h.0.attn.c_attn.weight", "quantize", "--model", m,
                "--method", "rtn", "--bits", "4", "--group", "24", "--out", out);
        rejects("--group 64 does not divide the input width 32 of layer h.0.attn.c_attn.weight", "quantize", "--model", m,
                "--method", "gptq", "--bits", "4", "--group", "64", "--calib", calib.toString(), "--out", out);
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        rejects("--calib " + empty + ": the calibration set is empty (no tokens)", "quantize", "--model", m, "--method", "gptq",
                "--bits", "4", "--calib", empty.toString(), "--out", out);
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "too short");
        rejects("--calib " + shortText + ": the calibration text has 9 tokens, shorter than the model's context of 16 tokens",
                "quantize", "--model", m, "--method", "gptq", "--bits", "4", "--calib", shortText.toString(), "--out", out);
        rejects("--calib-brown 0: the calibration set is empty; use 1 or more windows", "quantize", "--model", m,
                "--method", "gptq", "--bits", "4", "--calib-brown", "0", "--out", out);
        rejects("--method foo is not accepted: use rtn, gptq, smoothquant, awq, normtweak, normtweak+rtn, normtweak+gptq,"
                + " normtweak+smoothquant or normtweak+awq",
                "quantize", "--model", m, "--method", "foo", "--bits", "4",
                "--out", out);
        Path exists = Files.createDirectory(tmp.resolve("exists"));
        rejects("--out " + exists + " already exists: choose a new folder", "quantize", "--model", m, "--method", "rtn",
                "--bits", "8", "--out", exists.toString());
        assertTrue(Files.isDirectory(exists), "an existing folder is left alone");
        Path missing = tmp.resolve("missing");
        rejects("--model " + missing + ": no config.json there", "quantize", "--model", missing.toString(), "--method", "rtn",
                "--bits", "8", "--out", out);
        rejects("--act-order: only for --method gptq", "quantize", "--model", m, "--method", "rtn", "--bits", "4",
                "--act-order", "--out", out);

        Path one = Files.writeString(tmp.resolve("one.txt"), "sixteen bytes!!!");
        rejects("h.0.attn.c_attn.weight: GPTQ: the Hessian [32, 32] is not positive definite after dampening (percDamp = 0.0",
                "quantize", "--model", m, "--method", "gptq", "--bits", "4", "--damp", "0", "--calib", one.toString(),
                "--out", out);
        assertTrue(err.toString().contains("use more calibration data or a larger percDamp (--damp 0.0, 1 calibration"
                + " windows of 16 tokens)"), err::toString);

        Gpt g = Gpt.load(src, 1, 16);
        g.parameters().get("h.1.mlp.c_fc.weight").set(5, Float.NaN);
        Path nan = tmp.resolve("nan");
        g.save(nan);
        rejects("--model " + nan + ": tensor h.1.mlp.c_fc.weight has a non-finite weight NaN at flat index ", "quantize", "--model",
                nan.toString(), "--method", "gptq", "--bits", "4", "--calib", calib.toString(), "--out", out);
        g.parameters().get("h.1.mlp.c_fc.weight").set(5, 0f);
        g.parameters().get("ln_f.bias").set(0, Float.POSITIVE_INFINITY);
        org.distillery.util.FileTrees.delete(nan);
        g.save(nan);
        rejects("--model " + nan + ": tensor ln_f.bias has a non-finite weight Infinity at flat index 0", "quantize", "--model",
                nan.toString(), "--method", "rtn", "--bits", "8", "--out", out);
    }

    /** GPTQ after pruning: --keep-zeros leaves every pruned weight exactly 0; it is refused for methods that keep them anyway. */
    @Test
    void gptqKeepZerosKeepsAPrunedModelSparse() throws Exception {
        Path pruned = tmp.resolve("pruned");
        lab("prune", "--model", src.toString(), "--method", "magnitude", "--sparsity", "0.5", "--out", pruned.toString());
        Path out = tmp.resolve("gptq-kz");
        stdout("quantize", "--model", pruned.toString(), "--method", "gptq", "--bits", "4", "--keep-zeros",
                "--calib", calib.toString(), "--out", out.toString());
        assertTrue(report(out).get("keep_zeros").asBoolean());
        Gpt before = Gpt.load(pruned, 1, 16), after = Gpt.load(out, 1, 16);
        int zeros = 0;
        for (String name : LinearLayers.names(before)) {
            FloatTensor b = before.parameters().get(name), a = after.parameters().get(name);
            for (int i = 0; i < b.size(); i++) {
                if (b.get(i) == 0f) {
                    zeros++;
                    assertEquals(0f, a.get(i), name + "[" + i + "]");
                }
            }
        }
        assertTrue(zeros > 0, "the pruned model has zeros");
        Path rtn = tmp.resolve("rtn-kz");
        assertEquals(2, lab("quantize", "--model", pruned.toString(), "--method", "rtn", "--bits", "4", "--keep-zeros",
                "--out", rtn.toString()));
        assertTrue(err.toString().contains("--keep-zeros: only for --method gptq or normtweak+gptq (rtn keeps exact zeros anyway)"),
                err.toString());
        assertFalse(Files.exists(rtn));
    }
}
