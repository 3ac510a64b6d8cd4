package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.distillery.cli.Lab;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.CausalLm;
import org.distillery.eval.Perplexity;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@link PackedGpt#load} on model directories written by {@code ./lab quantize} (run in-process through
 * {@link Lab#commandLine()}): the packed layers equal the dequantized weights the command saved, bit for bit, the
 * logits equal those of {@code Gpt.load} on the same directory within {@link PackedGptTest#TOLERANCE}; and broken
 * directories are clear errors.
 */
class PackedGptLoadTest {
    @TempDir
    Path tmp;

    /** Saves {@link PackedGptTest#tinyGpt} and runs {@code ./lab quantize --method rtn args} on it; returns --out. */
    private Path quantized(String name, String... args) {
        Path src = tmp.resolve("src-" + name);
        PackedGptTest.tinyGpt(11).save(src);
        Path out = tmp.resolve(name);
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("quantize", "--model", src.toString(),
                "--method", "rtn", "--batch", "2", "--out", out.toString()));
        cmd.addAll(java.util.List.of(args));
        StringWriter err = new StringWriter();
        CommandLine cl = Lab.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(0, cl.execute(cmd.toArray(String[]::new)), err::toString);
        assertTrue(Files.isRegularFile(out.resolve(PackedGpt.PACKED_FILE)), "no packed file in " + out);
        return out;
    }

    @Test
    void aQuantizedDirectoryLoadsToTheSavedDequantizedModelAndItsLogits() {
        String[][] layouts = {{"int8", "--bits", "8", "--sym", "--group", "32"}, {"int4a", "--bits", "4", "--group", "16"},
                {"int8a-pc", "--bits", "8"}};
        Random rnd = new Random(3);
        for (String[] layout : layouts) {
            Path dir = quantized(layout[0], java.util.Arrays.copyOfRange(layout, 1, layout.length));
            PackedGpt packed = PackedGpt.load(dir, 3, 16);
            Gpt gpt = Gpt.load(dir, 3, 16);
            // every parameter of the packed model's float twin is the saved one, bit for bit
            Gpt twin = packed.dequantizedGpt(1, 16);
            for (Map.Entry<String, FloatTensor> e : gpt.parameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), twin.parameters().get(e.getKey()).toFloatArray(),
                        layout[0] + ": " + e.getKey());
            }
            for (int[] s : new int[][] {{1, 1}, {1, 2}, {3, 16}}) {
                int[] ids = PackedGptTest.ids(rnd, s[0] * s[1]);
                double r = PackedGptTest.relativeDifference(packed.logits(ids, s[0], s[1]),
                        CausalLm.of(gpt).logits(ids, s[0], s[1]));
                assertTrue(r <= PackedGptTest.TOLERANCE, layout[0] + " B" + s[0] + " T" + s[1] + ": " + r);
            }
            int[] tokens = PackedGptTest.ids(rnd, 64);
            assertEquals(Perplexity.evaluate(gpt, tokens, 16, 3).nll(), Perplexity.evaluate(packed, tokens, 16, 3).nll(),
                    1e-5);
        }
        PackedGpt p4 = PackedGpt.load(tmp.resolve("int4a"), 1, 16);
        assertEquals(PackedFormat.INT4_ASYM, p4.layer(0, "attn.c_attn").weight().format());
        assertEquals(16, p4.layer(0, "attn.c_attn").weight().group());
        assertEquals(PackedFormat.INT8_ASYM, PackedGpt.load(tmp.resolve("int8a-pc"), 1, 16).layer(1, "mlp.c_proj").weight().format());
        assertEquals(256, PackedGpt.load(tmp.resolve("int8a-pc"), 1, 16).layer(1, "mlp.c_proj").weight().group());
    }

    /** A directory with config.json, model.safetensors and the given packed layers. */
    private Path directory(String name, Map<String, QuantizedLinear> layers) {
        Path dir = tmp.resolve(name);
        PackedGptTest.tinyGpt(12).save(dir);
        if (layers != null) PackedSafetensors.save(dir.resolve(PackedGpt.PACKED_FILE), layers);
        return dir;
    }

    private static void rejects(Path dir, String... fragments) {
        var e = assertThrows(CheckpointFormatException.class, () -> PackedGpt.load(dir, 1, 16));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    @Test
    void brokenDirectoriesAreClearErrors() {
        Gpt gpt = PackedGptTest.tinyGpt(12);
        PackedGpt p = PackedGpt.quantize(gpt, PackedFormat.INT8, 32);
        Map<String, QuantizedLinear> good = p.packedLayers();
        assertEquals(8, good.size());
        PackedGpt.load(directory("good", good), 1, 16);                    // the control: loads

        rejects(directory("none", null), "no quantized.safetensors", "not_packed_because");

        Map<String, QuantizedLinear> missing = new java.util.LinkedHashMap<>(good);
        missing.remove("h.1.mlp.c_fc");
        rejects(directory("missing", missing), "missing packed layer \"h.1.mlp.c_fc\"");

        Map<String, QuantizedLinear> wrongShape = new java.util.LinkedHashMap<>(good);
        wrongShape.put("h.0.attn.c_proj", good.get("h.0.mlp.c_proj"));        // [64, 256] where [64, 64] belongs
        rejects(directory("shape", wrongShape), "layer \"h.0.attn.c_proj\" has W [64, 256]", "needs [64, 64]");

        Map<String, QuantizedLinear> extra = new java.util.LinkedHashMap<>(good);
        extra.put("h.2.attn.c_attn", good.get("h.0.attn.c_attn"));
        rejects(directory("extra", extra), "unexpected packed layer \"h.2.attn.c_attn\"");

        Map<String, QuantizedLinear> noBias = new java.util.LinkedHashMap<>(good);
        noBias.put("h.0.mlp.c_fc", new QuantizedLinear(good.get("h.0.mlp.c_fc").weight(), null));
        rejects(directory("nobias", noBias), "\"h.0.mlp.c_fc\" has no bias");

        Path notADir = tmp.resolve("empty");
        assertTrue(notADir.toFile().mkdir());
        rejects(notADir, "no config.json");

        Path dir = directory("good2", good);
        assertThrows(IllegalArgumentException.class, () -> PackedGpt.load(dir, 1, 17));
        assertThrows(IllegalArgumentException.class, () -> PackedGpt.load(dir, 0, 16));
        // the config must be the packed file's model: a wider config.json is a shape error on the first layer
        new Gpt(Gpt2Config.of(256, 16, 128, 2, 4), 1, 16, 0).save(tmp.resolve("wide"));
        PackedSafetensors.save(tmp.resolve("wide").resolve(PackedGpt.PACKED_FILE), good);
        rejects(tmp.resolve("wide"), "layer \"h.0.attn.c_attn\" has W [192, 64]", "needs [384, 128]");
    }
}
