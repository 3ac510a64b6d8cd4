package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Dtype;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sparse file layout (bitmask + packed values): byte layout, exact round trip, sizes, strict loading. */
class SparseSafetensorsTest {

    @Test
    void layoutIsBitmaskRowsPlusPackedValues(@TempDir Path dir) {
        // W [2, 10]: row 0 nonzero at columns 0, 3, 9; row 1 at 8 and a -0.0 at 1
        float[] w = new float[20];
        w[0] = 1.5f; w[3] = -2f; w[9] = 4f; w[10 + 8] = 7f; w[10 + 1] = -0.0f;
        Map<String, FloatTensor> p = new LinkedHashMap<>();
        p.put("a.weight", FloatTensor.of(SparseGptTest.toDouble(w), 2, 10));
        p.put("a.bias", FloatTensor.of(new double[] {0, 0.5}, 2));
        Path f = SparseSafetensors.save(dir.resolve("s.safetensors"), p, List.of("a.weight"));
        Map<String, NamedTensor> raw = Safetensors.readAll(f);
        assertEquals(Dtype.U8, raw.get("a.weight.mask").dtype());
        assertArrayEquals(new int[] {2, 2}, raw.get("a.weight.mask").shape());
        // row 0: bits 0 and 3 of byte 0 = 9, bit 1 of byte 1 = 2; row 1: bit 1 of byte 0 = 2 (-0.0), bit 0 of byte 1 = 1
        assertArrayEquals(new float[] {9, 2, 2, 1}, raw.get("a.weight.mask").data());
        assertArrayEquals(new float[] {1.5f, -2f, 4f, -0.0f, 7f}, raw.get("a.weight.values").data());
        assertArrayEquals(new float[] {0, 0.5f}, raw.get("a.bias").data());
        assertEquals("2,10", Safetensors.header(f).metadata().get("a.weight.shape"));
        assertEquals("1", Safetensors.header(f).metadata().get(SparseSafetensors.VERSION_KEY));
        Map<String, NamedTensor> back = SparseSafetensors.load(f);
        float[] got = back.get("a.weight").data();
        for (int i = 0; i < 20; i++) assertEquals(Float.floatToRawIntBits(w[i]), Float.floatToRawIntBits(got[i]), "index " + i);
        assertArrayEquals(new int[] {2, 10}, back.get("a.weight").shape());
    }

    @Test
    void prunedModelRoundTripsExactlyAndIsSmaller(@TempDir Path dir) throws Exception {
        Gpt g = StructuredPruningTest.model(31);
        g.save(dir.resolve("dense"));
        long dense = Files.size(dir.resolve("dense").resolve("model.safetensors"));
        Path emptyMasks = SparseSafetensors.save(dir.resolve("0.safetensors"), g.parameters(), LinearLayers.names(g));
        MagnitudePruning.prune(g, 0.5, MagnitudePruning.Scope.LAYER);
        g.parameters().get("h.0.mlp.c_fc.weight").set(1, -0.0f);
        Path f = SparseSafetensors.save(dir.resolve("sparse.safetensors"), g.parameters(), LinearLayers.names(g));
        Gpt h = new Gpt(g.config(), 2, 12, 99);
        SparseSafetensors.loadInto(f, h.parameters());
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            float[] a = e.getValue().toFloatArray(), b = h.parameters().get(e.getKey()).toFloatArray();
            for (int i = 0; i < a.length; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), e.getKey() + "[" + i + "]");
            }
        }
        long sparse = Files.size(f), full = Files.size(emptyMasks);
        System.out.printf("dense %,d bytes; sparse file at 0 %% %,d, at 50 %% of the linear weights %,d (%.1f %%)%n",
                dense, full, sparse, 100.0 * sparse / dense);
        assertTrue(sparse < dense, sparse + " vs " + dense);
        // the data section: per linear weight rows * ceil(cols / 8) mask bytes + 4 bytes per nonzero; 4 bytes per other value
        long data = 0;
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            FloatTensor t = e.getValue();
            if (!LinearLayers.names(g).contains(e.getKey())) {
                data += 4L * t.size();
                continue;
            }
            long nnz = 0;
            for (float v : t.toFloatArray()) if (Float.floatToRawIntBits(v) != 0) nnz++;
            data += (long) t.dim(0) * ((t.dim(1) + 7) / 8) + 4 * nnz;
        }
        assertEquals(data, sparse - 8 - Safetensors.header(f).headerLength());
        assertTrue(sparse < 0.6 * dense, "50 % sparse: " + sparse + " of " + dense + " bytes");
        assertTrue(full > dense, "with no zeros the mask is pure overhead");
    }

    @Test
    void loadingIsStrict(@TempDir Path dir) {
        Path f = dir.resolve("bad.safetensors");
        Safetensors.write(f, List.of(new NamedTensor("w.mask", Dtype.U8, new int[] {1, 1}, new float[] {3}),
                NamedTensor.f32("w.values", new int[] {1}, new float[] {1f})), Map.of(SparseSafetensors.VERSION_KEY, "1", "w.shape", "1,4"));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SparseSafetensors.load(f));
        assertEquals(f + ": tensor \"w.mask\" has more set bits than the 1 values of \"w.values\"", e.getMessage());
        Path g = dir.resolve("plain.safetensors");
        Safetensors.write(g, List.of(NamedTensor.f32("x", new int[] {1}, new float[] {1f})));
        e = assertThrows(CheckpointFormatException.class, () -> SparseSafetensors.load(g));
        assertTrue(e.getMessage().endsWith("metadata \"distillery.sparse\" is missing (accepted: \"1\"): not a sparse-weights file"
                + " of this layout"), e.getMessage());
    }
}
