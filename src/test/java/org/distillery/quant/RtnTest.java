package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Bert;
import org.distillery.model.Gpt;
import org.distillery.model.Mlp;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RtnTest {

    static Gpt tinyGpt() {
        return new Gpt(Gpt2Config.of(32, 8, 16, 2, 2), 2, 8, 7);
    }

    @Test
    void linearLayersOfEachModel() {
        assertEquals(List.of("h.0.attn.c_attn.weight", "h.0.attn.c_proj.weight", "h.0.mlp.c_fc.weight", "h.0.mlp.c_proj.weight",
                "h.1.attn.c_attn.weight", "h.1.attn.c_proj.weight", "h.1.mlp.c_fc.weight", "h.1.mlp.c_proj.weight"),
                LinearLayers.names(tinyGpt()));
        assertEquals(List.of("layers.0.weight", "layers.1.weight"), LinearLayers.names(new Mlp(List.of(12, 8, 3), 4, 1)));
        List<String> bert = LinearLayers.names(new Bert(BertConfig.of(40, 16, 1, 2, 24), 2, 8, 3));
        assertEquals(7, bert.size(), bert.toString());
        assertTrue(bert.stream().noneMatch(n -> n.contains("embeddings") || n.contains("LayerNorm")), bert.toString());
        assertTrue(bert.stream().anyMatch(n -> n.endsWith("attention.self.query.weight")), bert.toString());
    }

    @Test
    void quantizesEveryLinearLayerInPlaceAndNothingElse() {
        Gpt g = tinyGpt();
        Map<String, float[]> before = new HashMap<>();
        g.parameters().forEach((n, t) -> before.put(n, t.toFloatArray()));
        Quantizer q = Quantizer.grouped(4, false, 8);
        List<LayerReport> report = Rtn.quantize(g, q);
        assertEquals(8, report.size());
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            String n = e.getKey();
            float[] now = e.getValue().toFloatArray(), old = before.get(n);
            if (LinearLayers.names(g).contains(n)) {
                FloatTensor t = e.getValue();
                assertArrayEquals(q.roundTrip(old, t.dim(0), t.dim(1)), now, n);
                LayerReport r = report.stream().filter(x -> x.name().equals(n)).findFirst().orElseThrow();
                assertEquals(QuantizerTest.mse(old, now), r.weightMse(), 1e-12, n);
                double max = 0;
                for (int i = 0; i < now.length; i++) max = Math.max(max, Math.abs(now[i] - old[i]));
                assertEquals(max, r.maxAbsError(), 1e-9);
                assertTrue(r.weightMse() > 0, n);
                assertEquals(t.dim(0), r.rows());
                assertEquals("RTN INT4-asym g8", r.method());
            } else {
                assertArrayEquals(old, now, n + " must not change");
            }
        }
    }

    @Test
    void copyLeavesTheModelUnchanged() {
        Mlp m = new Mlp(List.of(12, 8, 3), 4, 1);
        float[] w0 = m.parameters().get("layers.0.weight").toFloatArray();
        Rtn.Result r = Rtn.quantizeCopy(m, Quantizer.perChannel(3, true));
        assertArrayEquals(w0, m.parameters().get("layers.0.weight").toFloatArray());
        assertEquals(2, r.tensors().size());
        assertArrayEquals(Quantizer.perChannel(3, true).roundTrip(w0, 8, 12), r.tensors().get("layers.0.weight").dequantize());
    }

    @Test
    void badInputNamesTheLayer() {
        Gpt g = tinyGpt();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rtn.quantize(g, Quantizer.grouped(4, false, 5)));
        assertTrue(e.getMessage().startsWith("h.0.attn.c_attn.weight: groupSize = 5 does not divide the input width 16"), e.getMessage());
        g.parameters().get("h.1.mlp.c_fc.weight").set(3, Float.NaN);
        e = assertThrows(IllegalArgumentException.class, () -> Rtn.quantize(g, Quantizer.perChannel(4, false)));
        assertTrue(e.getMessage().startsWith("h.1.mlp.c_fc.weight: w[0, 3] = NaN"), e.getMessage());
    }
}
