package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.ise;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.distillery.robustness.badinput.BadInput.windows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.Gptq;
import org.distillery.quant.GptqHessian;
import org.distillery.quant.Quantizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link Gptq} and {@link GptqHessian}: bad options, wrong shapes, NaN/Inf weights and inputs, empty or ragged
 * calibration sets, and a Hessian that stays singular after dampening (the message suggests more calibration data or
 * more dampening).
 */
class GptqBadInputTest {
    private static double[] ones(int n) {
        double[] h = new double[n * n];
        Arrays.fill(h, 1);                      // rank 1: singular for n >= 2
        return h;
    }

    private static double[] identity(int n) {
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) h[i * n + i] = 1;
        return h;
    }

    private static float[] w(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (i % 5 - 2) * 0.25f;
        return w;
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        Quantizer q4 = Quantizer.perChannel(4, false);
        Gptq.Options opt = Gptq.Options.defaults(q4);
        Gpt gpt = tinyGpt();
        Gpt dropout = tinyGpt();
        dropout.setDropout(0.1, 1);
        List<int[]> ragged = new ArrayList<>(windows(3, 16));
        ragged.set(2, new int[8]);
        List<int[]> withNull = new ArrayList<>(windows(2, 16));
        withNull.add(0, null);
        List<int[]> outOfVocab = windows(2, 16);
        outOfVocab.get(1)[3] = 300;
        GptqHessian h4 = new GptqHessian(4);
        GptqHessian nanInput = new GptqHessian(2).add(FloatTensor.of(new double[] {1, Double.NaN, 0, 1}, 2, 2));
        float[] nanW = w(8);
        nanW[5] = Float.NaN;
        return BadInput.tests(List.of(
                iae("percDamp < 0", "percDamp = -0.01 must be finite and >= 0 (default 0.01)", () -> opt.withPercDamp(-0.01)),
                iae("percDamp NaN", "percDamp = NaN must be finite and >= 0 (default 0.01)", () -> opt.withPercDamp(Double.NaN)),
                iae("percDamp Inf", "percDamp = Infinity must be finite and >= 0 (default 0.01)",
                        () -> opt.withPercDamp(Double.POSITIVE_INFINITY)),
                iae("block size 0", "blockSize = 0 must be >= 1 (default 128)", () -> opt.withBlockSize(0)),
                iae("static groups per channel", "staticGroups: only meaningful with group-wise quantization (granularity is"
                        + " PER_CHANNEL)", () -> opt.withStaticGroups(true)),
                iae("no quantizer", "quantizer: must not be null", () -> Gptq.Options.defaults(null)),
                iae("Hessian of the wrong size", "hessian: need [4, 4] = 16 values for in = 4; got 9",
                        () -> Gptq.quantizeLayer(w(8), 2, 4, new double[9], opt)),
                iae("no Hessian", "hessian: need [4, 4] = 16 values for in = 4; got null",
                        () -> Gptq.quantizeLayer(w(8), 2, 4, null, opt)),
                iae("NaN weight", "w[1, 1] = NaN is not finite: cannot quantize NaN/Inf weights",
                        () -> Gptq.quantizeLayer(nanW, 2, 4, identity(4), opt)),
                iae("weights not rows x cols", "w: length 8 but shape [3, 4] has 12 elements",
                        () -> Gptq.quantizeLayer(w(8), 3, 4, identity(4), opt)),
                iae("group not dividing the width", "groupSize = 3 does not divide the input width 4; use a divisor of 4 (e.g. 2)",
                        () -> Gptq.quantizeLayer(w(8), 2, 4, identity(4), Gptq.Options.defaults(Quantizer.grouped(4, true, 3)))),
                iae("bits 9 in the options' quantizer", "bits = 9 is out of range: accepted 2 to 8 for integer quantization (use a"
                        + " FloatFormat for 16-bit FP16/BF16 or FP8)", () -> Gptq.Options.defaults(Quantizer.perChannel(9, true))),
                ise("singular Hessian without dampening", "GPTQ: the Hessian [4, 4] is not positive definite after dampening"
                        + " (percDamp = 0.0, pivot 0.0 near input column 2); use more calibration data or a larger percDamp",
                        () -> Gptq.quantizeLayer(w(8), 2, 4, ones(4), opt.withPercDamp(0))),
                iae("no options", "options: must not be null", () -> Gptq.quantizeLayer(w(8), 2, 4, identity(4), null)),
                iae("tensor of rank 1", "w: shape [8] is not [out, in]",
                        () -> Gptq.quantizeLayer(FloatTensor.zeros(8), h4, opt)),
                iae("Hessian of 0 columns", "in: input width must be >= 1 but was 0", () -> new GptqHessian(0)),
                iae("input of the wrong width", "x: shape [3, 5] has 5 features in its last dimension; this Hessian is for in = 4",
                        () -> new GptqHessian(4).add(FloatTensor.zeros(3, 5))),
                ise("no calibration rows", "GptqHessian: no calibration rows were added; the calibration set is empty",
                        () -> new GptqHessian(4).hessian()),
                ise("NaN calibration input", "GptqHessian: H[1, 0] = NaN: the calibration inputs contain NaN/Inf (or overflow fp32)",
                        nanInput::hessian),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> Gptq.quantize(gpt, List.of(), opt, true)),
                iae("null calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> Gptq.quantize(gpt, null, opt, true)),
                iae("a null window", "windows: window 0 is null", () -> Gptq.quantize(gpt, withNull, opt, true)),
                iae("an empty window", "windows: window 0 has no tokens; a window needs 1 or more",
                        () -> Gptq.quantize(gpt, List.of(new int[0]), opt, true)),
                iae("ragged windows", "windows: window 2 has 8 tokens but window 0 has 16; every window needs the same length",
                        () -> Gptq.quantize(gpt, ragged, opt, true)),
                iae("windows longer than the context", "windows: length 17 exceeds the model's maxT = 16",
                        () -> Gptq.quantize(gpt, windows(2, 17), opt, true)),
                iae("token id outside the vocabulary", "ids: token id 300 at position 19 (sequence 1, token 3) is out of range [0, 256) for vocab_size 256",
                        () -> Gptq.quantize(tinyGpt(), outOfVocab, opt, true)),
                iae("dropout on", "model: dropout is on (p = 0.1); switch it off (setDropout(0, seed)) for calibration",
                        () -> Gptq.quantize(dropout, windows(2, 16), opt, true)),
                iae("no model", "model: must not be null", () -> Gptq.quantize(null, windows(2, 16), opt, true)),
                iae("calibration text shorter than a window", "tokens: the calibration text has 9 tokens, shorter than the window"
                        + " length 16; use more text or a shorter context", () -> Gptq.calibrationWindows(new int[9], 4, 16, 1)),
                iae("0 calibration windows", "count = 0: the calibration set needs at least one window",
                        () -> Gptq.calibrationWindows(new int[64], 0, 16, 1)),
                iae("window length 0", "length = 0 must be >= 1", () -> Gptq.calibrationWindows(new int[64], 4, 0, 1))));
    }
}
