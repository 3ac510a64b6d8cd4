package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** {@link Gpt#setLinearInputHook}: where the hook is called, what its changes do, and that a no-op hook changes nothing. */
class GptLinearInputHookTest {
    static final int B = GptTestSupport.B, T = GptTestSupport.T, C = GptTestSupport.C, L = GptTestSupport.L;

    private static Gpt model() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), B, T, 1);
        GptTestSupport.randomise(g, 2);
        return g;
    }

    @Test
    void calledOnceForEachBlockLinearInputInOrderWithItsShape() {
        Gpt g = model();
        assertNull(g.linearInputHook());
        List<String> calls = new ArrayList<>();
        Gpt.LinearInputHook hook = (block, linear, x) -> calls.add(block + ":" + linear + ":" + x.rows() + "x" + x.cols());
        g.setLinearInputHook(hook);
        assertSame(hook, g.linearInputHook());
        int[] ids = GptTestSupport.randomIds(3, B * T, GptTestSupport.V);
        g.eval();
        g.forward(ids, null, B, T);
        int n = B * T;
        List<String> expected = new ArrayList<>();
        for (int l = 0; l < L; l++) {
            expected.add(l + ":0:" + n + "x" + C);
            expected.add(l + ":1:" + n + "x" + C);
            expected.add(l + ":2:" + n + "x" + C);
            expected.add(l + ":3:" + n + "x" + 4 * C);
        }
        assertEquals(expected, calls);
        // also in training mode and in forwardBlock
        calls.clear();
        g.train();
        g.forward(ids, ids, B, T);
        assertEquals(expected, calls);
        calls.clear();
        g.forwardBlock(1, g.embed(ids, B, T), B, T);
        assertEquals(expected.subList(4, 8), calls);
    }

    @Test
    void aHookThatWritesNothingLeavesForwardAndBackwardBitForBit() {
        Gpt g = model();
        int[] ids = GptTestSupport.randomIds(3, B * T, GptTestSupport.V), targets = GptTestSupport.randomIds(4, B * T, GptTestSupport.V);
        double loss = g.forward(ids, targets, B, T);
        float[] logits = g.logits().toFloatArray();
        g.zeroGrad();
        g.backward();
        Map<String, float[]> grads = snapshot(g.gradients());
        g.setLinearInputHook((block, linear, x) -> {
            for (int i = 0; i < x.size(); i++) x.set(i, x.get(i) * 1f);
        });
        assertEquals(loss, g.forward(ids, targets, B, T));
        assertArrayEquals(logits, g.logits().toFloatArray());
        g.zeroGrad();
        g.backward();
        Map<String, float[]> hooked = snapshot(g.gradients());
        for (String name : grads.keySet()) assertArrayEquals(grads.get(name), hooked.get(name), name);
        g.setLinearInputHook(null);
        assertNull(g.linearInputHook());
    }

    @Test
    void whatTheHookWritesIsWhatTheLayerMultipliesAndWhatBackwardUses() {
        // zeroing the input of h.1.mlp.c_proj is the same function as zeroing that layer's weight
        Gpt hooked = model(), zeroed = model();
        zeroed.parameters().get("h.1.mlp.c_proj.weight").fill(0f);
        hooked.setLinearInputHook((block, linear, x) -> {
            if (block == 1 && linear == Gpt.LinearInputHook.MLP_PROJ) x.fill(0f);
        });
        int[] ids = GptTestSupport.randomIds(5, B * T, GptTestSupport.V), targets = GptTestSupport.randomIds(6, B * T, GptTestSupport.V);
        double a = hooked.forward(ids, targets, B, T), b = zeroed.forward(ids, targets, B, T);
        assertEquals(b, a, 1e-6 * Math.abs(b));
        float[] la = hooked.logits().toFloatArray(), lb = zeroed.logits().toFloatArray();
        for (int i = 0; i < la.length; i++) assertEquals(lb[i], la[i], 1e-5, "logit " + i);
        // backward: the weight gradient is dy^T x with the hooked (zero) input
        hooked.zeroGrad();
        hooked.backward();
        FloatTensor dw = hooked.gradients().get("h.1.mlp.c_proj.weight");
        for (int i = 0; i < dw.size(); i++) assertEquals(0f, dw.get(i), "dW[" + i + "]");
        FloatTensor dwOther = hooked.gradients().get("h.0.mlp.c_proj.weight");
        double norm = 0;
        for (int i = 0; i < dwOther.size(); i++) norm += Math.abs(dwOther.get(i));
        assertNotEquals(0.0, norm);
        // linearInput returns the hooked input
        FloatTensor in = hooked.linearInput("h.1.mlp.c_proj.weight");
        for (int i = 0; i < in.size(); i++) assertEquals(0f, in.get(i));
    }

    private static Map<String, float[]> snapshot(Map<String, FloatTensor> m) {
        Map<String, float[]> out = new java.util.HashMap<>();
        m.forEach((n, t) -> out.put(n, t.toFloatArray()));
        return out;
    }
}
