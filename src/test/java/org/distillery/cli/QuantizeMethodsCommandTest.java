package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.quant.ActivationQuantizer;
import org.distillery.quant.SelfGeneratedCalibration;
import org.distillery.quant.packed.PackedFormat;
import org.distillery.tokenize.ByteTokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The methods ./lab quantize gained after RTN and GPTQ (SmoothQuant W8A8, AWQ, Norm Tweaking on each block quantizer,
 * RTN + QAT), self-generated calibration, and ./lab eval on a W8A8 directory; on a tiny random GPT (byte vocabulary,
 * context 16, width 32, 2 blocks).
 */
class QuantizeMethodsCommandTest {
    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();
    private final StringWriter err = runner.err;
    private Path src;
    private Path calib;
    private String text;

    @BeforeEach
    void tinyModel() throws Exception {
        src = TinyGptDir.model(tmp.resolve("src"));
        text = TinyGptDir.calibrationText();
        calib = TinyGptDir.calibration(tmp.resolve("calib.txt"));
    }

    private String stdout(String... args) {
        return runner.stdout(args);
    }

    private static JsonNode json(Path file) throws Exception {
        return new ObjectMapper().readTree(file.toFile());
    }

    private static JsonNode report(Path out) throws Exception {
        return json(out.resolve(QuantizeCommand.REPORT_FILE));
    }

    /** ./lab eval --json on the calibration text: its perplexity and what it says about the activations. */
    private JsonNode eval(Path dir) throws Exception {
        return new ObjectMapper().readTree(stdout("eval", "--model", dir.toString(), "--data", calib.toString(), "--json"));
    }

    /** The perplexity of a directory's weights on the calibration text, in-process, with the given hook (or none). */
    private double perplexity(Path dir, ActivationQuantizer activations) {
        Gpt g = Gpt.load(dir, 8, 16);
        if (activations != null) activations.install(g);
        return Perplexity.evaluate(g, new ByteTokenizer().encode(text), 16, 8).perplexity();
    }

    @Test
    void smoothQuantPerTokenIsW8A8AndEvalAppliesTheActivationQuantization() throws Exception {
        Path out = tmp.resolve("sq");
        String line = stdout("quantize", "--model", src.toString(), "--method", "smoothquant", "--bits", "8", "--calib",
                calib.toString(), "--eval", "300", "--out", out.toString());
        assertTrue(line.contains("SMOOTHQUANT INT8 per-channel fp16-scales + A8 per-token"), line);
        JsonNode r = report(out);
        assertEquals("smoothquant", r.get("method").asText());
        assertTrue(r.get("sym").asBoolean(), "symmetric weights by default for smoothquant");
        assertEquals(0.5, r.get("smoothquant").get("alpha").asDouble());
        JsonNode smoothed = r.get("smoothquant").get("smoothed_layers");
        assertEquals(4, smoothed.size());
        assertEquals("h.1.mlp.c_fc.weight", smoothed.get(3).get("name").asText());
        for (JsonNode s : smoothed) assertTrue(s.get("outlier_ratio_after").asDouble() > 0, s.toString());
        JsonNode a = r.get(QuantizeCommand.ACTIVATION_KEY);
        assertEquals(8, a.get("bits").asInt());
        assertEquals("per-token", a.get("granularity").asText());
        assertFalse(a.has("max_abs"));
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT8, 8);
        // ./lab eval installs the per-token A8 quantizer: the same perplexity as in-process with it, not the weights alone
        JsonNode ev = eval(out);
        assertEquals("A8 per-token", ev.get("activation_quantization").asText());
        double w8a8 = perplexity(out, ActivationQuantizer.perToken(8, 2)), w8 = perplexity(out, null);
        assertEquals(w8a8, ev.get("perplexity").asDouble(), 0.0);
        assertNotEquals(w8, w8a8);
        assertTrue(stdout("eval", "--model", out.toString(), "--data", calib.toString())
                .contains("; activations quantized A8 per-token (quantization.json)"));
        // a weights-only directory says nothing about activations
        Path rtn = tmp.resolve("rtn");
        stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "8", "--out", rtn.toString());
        assertTrue(report(rtn).get(QuantizeCommand.ACTIVATION_KEY).isNull());
        JsonNode evRtn = eval(rtn);
        assertTrue(evRtn.get("activation_quantization").isNull());
        assertEquals(perplexity(rtn, null), evRtn.get("perplexity").asDouble(), 0.0);
    }

    @Test
    void smoothQuantPerTensorRecordsItsStaticRangesOnSelfGeneratedCalibration() throws Exception {
        Path out = tmp.resolve("sq-static");
        stdout("quantize", "--model", src.toString(), "--method", "smoothquant", "--bits", "8", "--no-sym", "--alpha", "0.75",
                "--act", "per-tensor", "--act-bits", "6", "--self-generated", "6", "--seed", "4", "--out", out.toString());
        JsonNode r = report(out);
        assertFalse(r.get("sym").asBoolean());
        assertEquals(0.75, r.get("smoothquant").get("alpha").asDouble());
        JsonNode c = r.get("calibration");
        assertTrue(c.get("source").asText().startsWith("self-generated by the float model"), c.toString());
        assertEquals(6, c.get("windows").asInt());
        assertEquals(16, c.get("window_tokens").asInt());
        assertEquals(4, c.get("seed").asLong());
        List<int[]> expected = SelfGeneratedCalibration.of(6, 16, 4).generate(Gpt.load(src, 8, 16));
        assertEquals(new QuantizeCommand.Calibration("x", expected, null).sha256(), c.get("token_ids_sha256").asText());
        JsonNode a = r.get(QuantizeCommand.ACTIVATION_KEY);
        assertEquals("per-tensor", a.get("granularity").asText());
        assertEquals(6, a.get("bits").asInt());
        JsonNode ranges = a.get("max_abs");
        assertEquals(8, ranges.size());
        float[][] m = new float[2][4];
        int k = 0;
        for (JsonNode v : ranges) {
            assertTrue(v.asDouble() > 0, v.toString());
            m[k / 4][k % 4] = (float) v.asDouble();
            k++;
        }
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT8_ASYM, 8);
        JsonNode ev = eval(out);
        assertEquals("A6 per-tensor static", ev.get("activation_quantization").asText());
        assertEquals(perplexity(out, ActivationQuantizer.perTensor(6, m)), ev.get("perplexity").asDouble(), 0.0);
    }

    @Test
    void awqWithAFixedAlphaAndWithTheSearch() throws Exception {
        Path out = tmp.resolve("awq");
        String line = stdout("quantize", "--model", src.toString(), "--method", "awq", "--bits", "4", "--group", "16",
                "--calib", calib.toString(), "--alpha", "0.4", "--out", out.toString());
        assertTrue(line.contains("AWQ INT4-asym g16 fp16-scales"), line);
        JsonNode r = report(out);
        assertEquals(0.4, r.get("awq").get("alpha").asDouble());
        assertEquals(6, r.get("awq").get("scaled_layers").size());
        for (JsonNode s : r.get("awq").get("scaled_layers")) assertEquals(0.4, s.get("alpha").asDouble(), s.toString());
        assertTrue(r.get(QuantizeCommand.ACTIVATION_KEY).isNull());
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT4_ASYM, 8);

        Path searched = tmp.resolve("awq-search");
        stdout("quantize", "--model", src.toString(), "--method", "awq", "--bits", "4", "--calib-brown", "4",
                "--out", searched.toString());
        JsonNode s = report(searched).get("awq");
        assertEquals("grid search, 20 points", s.get("alpha").asText());
        for (JsonNode l : s.get("scaled_layers")) {
            assertTrue(l.get("relative_output_mse_awq").asDouble() <= l.get("relative_output_mse_rtn").asDouble(), l.toString());
        }
        QuantizeCommandTest.assertExactPackedFile(searched, PackedFormat.INT4_ASYM, 8);
    }

    @Test
    void normTweakAloneIsOnGptqAndOnRtnWithSelfGeneratedText() throws Exception {
        Path out = tmp.resolve("nt");
        String line = stdout("quantize", "--model", src.toString(), "--method", "normtweak", "--bits", "4", "--group", "16",
                "--calib", calib.toString(), "--out", out.toString());
        assertTrue(line.contains("NORMTWEAK+GPTQ INT4-asym g16"), line);
        JsonNode r = report(out);
        assertEquals("normtweak+gptq", r.get("method").asText());
        assertEquals(0.01, r.get("damp").asDouble());
        JsonNode nt = r.get("norm_tweak");
        assertEquals(0.01, nt.get("lr").asDouble());
        assertEquals(1, nt.get("epochs").asInt());
        assertEquals(2, nt.get("blocks").size());
        assertEquals(8, r.get("layers").size());
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT4_ASYM, 8);
        // the LayerNorms are tweaked: ln_1 of block 0 differs from the source's
        float[] before = Gpt.load(src, 1, 16).parameters().get("h.0.ln_1.weight").toFloatArray();
        float[] after = Gpt.load(out, 1, 16).parameters().get("h.0.ln_1.weight").toFloatArray();
        assertFalse(java.util.Arrays.equals(before, after));

        Path rtn = tmp.resolve("nt-rtn");
        stdout("quantize", "--model", src.toString(), "--method", "normtweak+rtn", "--bits", "4", "--sym", "--self-generated",
                "8", "--nt-lr", "0.02", "--nt-epochs", "2", "--out", rtn.toString());
        JsonNode n = report(rtn).get("norm_tweak");
        assertEquals(0.02, n.get("lr").asDouble());
        for (JsonNode b : n.get("blocks")) {
            assertEquals(2, b.get("steps").asInt(), b.toString());      // 8 windows, batch 8, 2 epochs
            assertTrue(b.get("dist_after").asDouble() < b.get("dist_before").asDouble(), b.toString());
        }
        QuantizeCommandTest.assertExactPackedFile(rtn, PackedFormat.INT4, 8);
    }

    @Test
    void normTweakOnSmoothQuantAndOnAwq() throws Exception {
        Path out = tmp.resolve("nt-sq");
        stdout("quantize", "--model", src.toString(), "--method", "normtweak+smoothquant", "--bits", "8", "--calib",
                calib.toString(), "--out", out.toString());
        JsonNode r = report(out);
        assertEquals(4, r.get("smoothquant").get("smoothed_layers").size());
        assertEquals(2, r.get("norm_tweak").get("blocks").size());
        assertEquals("per-token", r.get(QuantizeCommand.ACTIVATION_KEY).get("granularity").asText());
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT8, 8);
        JsonNode ev = eval(out);
        assertEquals(perplexity(out, ActivationQuantizer.perToken(8, 2)), ev.get("perplexity").asDouble(), 0.0);

        Path awq = tmp.resolve("nt-awq");
        stdout("quantize", "--model", src.toString(), "--method", "normtweak+awq", "--bits", "4", "--calib", calib.toString(),
                "--out", awq.toString());
        JsonNode a = report(awq);
        assertEquals(6, a.get("awq").get("scaled_layers").size());
        assertEquals(2, a.get("norm_tweak").get("blocks").size());
        QuantizeCommandTest.assertExactPackedFile(awq, PackedFormat.INT4_ASYM, 8);
    }

    @Test
    void rtnWithQatStepsEndsOnTheGrid() throws Exception {
        Path out = tmp.resolve("qat");
        String line = stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "4", "--sym", "--qat-steps", "3",
                "--qat-lr", "0.002", "--seed", "1", "--out", out.toString());
        assertTrue(line.contains("RTN INT4 per-channel fp16-scales + 3 QAT steps"), line);
        JsonNode q = report(out).get("qat");
        assertEquals(3, q.get("steps").asInt());
        assertEquals(0.002, q.get("lr_max").asDouble());
        assertEquals("brown train", q.get("data").asText());
        assertTrue(Double.isFinite(q.get("train_loss_last").asDouble()));
        // packed exactly: every weight is on its row's fp16-scaled INT4 grid
        QuantizeCommandTest.assertExactPackedFile(out, PackedFormat.INT4, 8);
        // and the weights moved away from plain RTN's
        Path rtn = tmp.resolve("rtn4");
        stdout("quantize", "--model", src.toString(), "--method", "rtn", "--bits", "4", "--sym", "--out", rtn.toString());
        assertFalse(java.util.Arrays.equals(Gpt.load(rtn, 1, 16).parameters().get("h.0.mlp.c_fc.weight").toFloatArray(),
                Gpt.load(out, 1, 16).parameters().get("h.0.mlp.c_fc.weight").toFloatArray()));
    }

    private void rejects(String message, String... args) throws Exception {
        int at = err.toString().length();
        assertEquals(2, runner.run(args), err::toString);
        String e = err.toString().substring(at);
        assertTrue(e.startsWith("quantize: " + message), "expected 'quantize: " + message + "' but got: " + e);
        assertFalse(e.strip().contains("\n"), "one line: " + e);
        try (Stream<Path> s = Files.list(tmp)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("calib.txt", "src"), names, "nothing left behind");
        }
    }

    @Test
    void badInputNamesTheArgumentTheValueAndWhatIsAccepted() throws Exception {
        String out = tmp.resolve("out").toString(), m = src.toString(), c = calib.toString();
        rejects("--method smooth is not accepted: use rtn, gptq, smoothquant, awq, normtweak, normtweak+rtn, normtweak+gptq,"
                + " normtweak+smoothquant or normtweak+awq", "quantize", "--model", m, "--method", "smooth", "--bits", "8", "--out", out);
        rejects("--method normtweak+qat is not accepted: use rtn, gptq,", "quantize", "--model", m, "--method", "normtweak+qat",
                "--bits", "8", "--out", out);
        rejects("--bits 12 is out of range: accepted 2 to 8", "quantize", "--model", m, "--method", "smoothquant", "--bits", "12",
                "--out", out);
        rejects("--alpha 1.5 is out of range: accepted 0 to 1", "quantize", "--model", m, "--method", "smoothquant", "--bits", "8",
                "--alpha", "1.5", "--calib", c, "--out", out);
        rejects("--alpha -0.1 is out of range: accepted 0 to 1", "quantize", "--model", m, "--method", "awq", "--bits", "4",
                "--alpha", "-0.1", "--out", out);
        rejects("--alpha: only for --method smoothquant, awq, normtweak+smoothquant or normtweak+awq", "quantize", "--model", m,
                "--method", "gptq", "--bits", "4", "--alpha", "0.5", "--out", out);
        rejects("--self-generated 8 and --calib " + c + ": choose one calibration source", "quantize", "--model", m, "--method",
                "normtweak", "--bits", "4", "--self-generated", "8", "--calib", c, "--out", out);
        rejects("--self-generated 8 and --calib-brown 4: choose one calibration source", "quantize", "--model", m, "--method",
                "gptq", "--bits", "4", "--self-generated", "8", "--calib-brown", "4", "--out", out);
        rejects("--self-generated 0 is not accepted: use 1 or more windows", "quantize", "--model", m, "--method", "smoothquant",
                "--bits", "8", "--self-generated", "0", "--out", out);
        rejects("--self-generated -3 is not accepted: use 1 or more windows", "quantize", "--model", m, "--method", "awq",
                "--bits", "4", "--self-generated", "-3", "--out", out);
        rejects("--calib/--calib-brown/--self-generated: rtn uses no calibration data", "quantize", "--model", m, "--method", "rtn",
                "--bits", "4", "--self-generated", "4", "--out", out);
        rejects("--act per-row is not accepted: use per-token or per-tensor", "quantize", "--model", m, "--method", "smoothquant",
                "--bits", "8", "--act", "per-row", "--out", out);
        rejects("--act-bits 1 is out of range: accepted 2 to 8", "quantize", "--model", m, "--method", "smoothquant",
                "--bits", "8", "--act-bits", "1", "--out", out);
        rejects("--act/--act-bits: only for --method smoothquant or normtweak+smoothquant", "quantize", "--model", m, "--method",
                "awq", "--bits", "4", "--act", "per-token", "--out", out);
        rejects("--nt-lr/--nt-lr-scale/--nt-epochs: only for --method normtweak", "quantize", "--model", m, "--method", "gptq",
                "--bits", "4", "--nt-lr", "0.1", "--out", out);
        rejects("--nt-lr -1.0 is not accepted: use a finite number >= 0", "quantize", "--model", m, "--method", "normtweak+rtn",
                "--bits", "4", "--nt-lr", "-1", "--out", out);
        rejects("--qat-steps/--qat-lr: only for --method rtn", "quantize", "--model", m, "--method", "gptq", "--bits", "4",
                "--qat-steps", "5", "--out", out);
        rejects("--qat-steps 0 is not accepted: use 1 or more steps", "quantize", "--model", m, "--method", "rtn", "--bits", "4",
                "--qat-steps", "0", "--out", out);
        rejects("--act-order: only for --method gptq or normtweak+gptq (smoothquant has no column order)", "quantize", "--model", m,
                "--method", "smoothquant", "--bits", "8", "--act-order", "--out", out);
    }

    @Test
    void evalRejectsABrokenActivationRecord() throws Exception {
        Path out = tmp.resolve("sq");
        stdout("quantize", "--model", src.toString(), "--method", "smoothquant", "--bits", "8", "--act", "per-tensor", "--calib",
                calib.toString(), "--out", out.toString());
        Path report = out.resolve(QuantizeCommand.REPORT_FILE);
        Files.writeString(report, Files.readString(report).replace("\"h.1.mlp.c_proj.weight\"", "\"h.1.mlp.c_projX\""));
        int at = err.toString().length();
        assertEquals(2, runner.run("eval", "--model", out.toString(), "--data", calib.toString()));
        assertEquals("eval: " + report + ": activation_quantization: max_abs.h.1.mlp.c_proj.weight is missing",
                err.toString().substring(at).strip());
    }
}
