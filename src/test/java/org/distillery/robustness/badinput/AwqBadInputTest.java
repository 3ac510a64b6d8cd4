package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.distillery.robustness.badinput.BadInput.windows;

import java.util.List;
import java.util.stream.Stream;
import org.distillery.model.Gpt;
import org.distillery.quant.Awq;
import org.distillery.quant.Quantizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** {@link Awq}: bad options, a group size that does not divide a layer's width, empty or ragged calibration sets, dropout. */
class AwqBadInputTest {
    @TestFactory
    Stream<DynamicTest> badInput() {
        Quantizer q4 = Quantizer.grouped(4, false, 16);
        Gpt gpt = tinyGpt();
        Gpt dropout = tinyGpt();
        dropout.setDropout(0.1, 1);
        Awq.Options opt = Awq.Options.defaults(4);
        return BadInput.tests(List.of(
                iae("grid 0", "grid = 0 must be >= 1", () -> new Awq.Options(0, 4, true, Double.NaN)),
                iae("batch size 0", "batchSize = 0 must be >= 1", () -> Awq.Options.defaults(0)),
                iae("alpha 1.5", "alpha = 1.5 is out of range: accepted 0 to 1 (or NaN: grid search)",
                        () -> new Awq.Options(20, 4, true, 1.5)),
                iae("alpha -0.1", "alpha = -0.1 is out of range: accepted 0 to 1 (or NaN: grid search)",
                        () -> new Awq.Options(20, 4, true, -0.1)),
                iae("alpha +Inf", "alpha = Infinity is out of range: accepted 0 to 1 (or NaN: grid search)",
                        () -> new Awq.Options(20, 4, true, Double.POSITIVE_INFINITY)),
                iae("batch size above maxB", "batchSize = 8 exceeds the model's maxB = 4",
                        () -> Awq.apply(gpt, windows(2, 16), q4, Awq.Options.defaults(8))),
                iae("group not dividing n_embd", "groupSize = 24 does not divide the input width 32; use a divisor of 32 (e.g. 16)",
                        () -> Awq.apply(gpt, windows(2, 16), Quantizer.grouped(4, false, 24), opt)),
                iae("group not dividing the MLP width", "groupSize = 48 does not divide the input width 32; use a divisor of 32"
                        + " (e.g. 32)", () -> Awq.apply(gpt, windows(2, 16), Quantizer.grouped(4, false, 48), opt)),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> Awq.apply(gpt, List.of(), q4, opt)),
                iae("windows longer than the context", "windows: length 20 exceeds the model's maxT = 16",
                        () -> Awq.apply(gpt, windows(2, 20), q4, opt)),
                iae("dropout on", "model: dropout is on (p = 0.1); switch it off (setDropout(0, seed)) for calibration",
                        () -> Awq.apply(dropout, windows(2, 16), q4, opt)),
                iae("no quantizer", "model, quantizer, options: must not be null", () -> Awq.apply(gpt, windows(2, 16), null, opt)),
                iae("no quantizer for the block quantizer", "quantizer: must not be null",
                        () -> Awq.blockQuantizer(null, 20, List.of()))));
    }
}
