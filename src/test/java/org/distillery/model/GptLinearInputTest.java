package org.distillery.model;

import org.distillery.engine.kernels.AttentionKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.GeluKernel;
import org.distillery.engine.kernels.LayerNormKernel;
import org.distillery.engine.kernels.LinearKernel;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Gpt#linearInput}: each buffer is the input its layer multiplies, recomputed from the previous one. */
class GptLinearInputTest {
    static final int B = GptTestSupport.B, T = GptTestSupport.T, C = GptTestSupport.C;

    @Test
    void inputsChainThroughEachBlock() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), B, T, 1);
        GptTestSupport.randomise(g, 2);
        Map<String, FloatTensor> p = g.parameters();
        int[] ids = GptTestSupport.randomIds(3, B * T, GptTestSupport.V);
        g.forward(ids, null, B, T);
        int n = B * T;
        // layer 0's c_attn input = ln_1(wte[ids] + wpe[pos])
        FloatTensor x = FloatTensor.zeros(n, C);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < C; c++) {
                x.set(i * C + c, p.get("wte.weight").get(ids[i] * C + c) + p.get("wpe.weight").get((i % T) * C + c));
            }
        }
        FloatTensor ln = FloatTensor.zeros(n, C);
        LayerNormKernel.forward(x, p.get("h.0.ln_1.weight"), p.get("h.0.ln_1.bias"), 1e-5f, ln, FloatTensor.zeros(n), FloatTensor.zeros(n));
        assertClose(ln, g.linearInput("h.0.attn.c_attn.weight"));
        for (int l = 0; l < GptTestSupport.L; l++) {
            String h = "h." + l + ".";
            // attn.c_proj input = attention(c_attn(ln_1))
            FloatTensor qkv = FloatTensor.zeros(n, 3 * C);
            LinearKernel.forward(g.linearInput(h + "attn.c_attn.weight"), p.get(h + "attn.c_attn.weight"), p.get(h + "attn.c_attn.bias"), qkv);
            FloatTensor att = FloatTensor.zeros(n, C);
            new AttentionKernel(B, T, C, GptTestSupport.NH, true).forward(qkv, null, att);
            assertClose(att, g.linearInput(h + "attn.c_proj.weight"));
            // mlp.c_proj input = gelu(c_fc(ln_2))
            FloatTensor fc = FloatTensor.zeros(n, 4 * C), gelu = FloatTensor.zeros(n, 4 * C);
            LinearKernel.forward(g.linearInput(h + "mlp.c_fc.weight"), p.get(h + "mlp.c_fc.weight"), p.get(h + "mlp.c_fc.bias"), fc);
            GeluKernel.forward(fc, gelu);
            assertClose(gelu, g.linearInput(h + "mlp.c_proj.weight"));
            assertEquals(4 * C, g.linearInput(h + "mlp.c_proj.weight").cols());
        }
    }

    private static void assertClose(FloatTensor expected, FloatTensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        for (int i = 0; i < expected.size(); i++) assertEquals(expected.get(i), actual.get(i), 1e-5, "element " + i);
    }

    @Test
    void badUse() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), B, T, 1);
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> g.linearInput("h.0.attn.c_attn.weight"));
        assertTrue(s.getMessage().contains("no forward"), s.getMessage());
        int[] ids = GptTestSupport.randomIds(3, B * T, GptTestSupport.V);
        g.eval();
        g.forward(ids, null, B, T);
        s = assertThrows(IllegalStateException.class, () -> g.linearInput("h.0.attn.c_attn.weight"));
        assertTrue(s.getMessage().contains("evaluation mode"), s.getMessage());
        g.train();
        g.forward(ids, null, B, T);
        for (String bad : new String[] {"h.2.attn.c_attn.weight", "wte.weight", "h.x.mlp.c_fc.weight", "h.0.ln_1.weight", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.linearInput(bad));
            assertTrue(e.getMessage().contains("is not a linear weight"), e.getMessage());
        }
        assertEquals(0.0, g.dropoutProbability());
        g.setDropout(0.1, 1);
        assertEquals(0.1, g.dropoutProbability());
    }
}
