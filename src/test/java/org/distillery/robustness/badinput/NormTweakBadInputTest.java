package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.distillery.robustness.badinput.BadInput.windows;

import java.util.List;
import java.util.stream.Stream;
import org.distillery.model.Gpt;
import org.distillery.quant.BlockQuantizer;
import org.distillery.quant.NormTweak;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** {@link NormTweak}: learning rates, epochs, batch sizes and Adam settings out of range; bad calibration sets. */
class NormTweakBadInputTest {
    @TestFactory
    Stream<DynamicTest> badInput() {
        NormTweak.Options opt = NormTweak.Options.of(1e-5, 5, 1, 4);
        BlockQuantizer none = (model, block, pass) -> List.of();
        Gpt gpt = tinyGpt();
        Gpt dropout = tinyGpt();
        dropout.setDropout(0.2, 1);
        return BadInput.tests(List.of(
                iae("lr < 0", "lr = -1.0 must be finite and >= 0", () -> opt.withLr(-1)),
                iae("lr NaN", "lr = NaN must be finite and >= 0", () -> opt.withLr(Double.NaN)),
                iae("lr Inf", "lr = Infinity must be finite and >= 0", () -> opt.withLr(Double.POSITIVE_INFINITY)),
                iae("lr scale < 0", "lrScale = -5.0 must be finite and >= 0", () -> NormTweak.Options.of(1e-5, -5, 1, 4)),
                iae("epochs < 0", "epochs = -1 must be >= 0", () -> opt.withEpochs(-1)),
                iae("batch size 0", "batchSize = 0 must be >= 1", () -> NormTweak.Options.of(1e-5, 5, 1, 0)),
                iae("no loss", "loss: must not be null", () -> opt.withLoss(null)),
                iae("Adam beta1 = 1", "Adam: need beta1, beta2 in [0, 1) and eps > 0; got 1.0, 0.999, 1.0E-8",
                        () -> new NormTweak.Options(1e-5, 5, 1, 4, NormTweak.Loss.DIST, 1, 0.999, 1e-8)),
                iae("Adam eps 0", "Adam: need beta1, beta2 in [0, 1) and eps > 0; got 0.9, 0.999, 0.0",
                        () -> new NormTweak.Options(1e-5, 5, 1, 4, NormTweak.Loss.DIST, 0.9, 0.999, 0)),
                iae("batch size above maxB", "batchSize = 5 exceeds the model's maxB = 4",
                        () -> NormTweak.apply(gpt, windows(2, 16), none, NormTweak.Options.of(1e-5, 5, 1, 5))),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> NormTweak.apply(gpt, List.of(), none, opt)),
                iae("windows longer than the context", "windows: length 32 exceeds the model's maxT = 16",
                        () -> NormTweak.apply(gpt, windows(1, 32), none, opt)),
                iae("dropout on", "model: dropout is on (p = 0.2); switch it off (setDropout(0, seed)) for calibration",
                        () -> NormTweak.apply(dropout, windows(2, 16), none, opt)),
                iae("no block quantizer", "model, quantizer, options: must not be null",
                        () -> NormTweak.apply(gpt, windows(2, 16), null, opt)),
                iae("distance of 0 rows", "n = 0, c = 4: need at least one row and channel",
                        () -> NormTweak.distance(new double[0], new double[0], 0, 4, null)),
                iae("distance of mismatched arrays", "yq, yf, grad: need 8 = 2 x 4 values each",
                        () -> NormTweak.distance(new double[8], new double[7], 2, 4, null))));
    }
}
