package org.distillery.quant;

import org.distillery.model.Gpt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SmoothQuant W8A8 on the tiny Brown-trained GPT shared by the quantization tests (64 calibration windows of 64
 * tokens from the training split, seed 0; validation perplexity on 16,384 bytes, fp32 12.177). The trained model
 * has no outlier channels to speak of (max/median of the per-channel max|X| at most 2.1), so W8A8 is already
 * lossless there; the method's claim is tested on the same model with outlier channels put in by a
 * function-preserving rescale (the structure large LLMs show: a few LayerNorm channels x 30, the matching weight
 * columns / 30), where W8A8 loses and smoothing restores it.
 */
class SmoothQuantModelTest {
    static final int T = TinyBrownGpt.T, B = TinyBrownGpt.B;
    static final int[] OUTLIER_CHANNELS = {3, 17, 40};
    static final double OUTLIER_FACTOR = 30;
    static TinyBrownGpt tiny;
    static Gpt model;
    static List<int[]> calib;

    @BeforeAll
    static void setUp() {
        tiny = TinyBrownGpt.get();
        model = tiny.model;
        calib = Gptq.calibrationWindows(tiny.train, 64, T, 0);
    }

    @AfterEach
    void removeHook() {
        model.setLinearInputHook(null);
        tiny.restore();
    }

    /** ln_1/ln_2 weight and bias of channels c x k, the c_attn/c_fc columns c / k: the same function, with outliers. */
    static void injectOutliers() {
        for (int l = 0; l < model.config().nLayer(); l++) {
            for (String[] pair : SmoothQuant.smoothedPairs(l)) {
                double[] s = new double[model.config().nEmbd()];
                Arrays.fill(s, 1);
                for (int c : OUTLIER_CHANNELS) s[c] = 1 / OUTLIER_FACTOR;
                Awq.scaleColumns(model.parameters().get(pair[0]), s);
                Awq.divide(model.parameters().get(pair[1] + ".weight"), s, 0);
                Awq.divide(model.parameters().get(pair[1] + ".bias"), s, 0);
            }
        }
    }

    static float[] logits(int[] ids) {
        model.forward(ids, null, 1, T);
        return model.logits().toFloatArray();
    }

    /** W8A8 (INT8 symmetric per-channel weights) with or without smoothing at alpha 0.5; validation perplexity. */
    static double w8a8(boolean outliers, boolean smooth, ActivationQuantizer.Granularity act) {
        tiny.restore();
        if (outliers) injectOutliers();
        SmoothQuant.Result r = SmoothQuant.apply(model, calib, SmoothQuant.Options.defaults(B).withSmoothing(smooth)
                .withActivations(act, 8));
        assertSame(r.activations(), model.linearInputHook());
        assertEquals(8, r.layers().size());
        assertEquals(smooth ? 4 : 0, r.smoothing().size());
        double ppl = tiny.perplexity();
        model.setLinearInputHook(null);
        return ppl;
    }

    @Test
    void smoothingAloneLeavesTheLogitsUnchanged() {
        tiny.restore();
        int[] ids = Arrays.copyOfRange(tiny.val, 100, 100 + T);
        float[] before = logits(ids);
        List<SmoothQuant.LayerSmoothing> rows = SmoothQuant.smooth(model, calib, 0.5, B);
        float[] after = logits(ids);
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < before.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(before[i]));
            maxDiff = Math.max(maxDiff, Math.abs(after[i] - before[i]));
        }
        System.out.printf("SmoothQuant smoothing alone: max |dlogit| / max |logit| = %.3g%n", maxDiff / maxAbs);
        assertTrue(maxDiff <= 1e-5 * maxAbs, "relative logit change " + maxDiff / maxAbs);
        for (SmoothQuant.LayerSmoothing r : rows) {
            double min = Arrays.stream(r.scales()).min().orElseThrow(), max = Arrays.stream(r.scales()).max().orElseThrow();
            assertTrue(max / min > 1.5, r.name() + ": the scales do vary, " + min + " .. " + max);
        }
    }

    @Test
    void smoothingFlattensTheChannelMaxima() {
        // max / median of the per-channel max|X| of each smoothed input, re-measured after the fold (measured with one
        // and two BLAS threads, within 0.005: h.0 c_attn 1.386 -> 1.339, h.0 c_fc 1.308 -> 1.317, h.1 c_attn 1.391 ->
        // 1.398, h.1 c_fc 1.545 -> 1.529: this model's inputs have no outlier channels, and smoothing leaves them as
        // flat as they were; with the outlier channels put in, 33.8, 34.4, 38.5, 40.2 before and the same as without
        // them after, as the scales absorb the rescale)
        double[] before = {1.386, 1.308, 1.391, 1.545}, after = {1.339, 1.317, 1.398, 1.529};
        double[] outliers = {33.81, 34.41, 38.53, 40.24};
        for (boolean inject : new boolean[] {false, true}) {
            tiny.restore();
            if (inject) injectOutliers();
            ActivationStatistics s0 = ActivationStatistics.collect(model, calib, B);
            List<SmoothQuant.LayerSmoothing> rows = SmoothQuant.smooth(model, calib, 0.5, B);
            ActivationStatistics s1 = ActivationStatistics.collect(model, calib, B);
            for (int i = 0; i < 4; i++) {                   // printed first, so that a failure shows every row
                int l = i / 2, linear = i % 2 == 0 ? Gpt.LinearInputHook.ATTN_QKV : Gpt.LinearInputHook.MLP_FC;
                System.out.printf("%s%s: max/median of channel max|X| %.4f -> %.4f%n", rows.get(i).name(),
                        inject ? " (outliers put in)" : "", s0.outlierRatio(l, linear), s1.outlierRatio(l, linear));
            }
            for (int i = 0; i < 4; i++) {
                int l = i / 2, linear = i % 2 == 0 ? Gpt.LinearInputHook.ATTN_QKV : Gpt.LinearInputHook.MLP_FC;
                double r0 = s0.outlierRatio(l, linear), r1 = s1.outlierRatio(l, linear);
                assertEquals(inject ? outliers[i] : before[i], r0, inject ? 0.02 : 0.01, rows.get(i).name());
                assertEquals(rows.get(i).outlierBefore(), r0, 1e-9);
                assertEquals(after[i], r1, 0.01, rows.get(i).name());
                assertEquals(rows.get(i).outlierAfter(), r1, 1e-3 * r1);
            }
        }
    }

    @Test
    void w8a8WithAndWithoutSmoothing() {
        tiny.restore();
        double fp = tiny.perplexity();
        injectOutliers();
        double fpOutliers = tiny.perplexity();
        var tok = ActivationQuantizer.Granularity.PER_TOKEN;
        var ten = ActivationQuantizer.Granularity.PER_TENSOR;
        double tokPlain = w8a8(false, false, tok), tokPlainSq = w8a8(false, true, tok);
        double tenPlain = w8a8(false, false, ten), tenPlainSq = w8a8(false, true, ten);
        double tokOut = w8a8(true, false, tok), tokOutSq = w8a8(true, true, tok);
        double tenOut = w8a8(true, false, ten), tenOutSq = w8a8(true, true, ten);
        System.out.printf("tiny GPT validation perplexity: fp32 %.4f (with outlier channels %.4f)%n", fp, fpOutliers);
        System.out.printf("  W8A8 per-token:  trained model %.4f, smoothed %.4f; with outliers %.4f, smoothed %.4f%n",
                tokPlain, tokPlainSq, tokOut, tokOutSq);
        System.out.printf("  W8A8 per-tensor: trained model %.4f, smoothed %.4f; with outliers %.4f, smoothed %.4f%n",
                tenPlain, tenPlainSq, tenOut, tenOutSq);
        // measured (one and two BLAS threads): fp32 12.1774-12.1775; per-token 12.1757-12.1762 / 12.1765-12.1778,
        // with outliers 12.1938-12.1947 / 12.1765-12.1777; per-tensor 12.1768-12.1773 / 12.1758-12.1765, with
        // outliers 12.3129-12.3137 / 12.1758-12.1766
        assertEquals(fp, fpOutliers, 1e-3, "the outlier rescale keeps the function");
        // the trained model: W8A8 is lossless with or without smoothing (within 0.0025 of fp32); smoothing changes
        // the perplexity by at most 0.003 here (there are no outliers for it to fix)
        for (double p : new double[] {tokPlain, tokPlainSq, tenPlain, tenPlainSq}) assertEquals(fp, p, 0.0025);
        assertTrue(tokPlainSq <= tokPlain + 0.003 && tenPlainSq <= tenPlain + 0.003, tokPlainSq + " " + tenPlainSq);
        // outlier channels: W8A8 loses (per-tensor most), smoothing brings it back to within 0.0025 of fp32
        assertTrue(tokOut > fp + 0.01, "per-token W8A8 with outliers " + tokOut);
        assertTrue(tenOut > fp + 0.1, "per-tensor W8A8 with outliers " + tenOut);
        assertTrue(tokOutSq < tokOut - 0.01, "per-token: smoothing " + tokOutSq + " vs " + tokOut);
        assertTrue(tenOutSq < tenOut - 0.1, "per-tensor: smoothing " + tenOutSq + " vs " + tenOut);
        assertEquals(fp, tokOutSq, 0.0025);
        assertEquals(fp, tenOutSq, 0.0025);
        // smoothing undoes the rescale: the same perplexity as smoothing the trained model
        assertEquals(tokPlainSq, tokOutSq, 2e-4);
        assertEquals(tenPlainSq, tenOutSq, 2e-4);
    }
    /**
     * The W8A8 model on real int8 arithmetic: the SmoothQuant model packed as it is ({@code PackedGpt.of}: its INT8
     * symmetric per-channel codes) with its activation quantizer on the W8A8 kernel
     * ({@code PackedGpt.withInt8Activations(ActivationQuantizer)}), so that each layer input of a short window is
     * rounded to int8 (per token, or with the layer's calibrated static scale) and multiplied in integer lanes
     * ({@code Int8A8MatVec}), against the simulated model (dequantized weights, the activation quantizer as the
     * linear-input hook) on the same windows of 3 tokens. The two compute the same rounded products and differ by fp32
     * accumulation order and by the rare input that rounds differently (the kernel divides in float and rounds half
     * up; the hook divides in double and rounds half to even). With outlier channels put in, the kernel shows what the
     * simulation shows: W8A8 loses without smoothing and smoothing takes the loss back.
     */
    @Test
    void packedW8A8RunsTheSimulatedModelOnTheIntegerKernel() {
        for (ActivationQuantizer.Granularity act : ActivationQuantizer.Granularity.values()) {
            double[] loss = new double[2];
            for (int k = 0; k < 2; k++) {
                boolean smooth = k == 1;
                tiny.restore();
                injectOutliers();
                SmoothQuant.Result r = SmoothQuant.apply(model, calib, SmoothQuant.Options.defaults(B).withSmoothing(smooth)
                        .withWeights(Quantizer.perChannel(8, true).withFp16Scales(true))      // the packed file's scales
                        .withActivations(act, 8));
                var packed = org.distillery.quant.packed.PackedGpt.of(model, r.tensors());
                var kernel = packed.withInt8Activations(r.activations());
                assertEquals(4 * model.config().nLayer(), kernel.int8ActivationLayers());
                var simulated = org.distillery.eval.CausalLm.of(model);          // the hook installed by apply
                var kernelVsSimulated = org.distillery.quant.packed.Int8ActivationQuality.compare(simulated, kernel, tiny.val, 2_000);
                var kernelVsFloatActs = org.distillery.quant.packed.Int8ActivationQuality.compare(packed, kernel, tiny.val, 2_000);
                model.setLinearInputHook(null);
                var packedVsDequantized = org.distillery.quant.packed.Int8ActivationQuality.compare(simulated, packed, tiny.val, 2_000);
                System.out.printf("W8A8 %s with outlier channels, smoothing %s, 6,000 positions: integer kernel against"
                        + " the simulated model KL %.3g, top-1 %.5f, perplexity %.5f / %.5f; against float activations"
                        + " %.5f -> %.5f (%+.4f %%); packed vs dequantized float model KL %.3g%n", act.label(), smooth,
                        kernelVsSimulated.kl(), kernelVsSimulated.top1Agreement(), kernelVsSimulated.otherPerplexity(),
                        kernelVsSimulated.perplexity(), kernelVsFloatActs.perplexity(), kernelVsFloatActs.otherPerplexity(),
                        100 * kernelVsFloatActs.perplexityChange(), packedVsDequantized.kl());
                // measured: KL 6.9e-10 / 1.4e-9 per token, 7.7e-14 / 3.2e-9 per tensor (unsmoothed / smoothed), top-1
                // 1.0, perplexities within 2e-6 of each other
                assertTrue(kernelVsSimulated.kl() < 1e-7, "kernel vs simulated KL " + kernelVsSimulated.kl());
                assertTrue(kernelVsSimulated.top1Agreement() >= 0.999, "top-1 " + kernelVsSimulated.top1Agreement());
                assertEquals(kernelVsSimulated.perplexity(), kernelVsSimulated.otherPerplexity(), 1e-5 * kernelVsSimulated.perplexity());
                assertTrue(packedVsDequantized.kl() < 1e-10, "packed (float activations) vs dequantized KL " + packedVsDequantized.kl());
                loss[k] = kernelVsFloatActs.perplexityChange();
            }
            // on the kernel as in the simulation: the outliers cost W8A8 (measured per token +0.23 %, per tensor
            // +0.72 %), smoothing takes most of it back (+0.013 % both)
            assertTrue(loss[0] > 1e-3, act.label() + " W8A8 with outliers, unsmoothed: " + loss[0]);
            assertTrue(loss[1] < 5e-4 && loss[1] < loss[0] / 5, act.label() + " smoothed: " + loss[1] + " against " + loss[0]);
        }
    }

    @Test
    void packingNeedsExactCodesOfEveryBlockLayer() {
        tiny.restore();
        SmoothQuant.Result r = SmoothQuant.apply(model, calib, SmoothQuant.Options.defaults(B));   // float32 scales
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> org.distillery.quant.packed.PackedGpt.of(model, r.tensors()));
        assertTrue(e.getMessage().startsWith("tensors: cannot be packed exactly: h.0.attn.c_attn.weight: scale "), e.getMessage());
        assertTrue(e.getMessage().endsWith("is not an fp16 value"), e.getMessage());
        var some = new java.util.LinkedHashMap<>(r.tensors());
        some.remove("h.1.mlp.c_proj.weight");
        var e2 = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> org.distillery.quant.packed.PackedGpt.of(model, some));
        assertEquals("tensors: need the 8 block linear weights of this 2-layer GPT-2 ([attn.c_attn, attn.c_proj, mlp.c_fc,"
                + " mlp.c_proj] per block); missing [h.1.mlp.c_proj.weight], not block layers []", e2.getMessage());
    }

    /** What {@code PackedGpt.withInt8Activations(ActivationQuantizer)} refuses, and a calibrated range of 0. */
    @Test
    void theKernelTakesOnlyActivationQuantizationItComputes() {
        tiny.restore();
        var perChannel = org.distillery.quant.packed.PackedGpt.quantize(model, org.distillery.quant.packed.PackedFormat.INT8,
                org.distillery.quant.packed.PackedGpt.PER_CHANNEL);
        var six = ActivationQuantizer.perToken(6, 2);
        IllegalArgumentException bits = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> perChannel.withInt8Activations(six));
        assertEquals("activations: " + six.name() + " rounds to 6 bits; the integer kernel takes 8-bit activations", bits.getMessage());
        IllegalArgumentException blocks = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> perChannel.withInt8Activations(ActivationQuantizer.perToken(8, 3)));
        assertEquals("activations: a quantizer for 3 blocks; this model has 2", blocks.getMessage());
        // per token needs one group per row: with groups of 64 the kernel's scales of mlp.c_proj (256 wide) would be
        // per group, not per token (the 64-wide layers are then per channel)
        var grouped = org.distillery.quant.packed.PackedGpt.quantize(model, org.distillery.quant.packed.PackedFormat.INT8, 64);
        IllegalArgumentException groups = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> grouped.withInt8Activations(ActivationQuantizer.perToken(8, 2)));
        assertEquals("activations: layer h.0.mlp.c_proj: per-token activations on the kernel need one weight group per row"
                + " (per-channel weights); got groups of 64 of 256 columns", groups.getMessage());
        var int4 = org.distillery.quant.packed.PackedGpt.quantize(model, org.distillery.quant.packed.PackedFormat.INT4, 32);
        IllegalArgumentException four = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> int4.withInt8Activations(ActivationQuantizer.perToken(8, 2)));
        assertTrue(four.getMessage().startsWith("activations: layer h.0.attn.c_attn: the W8A8 kernel needs an 8-bit format"),
                four.getMessage());
        // per tensor: a layer whose calibrated range is 0 keeps float activations (the quantizer leaves it unchanged);
        // a block switched off keeps them too
        float[][] ranges = {{4f, 0f, 4f, 4f}, {4f, 4f, 4f, 4f}};
        assertEquals(7, perChannel.withInt8Activations(ActivationQuantizer.perTensor(8, ranges)).int8ActivationLayers());
        var off = ActivationQuantizer.perTensor(8, ranges).setActive(1, false);
        assertEquals(3, perChannel.withInt8Activations(off).int8ActivationLayers());
        assertEquals(8, perChannel.withInt8Activations(ActivationQuantizer.perToken(8, 2)).int8ActivationLayers());
        assertEquals(0, perChannel.int8ActivationLayers());
    }
}
