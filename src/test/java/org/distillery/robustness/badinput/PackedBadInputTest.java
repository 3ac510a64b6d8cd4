package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.cfe;
import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.io;
import static org.distillery.robustness.badinput.BadInput.ise;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Dtype;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.quant.packed.PackedFormat;
import org.distillery.quant.packed.PackedGpt;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.quant.packed.PackedWeights;
import org.distillery.quant.packed.QuantizedLinear;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packed layers: {@link PackedWeights}, {@link QuantizedLinear}, {@link PackedSafetensors} (a file whose scales do
 * not match its shape, NaN scales, codes out of range, a missing or stray tensor, an unknown format) and
 * {@link PackedGpt} (a directory that is not a packed model, capacities out of range, bad batches).
 */
class PackedBadInputTest {
    @TempDir
    Path tmp;

    private static float[] w(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (i % 9 - 4) * 0.125f;
        return w;
    }

    /** A packed file of one int4-asym layer "l" W [2, 8], group 4, written with the given changes to its tensors. */
    private Path file(String name, Map<String, String> metaChanges, NamedTensor... replace) {
        List<NamedTensor> tensors = new ArrayList<>(List.of(
                new NamedTensor("l.qweight", Dtype.U8, new int[] {2, 4}, new float[] {0, 17, 34, 51, 68, 85, 102, 119}),
                new NamedTensor("l.scales", Dtype.F16, new int[] {2, 2}, new float[] {0.5f, 0.25f, 1, 2}),
                new NamedTensor("l.zeros", Dtype.U8, new int[] {2, 2}, new float[] {8, 7, 8, 9})));
        for (NamedTensor r : replace) {
            tensors.removeIf(t -> t.name().equals(r.name()));
            if (r.shape().length > 0) tensors.add(r);
        }
        Map<String, String> meta = new TreeMap<>(Map.of(PackedSafetensors.VERSION_KEY, PackedSafetensors.VERSION,
                "l.format", "int4-asym", "l.group_size", "4", "l.out_features", "2", "l.in_features", "8"));
        metaChanges.forEach((k, v) -> {
            if (v == null) meta.remove(k);
            else meta.put(k, v);
        });
        return Safetensors.write(tmp.resolve(name), tensors, meta);
    }

    private static Map<String, String> nullValue(String key) {
        Map<String, String> m = new java.util.HashMap<>();
        m.put(key, null);
        return m;
    }

    private static NamedTensor removed(String name) {
        return new NamedTensor(name, Dtype.F32, new int[0], new float[1]);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        PackedWeights int8 = PackedWeights.quantize(w(16), 2, 8, PackedFormat.INT8, 8);
        QuantizedLinear lin = new QuantizedLinear(int8, new float[] {0.5f, -0.5f});
        Path good = file("good.safetensors", Map.of());
        assertEquals(1, PackedSafetensors.load(good).size(), "the unchanged file loads");
        Gpt gpt = tinyGpt();
        PackedGpt packed = PackedGpt.quantize(gpt, PackedFormat.INT8, PackedGpt.PER_CHANNEL);
        Path model = BadInput.tinyGpt(tmp.resolve("float-model"));
        Path dir = tmp.resolve("packed-model");
        BadInput.tinyGpt(dir);
        PackedSafetensors.save(dir.resolve(PackedGpt.PACKED_FILE), packed.packedLayers());
        Path noLayer = tmp.resolve("no-layer");
        BadInput.tinyGpt(noLayer);
        var fewer = new java.util.LinkedHashMap<>(packed.packedLayers());
        fewer.remove("h.1.mlp.c_proj");
        PackedSafetensors.save(noLayer.resolve(PackedGpt.PACKED_FILE), fewer);
        return BadInput.tests(List.of(
                iae("0 rows", "out = 0: need at least one row", () -> PackedWeights.quantize(new float[0], 0, 8, PackedFormat.INT8, 8)),
                iae("group not dividing the width", "group = 3 does not divide the input width in = 8 (accepted: a divisor of 8)",
                        () -> PackedWeights.quantize(w(16), 2, 8, PackedFormat.INT4, 3)),
                iae("odd group for 4-bit codes", "group = 1 for int4: two codes share a byte, so the group size must be even",
                        () -> PackedWeights.quantize(w(16), 2, 8, PackedFormat.INT4, 1)),
                iae("q4_0 with group 16", "group = 16 for q4_0: the block format fixes it at 32",
                        () -> PackedWeights.quantize(w(64), 2, 32, PackedFormat.Q4_0, 16)),
                iae("q8_0 on a width that is not a multiple of 32", "group = 32 does not divide the input width in = 48 (accepted:"
                        + " a divisor of 48, which must be a multiple of 32 for q8_0)",
                        () -> PackedWeights.quantize(w(96), 2, 48, PackedFormat.Q8_0, 32)),
                iae("0 columns", "in = 0: a row needs at least one column", () -> PackedWeights.quantize(new float[0], 2, 0, PackedFormat.INT8, 1)),
                iae("length not out x in", "w: length 15 but W [2, 8] has 16 elements",
                        () -> PackedWeights.quantize(w(15), 2, 8, PackedFormat.INT8, 8)),
                iae("NaN weight", "w[1, 3] = NaN is not finite: cannot quantize NaN or infinite weights",
                        () -> { float[] x = w(16); x[11] = Float.NaN; PackedWeights.quantize(x, 2, 8, PackedFormat.INT8, 8); }),
                iae("bias of the wrong length", "bias: length 3 but W has out = 2 rows", () -> new QuantizedLinear(int8, new float[3])),
                iae("input of the wrong width", "x: shape [3, 7] needs 8 columns to match W [2, 8]",
                        () -> lin.forward(FloatTensor.zeros(3, 7), FloatTensor.zeros(3, 2))),
                iae("output of the wrong shape", "y: expected shape [3, 2] but got [2, 3]",
                        () -> lin.forward(FloatTensor.zeros(3, 8), FloatTensor.zeros(2, 3))),
                iae("0 rows of input", "n = 0: need at least one row", () -> lin.forward(new float[8], 0, new float[2])),
                iae("input array too short", "x: need [2, 8] = 16 floats, got 15", () -> lin.forward(new float[15], 2, new float[4])),
                io("no such file", "cannot read " + tmp.resolve("none") + ": no such file",
                        () -> PackedSafetensors.load(tmp.resolve("none"))),
                io("a folder", "cannot read " + tmp + ": Is a directory", () -> PackedSafetensors.load(tmp)),
                cfe("scales that do not match the shape", tmp.resolve("scales-shape") + ": tensor \"l.scales\" has shape [2, 4] but"
                        + " the metadata's layer needs [2, 2]", () -> PackedSafetensors.load(file("scales-shape", Map.of(),
                        new NamedTensor("l.scales", Dtype.F16, new int[] {2, 4}, new float[8])))),
                cfe("group size that does not match the scales", tmp.resolve("group") + ": tensor \"l.scales\" has shape [2, 2]"
                        + " but the metadata's layer needs [2, 4]", () -> PackedSafetensors.load(file("group", Map.of("l.group_size", "2")))),
                cfe("infinite scale", tmp.resolve("inf") + ": tensor \"l.scales\" [1, 0] = Infinity is not finite",
                        () -> PackedSafetensors.load(file("inf", Map.of(), new NamedTensor("l.scales", Dtype.F16, new int[] {2, 2},
                                new float[] {1, 1, Float.POSITIVE_INFINITY, 1})))),
                cfe("scales of the wrong dtype", tmp.resolve("dtype") + ": tensor \"l.scales\" has dtype F32 (accepted: F16)",
                        () -> PackedSafetensors.load(file("dtype", Map.of(), NamedTensor.f32("l.scales", new int[] {2, 2}, new float[4])))),
                cfe("zero points missing", tmp.resolve("zeros") + ": missing tensor \"l.zeros\" (expected U8 [2, 2])",
                        () -> PackedSafetensors.load(file("zeros", Map.of(), removed("l.zeros")))),
                cfe("zero point out of range", tmp.resolve("zero16") + ": tensor \"l.zeros\": zeros[0, 1] = 16 is out of range for"
                        + " int4-asym (accepted: 0 to 15)", () -> PackedSafetensors.load(file("zero16", Map.of(), new NamedTensor("l.zeros", Dtype.U8,
                        new int[] {2, 2}, new float[] {8, 16, 8, 8})))),
                cfe("a stray tensor", tmp.resolve("stray") + ": unexpected tensor \"m.qweight\": it belongs to no layer listed in"
                        + " the metadata ([l])", () -> PackedSafetensors.load(file("stray", Map.of(),
                        new NamedTensor("m.qweight", Dtype.U8, new int[] {1}, new float[1])))),
                cfe("unknown format", tmp.resolve("fmt") + ": layer l: unknown format \"int3\" (accepted: int8, int8-asym, int4,"
                        + " int4-asym, q8_0, q4_0)", () -> PackedSafetensors.load(file("fmt", Map.of("l.format", "int3")))),
                cfe("in_features not an integer", tmp.resolve("in") + ": metadata \"l.in_features\" = \"eight\" is not an integer",
                        () -> PackedSafetensors.load(file("in", Map.of("l.in_features", "eight")))),
                cfe("out_features 0", tmp.resolve("out0") + ": layer l: out_features = 0 (accepted: >= 1)",
                        () -> PackedSafetensors.load(file("out0", Map.of("l.out_features", "0")))),
                cfe("no layout version", tmp.resolve("nover") + ": metadata \"distillery.packed\" is missing (accepted: \"1\"): not a"
                        + " packed-weights file of this layout", () -> PackedSafetensors.load(file("nover",
                        nullValue(PackedSafetensors.VERSION_KEY)))),
                iae("a layer without a name", "layers: name \"\" is not accepted (non-empty, not __metadata__)",
                        () -> PackedSafetensors.save(tmp.resolve("x"), Map.of("", lin))),
                cfe("a float model directory", model + ": no quantized.safetensors: not a packed quantized model directory (./lab"
                        + " quantize writes it for 8- and 4-bit layouts that pack exactly; see its quantization.json,"
                        + " \"not_packed_because\")", () -> PackedGpt.load(model, 1, 16)),
                cfe("not a model directory", tmp.resolve("none") + ": no config.json (not a model directory)",
                        () -> PackedGpt.load(tmp.resolve("none"), 1, 16)),
                cfe("a packed layer missing", noLayer.resolve(PackedGpt.PACKED_FILE) + ": missing packed layer \"h.1.mlp.c_proj\""
                        + " (expected 8 layers: h.0-1 x [attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj])",
                        () -> PackedGpt.load(noLayer, 1, 16)),
                iae("maxB 0", "maxB: batch size must be >= 1 but was 0", () -> PackedGpt.load(dir, 0, 16)),
                iae("maxT above n_positions", "maxT: sequence length 17 is outside [1, n_positions = 16]", () -> PackedGpt.load(dir, 1, 17)),
                iae("group not dividing a layer", "group: layer h.0.attn.c_attn [96, 32]: group = 12 does not divide the input width"
                        + " in = 32 (accepted: a divisor of 32)", () -> PackedGpt.quantize(gpt, PackedFormat.INT4, 12)),
                iae("batch above maxB", "b: batch size 5 is outside [1, maxB = 4]", () -> packed.logits(new int[80], 5, 16)),
                iae("ids of the wrong length", "ids: length 15 but b*t = 1*16 = 16", () -> packed.logits(new int[15], 1, 16)),
                iae("token id outside the vocabulary", "ids: token id 256 at position 2 is out of range [0, 256) for vocab_size 256",
                        () -> packed.logits(new int[] {1, 2, 256}, 1, 3)),
                iae("no ids", "ids: must not be null", () -> packed.logits(null, 1, 3)),
                ise("logits before a forward", "logits: no forward has run yet",
                        () -> PackedGpt.quantize(gpt, PackedFormat.INT8, PackedGpt.PER_CHANNEL).logits()),
                iae("layer of a block outside the model", "block: 2 is outside [0, n_layer = 2)", () -> packed.layer(2, "attn.c_attn")),
                iae("unknown layer name", "name: attn.q_proj is not one of [attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj]",
                        () -> packed.layer(0, "attn.q_proj"))));
    }
}
