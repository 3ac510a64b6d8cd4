package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.ise;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.distillery.robustness.badinput.BadInput.windows;

import java.util.List;
import java.util.stream.Stream;
import org.distillery.model.Gpt;
import org.distillery.quant.ActivationQuantizer;
import org.distillery.quant.Quantizer;
import org.distillery.quant.SmoothQuant;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link SmoothQuant} and {@link ActivationQuantizer}: alpha and bits out of range, unknown granularity, NaN/Inf or
 * missing ranges, mismatched channel arrays, a model of another depth or with a hook already installed.
 */
class SmoothQuantBadInputTest {
    @TestFactory
    Stream<DynamicTest> badInput() {
        SmoothQuant.Options opt = SmoothQuant.Options.defaults(4);
        Gpt gpt = tinyGpt();
        Gpt hooked = tinyGpt();
        ActivationQuantizer.perToken(8, 2).install(hooked);
        float[][] ranges = {{1, 1, 1, 1}, {1, 1, 1, 1}};
        return BadInput.tests(List.of(
                iae("alpha 1.2", "alpha = 1.2 is out of range: accepted 0 to 1 (the paper: 0.5)", () -> opt.withAlpha(1.2)),
                iae("alpha NaN", "alpha = NaN is out of range: accepted 0 to 1 (the paper: 0.5)", () -> opt.withAlpha(Double.NaN)),
                iae("activation bits 1", "actBits = 1 is out of range: accepted 2 to 8",
                        () -> opt.withActivations(ActivationQuantizer.Granularity.PER_TOKEN, 1)),
                iae("activation bits 16", "actBits = 16 is out of range: accepted 2 to 8",
                        () -> opt.withActivations(ActivationQuantizer.Granularity.PER_TENSOR, 16)),
                iae("no activation granularity", "activations: must not be null", () -> opt.withActivations(null, 8)),
                iae("no weight quantizer", "weights: must not be null", () -> opt.withWeights(null)),
                iae("batch size 0", "batchSize = 0 must be >= 1", () -> SmoothQuant.Options.defaults(0)),
                iae("channel maxima of different lengths", "actMax, weightMax: need two arrays of the same length (one value per"
                        + " input channel)", () -> SmoothQuant.scales(new float[3], new float[4], 0.5)),
                iae("weight group not dividing a width", "groupSize = 24 does not divide the input width 32; use a divisor of 32"
                        + " (e.g. 16)", () -> SmoothQuant.apply(gpt, windows(2, 16), opt.withWeights(Quantizer.grouped(8, true, 24)))),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> SmoothQuant.apply(gpt, List.of(), opt)),
                iae("a hook already installed", "model: already has a linear-input hook (activation quantization?); remove it with"
                        + " setLinearInputHook(null) first", () -> SmoothQuant.apply(hooked, windows(2, 16), opt)),
                iae("no model", "model, options: must not be null", () -> SmoothQuant.apply(null, windows(2, 16), opt)),
                iae("unknown granularity", "activation granularity per-row is not accepted: use per-token or per-tensor",
                        () -> ActivationQuantizer.Granularity.ofLabel("per-row")),
                iae("activation bits 9", "bits = 9 is out of range: accepted 2 to 8", () -> ActivationQuantizer.perToken(9, 2)),
                iae("0 layers", "layers = 0 must be >= 1", () -> ActivationQuantizer.perToken(8, 0)),
                iae("no ranges", "ranges: need one row of 4 per block", () -> ActivationQuantizer.perTensor(8, new float[0][])),
                iae("a row of 3 ranges", "ranges[1]: need 4 values (c_attn, attn.c_proj, c_fc, mlp.c_proj)",
                        () -> ActivationQuantizer.perTensor(8, new float[][] {{1, 1, 1, 1}, {1, 1, 1}})),
                iae("NaN range", "ranges[0][2] = NaN must be finite and >= 0",
                        () -> ActivationQuantizer.perTensor(8, new float[][] {{1, 1, Float.NaN, 1}})),
                iae("infinite range", "ranges[0][0] = Infinity must be finite and >= 0",
                        () -> ActivationQuantizer.perTensor(8, new float[][] {{Float.POSITIVE_INFINITY, 1, 1, 1}})),
                iae("negative range", "ranges[0][3] = -1.0 must be finite and >= 0",
                        () -> ActivationQuantizer.perTensor(8, new float[][] {{1, 1, 1, -1}})),
                iae("a model of another depth", "model: has 2 blocks but this quantizer was made for 3",
                        () -> ActivationQuantizer.perToken(8, 3).install(gpt)),
                iae("block outside the model", "block 2 is outside [0, 2)", () -> ActivationQuantizer.perToken(8, 2).setActive(2, false)),
                iae("range of a block outside the model", "block -1 is outside [0, 2)",
                        () -> ActivationQuantizer.perTensor(8, ranges).range(-1, 0)),
                iae("range of a fifth linear layer", "linear 4 is outside [0, 4) (c_attn, attn.c_proj, c_fc, mlp.c_proj)",
                        () -> ActivationQuantizer.perTensor(8, ranges).range(0, 4)),
                ise("range of a per-token quantizer", "range: a per-token quantizer has no calibrated ranges",
                        () -> ActivationQuantizer.perToken(8, 2).range(0, 0)),
                iae("calibration bits 1", "bits = 1 is out of range: accepted 2 to 8",
                        () -> ActivationQuantizer.calibrate(gpt, windows(2, 16), 1, 4))));
    }
}
