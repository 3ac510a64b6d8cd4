package org.distillery.quant;

import org.distillery.model.Gpt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AWQ on the tiny Brown-trained GPT shared by the quantization tests. */
class AwqModelTest {
    static final int T = TinyBrownGpt.T, B = TinyBrownGpt.B;
    static TinyBrownGpt tiny;
    static Gpt model;
    static List<int[]> calib;

    @BeforeAll
    static void setUp() {
        tiny = TinyBrownGpt.get();
        tiny.restore();
        model = tiny.model;
        calib = Gptq.calibrationWindows(tiny.train, 64, T, 0);
    }

    static float[] logits(int[] ids) {
        model.forward(ids, ids, 1, T);
        return model.logits().toFloatArray();
    }

    static Map<String, float[]> snapshot() {
        Map<String, float[]> m = new HashMap<>();
        model.parameters().forEach((n, p) -> m.put(n, p.toFloatArray()));
        return m;
    }

    @Test
    void foldingLeavesTheLogitsUnchanged() {
        tiny.restore();
        model.train();
        int[] ids = Arrays.copyOfRange(tiny.val, 100, 100 + T);
        float[] before = logits(ids);
        Awq.Result r = Awq.apply(model, calib, Quantizer.perChannel(3, true), Awq.Options.defaults(B).withQuantize(false));
        assertEquals(6, r.scales().size());
        assertTrue(r.layers().isEmpty());
        boolean scaled = false;
        for (Awq.LayerScale s : r.scales()) scaled |= s.alpha() > 0;
        assertTrue(scaled, "some alpha > 0 expected: " + r.scales());
        float[] after = logits(ids);
        double maxRel = 0, maxAbs = 0;
        for (float v : before) maxAbs = Math.max(maxAbs, Math.abs(v));
        for (int i = 0; i < before.length; i++) maxRel = Math.max(maxRel, Math.abs(after[i] - before[i]) / maxAbs);
        System.out.printf("AWQ folding without quantization: max |dlogit| / max |logit| = %.3g%n", maxRel);
        assertTrue(maxRel < 1e-5, "max relative logit change " + maxRel);
        // the weights did change (the scales are really folded; which ones depends on where alpha > 0 was chosen)
        boolean changed = false;
        for (var e : tiny.model.parameters().entrySet()) {
            changed |= !Arrays.equals(e.getValue().toFloatArray(), snapshotTrained(e.getKey()));
        }
        assertTrue(changed, "no weight changed: " + r.scales());
    }

    static float[] snapshotTrained(String name) {
        Map<String, float[]> now = snapshot();
        tiny.restore();
        float[] t = model.parameters().get(name).toFloatArray();
        now.forEach((n, v) -> model.parameters().get(n).copyFrom(v));
        return t;
    }

    @Test
    void alphaZeroIsRtnBitForBit() {
        Quantizer q = Quantizer.perChannel(3, true);
        tiny.restore();
        Rtn.quantize(model, q);
        Map<String, float[]> rtn = snapshot();
        tiny.restore();
        Awq.Result r = Awq.apply(model, calib.subList(0, 8), q, Awq.Options.defaults(B).withGrid(1));
        assertEquals(8, r.layers().size());
        for (Awq.LayerScale s : r.scales()) {
            assertEquals(0.0, s.alpha());
            assertEquals(s.mseRtn(), s.mseAwq());
        }
        Map<String, float[]> awq = snapshot();
        for (String n : rtn.keySet()) assertArrayEquals(rtn.get(n), awq.get(n), n);
    }

    @Test
    void awqBeatsRtnAt3BitsPerChannel() {
        // INT3-asym per-channel: RTN costs +0.11 perplexity here. Measured with one and two BLAS threads: AWQ 12.227-
        // 12.230 against RTN 12.288-12.290 (fp32 12.177). On the earlier, less trained fixture (fp32 13.711) AWQ
        // measured 13.752-13.760 against RTN 13.768 over calibration seeds 0, 1, 2.
        // With groups (g32, g16) RTN's loss is already tiny and AWQ does not lower the perplexity (README).
        Quantizer q = Quantizer.perChannel(3, false);
        tiny.restore();
        double fp = tiny.perplexity();
        Rtn.quantize(model, q);
        double rtn = tiny.perplexity();
        tiny.restore();
        model.eval();
        Awq.Result r = Awq.apply(model, calib, q, Awq.Options.defaults(B));
        assertTrue(!model.isTraining(), "mode restored");
        model.train();
        double awq = tiny.perplexity();
        System.out.printf("tiny GPT, validation perplexity, %s: fp32 %.3f, RTN %.3f, AWQ %.3f%n", q.name(), fp, rtn, awq);
        for (Awq.LayerScale s : r.scales()) {
            System.out.printf("  %-24s alpha %.2f, output MSE %.4g -> %.4g (relative %.4f -> %.4f)%n", s.name(), s.alpha(),
                    s.mseRtn(), s.mseAwq(), s.mseRtn() / s.meanSquare(), s.mseAwq() / s.meanSquare());
            assertTrue(s.alpha() >= 0 && s.alpha() <= 0.95, s.toString());
        }
        double[] sums = summedRelativeMse(q, r);
        double sumRtn = sums[0], sumAwq = sums[1];
        assertEquals(List.of("h.0.attn.c_attn.weight", "h.0.mlp.c_fc.weight", "h.0.attn.c_proj.weight"),
                r.scales().subList(0, 3).stream().map(Awq.LayerScale::name).toList());
        assertEquals(8, r.layers().size());
        System.out.printf("  summed relative output MSE %.4f -> %.4f (%+.1f %%)%n", sumRtn, sumAwq, 100 * (sumAwq / sumRtn - 1));
        // measured -5.5 % and -5.3 % (two and one BLAS threads)
        assertTrue(sumAwq < 0.97 * sumRtn, "AWQ should lower the summed relative output MSE by > 3 %: " + sumRtn + " -> " + sumAwq);
        assertTrue(awq < rtn, "AWQ " + awq + " should beat RTN " + rtn);
        assertTrue(awq > fp - 0.05, "AWQ " + awq + " vs fp32 " + fp);
    }

    /**
     * {sum of RTN's, sum of AWQ's} output MSE relative to the layer output's mean square over the searched layers,
     * asserting on the way that AWQ's is no higher in any layer (alpha 0, RTN, is on the grid).
     */
    static double[] summedRelativeMse(Quantizer q, Awq.Result r) {
        double sumRtn = 0, sumAwq = 0;
        for (Awq.LayerScale s : r.scales()) {
            assertTrue(s.mseAwq() <= s.mseRtn(), q.name() + ": " + s);
            sumRtn += s.mseRtn() / s.meanSquare();
            sumAwq += s.mseAwq() / s.meanSquare();
        }
        return new double[] {sumRtn, sumAwq};
    }

    @Test
    void awqLowersEverySearchedLayersOutputErrorInEverySetting() {
        // The README's table of settings. AWQ's search minimises each layer's output MSE, so it can only lower it (alpha 0
        // is RTN and on the grid); whether the model's perplexity follows is measured and printed, not asserted: with
        // groups, RTN's loss is already small here and a layer-local MSE is not the model's loss. Measured (AMD EPYC, two
        // and one BLAS threads), RTN -> AWQ: INT3 12.321 -> 12.342 / 12.322 -> 12.329; INT2-asym 12.328 -> 12.269 /
        // 12.323 -> 12.268; INT2 14.277 -> 14.068 / 14.289 -> 14.095; INT4 12.186 -> 12.187 / 12.187 -> 12.184;
        // INT3-asym g32 12.238 -> 12.214 / 12.239 -> 12.214; INT4-asym g32 12.160 -> 12.165 / 12.160 -> 12.155;
        // INT2 g16 12.368 -> 12.670 / 12.369 -> 12.674 (fp32 12.177), the summed relative output MSE 2-9 % lower in each.
        tiny.restore();
        double fp = tiny.perplexity();
        for (Quantizer q : List.of(Quantizer.perChannel(3, true), Quantizer.perChannel(2, false), Quantizer.perChannel(2, true),
                Quantizer.perChannel(4, true), Quantizer.grouped(3, false, 32), Quantizer.grouped(4, false, 32),
                Quantizer.grouped(2, true, 16))) {
            tiny.restore();
            Rtn.quantize(model, q);
            double rtn = tiny.perplexity();
            tiny.restore();
            Awq.Result r = Awq.apply(model, calib, q, Awq.Options.defaults(B));
            double awq = tiny.perplexity();
            double[] sums = summedRelativeMse(q, r);
            double sumRtn = sums[0], sumAwq = sums[1];
            assertTrue(sumAwq < sumRtn, q.name() + ": summed relative output MSE " + sumRtn + " -> " + sumAwq);
            System.out.printf("tiny GPT, %-24s validation perplexity fp32 %.3f, RTN %.3f, AWQ %.3f; summed relative output"
                    + " MSE %.4f -> %.4f (%+.1f %%)%n", q.name() + ":", fp, rtn, awq, sumRtn, sumAwq, 100 * (sumAwq / sumRtn - 1));
        }
    }

    @Test
    void aFixedAlphaIsUsedForEveryLayerAndTheTensorsAreTheSavedWeights() {
        Quantizer q = Quantizer.perChannel(3, false);
        List<int[]> few = calib.subList(0, 8);
        tiny.restore();
        Awq.Result searched = Awq.apply(model, few, q, Awq.Options.defaults(B));
        tiny.restore();
        Map<String, QuantizedTensor> tensors = new java.util.LinkedHashMap<>();
        Awq.Result fixed = Awq.apply(model, few, q, Awq.Options.defaults(B).withAlpha(0.3), tensors);
        for (int i = 0; i < fixed.scales().size(); i++) {
            Awq.LayerScale s = fixed.scales().get(i);
            assertEquals(0.3, s.alpha(), s.name());
            if (i < 3) assertEquals(searched.scales().get(i).mseRtn(), s.mseRtn(), 0.0, "block 0 sees the same inputs: " + s.name());
        }
        assertEquals(LinearLayers.names(model), List.copyOf(tensors.keySet()));
        for (Map.Entry<String, QuantizedTensor> e : tensors.entrySet()) {
            assertArrayEquals(e.getValue().dequantize(), model.parameters().get(e.getKey()).toFloatArray(), e.getKey());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Awq.Options.defaults(B).withAlpha(1.5));
        assertEquals("alpha = 1.5 is out of range: accepted 0 to 1 (or NaN: grid search)", e.getMessage());
    }

    @Test
    void asBlockQuantizerUnderNormTweakWithoutTweakingEqualsApply() {
        Quantizer q = Quantizer.perChannel(3, false);
        List<int[]> few = calib.subList(0, 16);
        tiny.restore();
        Awq.Result direct = Awq.apply(model, few, q, Awq.Options.defaults(8));
        Map<String, float[]> a = snapshot();
        tiny.restore();
        List<Awq.LayerScale> scales = new java.util.ArrayList<>();
        NormTweak.Result nt = NormTweak.apply(model, few, Awq.blockQuantizer(q, 20, scales), NormTweak.Options.of(0, 0, 1, 8));
        assertEquals(8, nt.layers().size());
        assertEquals(direct.scales(), scales);
        Map<String, float[]> b = snapshot();
        for (String n : a.keySet()) assertArrayEquals(a.get(n), b.get(n), n);
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Awq.apply(model, List.of(), Quantizer.perChannel(4, false), Awq.Options.defaults(B)));
        assertEquals("windows: the calibration set is empty; need at least one window of tokens", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Awq.apply(model, calib, Quantizer.grouped(4, false, 48), Awq.Options.defaults(B)));
        assertEquals("groupSize = 48 does not divide the input width 64; use a divisor of 64 (e.g. 32)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Awq.Options.defaults(B).withGrid(0));
        assertEquals("grid = 0 must be >= 1", e.getMessage());
    }
}
