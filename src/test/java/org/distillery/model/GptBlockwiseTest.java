package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LayerNormKernel;
import org.distillery.testing.GradientCheck;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Gpt#embed}, {@link Gpt#forwardBlock} and {@link Gpt#backwardBlock}: one block at a time. */
class GptBlockwiseTest {

    private static Gpt model() {
        Gpt g = new Gpt(tinyConfig(), B, T, 1);
        randomise(g, 7);
        return g;
    }

    private static float[] lnf(Gpt g, FloatTensor x) {
        FloatTensor out = FloatTensor.zeros(x.dim(0), C);
        LayerNormKernel.forward(x, g.parameters().get("ln_f.weight"), g.parameters().get("ln_f.bias"),
                (float) g.config().layerNormEpsilon(), out, FloatTensor.zeros(x.dim(0)), FloatTensor.zeros(x.dim(0)));
        return out.toFloatArray();
    }

    @Test
    void chainingTheBlocksReproducesTheFullForwardBitForBit() {
        for (boolean training : new boolean[] {true, false}) {
            Gpt g = model();
            if (!training) g.eval();
            int[] ids = randomIds(11, B * T, V);
            g.forward(ids, null, B, T);
            float[] hidden = g.lastHiddenState().toFloatArray();
            List<float[]> ln1 = new ArrayList<>();
            if (training) for (int l = 0; l < L; l++) ln1.add(g.linearInput("h." + l + ".attn.c_attn.weight").toFloatArray());

            FloatTensor x = g.embed(ids, B, T);
            for (int l = 0; l < L; l++) {
                FloatTensor copy = FloatTensor.zeros(B * T, C).copyFrom(x.toFloatArray());   // a foreign input tensor
                x = g.forwardBlock(l, copy, B, T);
                if (training) {
                    assertArrayEquals(ln1.get(l), g.linearInput("h." + l + ".attn.c_attn.weight").toFloatArray(), 0f,
                            "ln_1 output of block " + l);
                }
            }
            assertArrayEquals(hidden, lnf(g, x), 0f, "training " + training);
            // the live output of the previous block as input: no copy needed, same result
            x = g.embed(ids, B, T);
            for (int l = 0; l < L; l++) x = g.forwardBlock(l, x, B, T);
            assertArrayEquals(hidden, lnf(g, x), 0f);
        }
    }

    @Test
    void backwardBlockMatchesFiniteDifferencesAndTouchesOnlyThatBlock() {
        Gpt g = model();
        int l = 1;
        Random r = new Random(3);
        FloatTensor x = FloatTensor.zeros(B * T, C);
        for (int i = 0; i < x.size(); i++) x.set(i, (float) r.nextGaussian());
        double[] proj = new double[B * T * C];                              // loss = sum(y * proj)
        for (int i = 0; i < proj.length; i++) proj[i] = r.nextGaussian();
        FloatTensor dy = FloatTensor.of(proj, B * T, C);
        float[] x0 = x.toFloatArray();
        java.util.function.DoubleSupplier loss = () -> {
            FloatTensor y = g.forwardBlock(l, FloatTensor.zeros(B * T, C).copyFrom(x.toFloatArray()), B, T);
            double s = 0;
            for (int i = 0; i < proj.length; i++) s += y.get(i) * proj[i];
            return s;
        };
        g.zeroGrad();
        g.forwardBlock(l, x, B, T);
        float[] dx = g.backwardBlock(l, dy).toFloatArray();

        for (Map.Entry<String, FloatTensor> e : g.gradients().entrySet()) {
            boolean mine = e.getKey().startsWith("h." + l + ".");
            double norm = 0;
            for (int i = 0; i < e.getValue().size(); i++) norm += Math.abs(e.getValue().get(i));
            assertEquals(mine, norm > 0, e.getKey() + ": only block " + l + "'s gradients are written");
        }
        GradientCheck check = new GradientCheck(2e-2, 2e-3);
        float h = 1e-2f;
        int tensors = 0;
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            if (!e.getKey().startsWith("h." + l + ".")) continue;
            tensors++;
            FloatTensor p = e.getValue(), grad = g.gradients().get(e.getKey());
            for (int k = 0; k < 6; k++) {
                int i = r.nextInt(p.size());
                check.check(e.getKey() + "[" + i + "]", grad.get(i), GradientCheck.centralDifference(p, i, h, loss));
            }
        }
        for (int k = 0; k < 12; k++) {
            int i = r.nextInt(x.size());
            check.check("x[" + i + "]", dx[i], GradientCheck.centralDifference(x, i, h, loss));
        }
        assertArrayEquals(x0, x.toFloatArray(), 0f);
        System.out.println("block backward " + check.summary(tensors + 1));
    }

    @Test
    void misuseIsRefusedWithClearMessages() {
        Gpt g = model();
        int[] ids = randomIds(1, B * T, V);
        FloatTensor x = FloatTensor.zeros(B * T, C);
        IllegalStateException s = assertThrows(IllegalStateException.class, () -> g.backwardBlock(0, x));
        assertTrue(s.getMessage().startsWith("backwardBlock: no forward"), s.getMessage());
        g.forward(ids, null, B, T);
        s = assertThrows(IllegalStateException.class, () -> g.backwardBlock(0, x));
        assertTrue(s.getMessage().contains("call forwardBlock(0, ...) first"), s.getMessage());
        g.forwardBlock(1, x, B, T);
        s = assertThrows(IllegalStateException.class, () -> g.backwardBlock(0, x));
        assertTrue(s.getMessage().contains("the last forward was forwardBlock(1, ...)"), s.getMessage());
        s = assertThrows(IllegalStateException.class, () -> g.backward(null, FloatTensor.zeros(B * T, C)));
        assertTrue(s.getMessage().contains("use backwardBlock"), s.getMessage());
        assertThrows(IllegalStateException.class, g::backward);
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> g.forwardBlock(L, x, B, T));
        assertEquals("forwardBlock: block 2 is outside [0, n_layer = 2)", a.getMessage());
        a = assertThrows(IllegalArgumentException.class, () -> g.forwardBlock(0, FloatTensor.zeros(B * T, C + 1), B, T));
        assertTrue(a.getMessage().contains("needs [b*t, n_embd] = [16, 16]"), a.getMessage());
        g.setDropout(0.1, 1);
        s = assertThrows(IllegalStateException.class, () -> g.forwardBlock(0, x, B, T));
        assertTrue(s.getMessage().contains("dropout is on"), s.getMessage());
        g.setDropout(0, 1);
        g.eval();
        g.forwardBlock(0, x, B, T);
        s = assertThrows(IllegalStateException.class, () -> g.backwardBlock(0, x));
        assertTrue(s.getMessage().contains("evaluation mode"), s.getMessage());
    }
}
