package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Dtype;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.io.TensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors layout of packed layers: exact round trip, documented tensors, strict loading. */
class PackedSafetensorsTest {
    @TempDir
    Path dir;

    private Map<String, QuantizedLinear> layers() {
        Random rnd = new Random(9);
        Map<String, QuantizedLinear> m = new LinkedHashMap<>();
        for (PackedFormat f : PackedFormat.values()) {
            int out = 5, in = 64, g = f.isBlockFormat() ? 32 : 16;
            float[] w = QuantizedLinearTest.gaussian(rnd, out * in, 0.2);
            m.put("h.0." + f.id(), new QuantizedLinear(PackedWeights.quantize(w, out, in, f, g),
                    f.symmetric() ? QuantizedLinearTest.gaussian(rnd, out, 1) : null));
        }
        return m;
    }

    @Test
    void roundTripIsExactAndLayoutIsAsDocumented() {
        Map<String, QuantizedLinear> m = layers();
        Path f = PackedSafetensors.save(dir.resolve("packed.safetensors"), m);
        Map<String, QuantizedLinear> back = PackedSafetensors.load(f);
        assertEquals(new TreeMap<>(m).keySet(), back.keySet());
        for (String name : m.keySet()) {
            assertEquals(m.get(name).weight(), back.get(name).weight(), name);
            assertArrayEquals(m.get(name).bias(), back.get(name).bias(), name);
        }
        Map<String, TensorInfo> h = Safetensors.header(f).byName();
        assertEquals(Dtype.I8, h.get("h.0.q8_0.qweight").dtype());
        assertEquals(Dtype.U8, h.get("h.0.q4_0.qweight").dtype());
        assertArrayEquals(new long[] {5, 32}, h.get("h.0.int4-asym.qweight").shape());
        assertArrayEquals(new long[] {5, 64}, h.get("h.0.int8-asym.qweight").shape());
        assertEquals(Dtype.F16, h.get("h.0.int4.scales").dtype());
        assertArrayEquals(new long[] {5, 4}, h.get("h.0.int4.scales").shape());
        assertEquals(Dtype.U8, h.get("h.0.int4-asym.zeros").dtype());
        assertTrue(!h.containsKey("h.0.int4.zeros") && !h.containsKey("h.0.int4-asym.bias"));
        Map<String, String> meta = Safetensors.header(f).metadata();
        assertEquals("1", meta.get("distillery.packed"));
        assertEquals("q4_0", meta.get("h.0.q4_0.format"));
        assertEquals("16", meta.get("h.0.int8.group_size"));
        // the file is as small as the format says: packed bytes + bias + header
        long packed = m.values().stream().mapToLong(l -> l.weight().storageBytes() + (l.bias() == null ? 0 : 4L * 5)).sum();
        long size = f.toFile().length();
        assertTrue(size >= packed && size < packed + 4096, size + " vs " + packed);
    }

    @Test
    void badFilesAreRejectedNamingTheTensor() throws IOException {
        Map<String, QuantizedLinear> m = Map.of("fc", layers().get("h.0.int4-asym"));
        Path good = PackedSafetensors.save(dir.resolve("good.safetensors"), m);
        Map<String, NamedTensor> t = Safetensors.readAll(good);
        Map<String, String> meta = Safetensors.header(good).metadata();

        assertBad(t, meta, x -> x.put("fc.scales", new NamedTensor("fc.scales", Dtype.F16, new int[] {5, 3}, new float[15])),
                m2 -> { }, "tensor \"fc.scales\" has shape [5, 3] but the metadata's layer needs [5, 4]");
        assertBad(t, meta, x -> x.put("fc.scales", x.get("fc.scales").withDtype(Dtype.F32)),
                m2 -> { }, "tensor \"fc.scales\" has dtype F32 (accepted: F16)");
        assertBad(t, meta, x -> { }, m2 -> m2.put("fc.format", "q3_k"),
                "layer fc: unknown format \"q3_k\" (accepted: int8, int8-asym, int4, int4-asym, q8_0, q4_0)");
        assertBad(t, meta, x -> x.remove("fc.zeros"), m2 -> { },
                "missing tensor \"fc.zeros\" (expected U8 [5, 4])");
        assertBad(t, meta, x -> { }, m2 -> m2.put("fc.group_size", "24"),
                "layer fc: group = 24 does not divide the input width in = 64 (accepted: a divisor of 64)");
        assertBad(t, meta, x -> x.remove("fc.zeros"), m2 -> m2.put("fc.format", "int4"),
                "tensor \"fc.qweight\": codes[0, ");    // asymmetric nibbles read as int4: nibble 0 is code -8
        assertBad(t, meta, x -> x.put("fc.zeros", new NamedTensor("fc.zeros", Dtype.U8, new int[] {5, 4}, fill(20, 16))),
                m2 -> { }, "tensor \"fc.zeros\": zeros[0, 0] = 16 is out of range for int4-asym (accepted: 0 to 15)");
        float[] nanScales = t.get("fc.scales").data().clone();
        nanScales[6] = Float.NaN;
        assertBad(t, meta, x -> x.put("fc.scales", new NamedTensor("fc.scales", Dtype.F16, new int[] {5, 4}, nanScales)),
                m2 -> { }, "tensor \"fc.scales\" [1, 2] = NaN is not finite");
        assertBad(t, meta, x -> x.put("extra", NamedTensor.f32("extra", new int[] {1}, new float[1])), m2 -> { },
                "unexpected tensor \"extra\"");
        assertBad(t, meta, x -> { }, m2 -> m2.remove("distillery.packed"),
                "metadata \"distillery.packed\" is missing (accepted: \"1\")");
        // a symmetric int4 file whose nibble 0 would be code -8
        Map<String, QuantizedLinear> s = Map.of("fc", layers().get("h.0.int4"));
        Path sym = PackedSafetensors.save(dir.resolve("sym.safetensors"), s);
        Map<String, NamedTensor> ts = Safetensors.readAll(sym);
        assertBad(ts, Safetensors.header(sym).metadata(),
                x -> x.put("fc.qweight", new NamedTensor("fc.qweight", Dtype.U8, new int[] {5, 32}, fill(160, 0))),
                m2 -> { }, "tensor \"fc.qweight\": codes[0, 0] = -8 is out of range for int4 (accepted: -7 to 7)");
    }

    private void assertBad(Map<String, NamedTensor> tensors, Map<String, String> meta,
                           Consumer<Map<String, NamedTensor>> editTensors, Consumer<Map<String, String>> editMeta,
                           String expected) {
        Map<String, NamedTensor> t = new LinkedHashMap<>(tensors);
        Map<String, String> m = new LinkedHashMap<>(meta);
        editTensors.accept(t);
        editMeta.accept(m);
        Path bad = Safetensors.write(dir.resolve("bad.safetensors"), new ArrayList<>(t.values()), m);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PackedSafetensors.load(bad));
        assertTrue(e.getMessage().startsWith(bad.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage() + "\n  expected to contain: " + expected);
    }

    private static float[] fill(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void failedSaveLeavesNothingBehind() throws IOException {
        Map<String, QuantizedLinear> m = new LinkedHashMap<>(layers());
        m.put("", m.get("h.0.int8"));                   // the last layer has a bad name
        Path target = dir.resolve("out").resolve("model.safetensors");
        assertThrows(IllegalArgumentException.class, () -> PackedSafetensors.save(target, m));
        assertTrue(!Files.exists(target.getParent()) || Files.list(target.getParent()).findAny().isEmpty());
        List<String> left = Files.list(dir).map(p -> p.getFileName().toString()).toList();
        assertEquals(List.of(), left.stream().filter(n -> !n.equals("out")).toList());
    }
}
