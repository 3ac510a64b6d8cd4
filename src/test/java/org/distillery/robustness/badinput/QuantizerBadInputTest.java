package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.ise;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.FloatFormat;
import org.distillery.quant.Quantizer;
import org.distillery.quant.Rtn;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** {@link Quantizer} and {@link Rtn}: bits outside 2-8, bad group sizes, wrong shapes, NaN/Inf and unknown names. */
class QuantizerBadInputTest {
    private static float[] ramp(int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (i % 7 - 3) * 0.1f;
        return w;
    }

    private static float[] with(float[] w, int i, float v) {
        w[i] = v;
        return w;
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        Quantizer int4 = Quantizer.perChannel(4, true);
        Map<String, FloatTensor> params = new LinkedHashMap<>();
        params.put("a.weight", FloatTensor.of(new double[] {0.1, -0.2, 0.3, 0.4, 0.5, -0.6}, 2, 3));
        params.put("a.bias", FloatTensor.of(new double[] {0.1, 0.2}, 2));
        params.put("nan.weight", FloatTensor.of(new double[] {0.1, Double.NaN, 0.3, 0.4}, 2, 2));
        return BadInput.tests(List.of(
                iae("bits 1", "bits = 1 is out of range: accepted 2 to 8 for integer quantization (use a FloatFormat for 16-bit"
                        + " FP16/BF16 or FP8)", () -> Quantizer.perChannel(1, true)),
                iae("bits 9", "bits = 9 is out of range: accepted 2 to 8 for integer quantization (use a FloatFormat for 16-bit"
                        + " FP16/BF16 or FP8)", () -> Quantizer.grouped(9, false, 32)),
                iae("bits 0", "bits = 0 is out of range: accepted 2 to 8 for integer quantization (use a FloatFormat for 16-bit"
                        + " FP16/BF16 or FP8)", () -> Quantizer.perTensor(0, true)),
                iae("bits -4", "bits = -4 is out of range: accepted 2 to 8 for integer quantization (use a FloatFormat for 16-bit"
                        + " FP16/BF16 or FP8)", () -> Quantizer.perTensor(-4, true)),
                iae("group size 0", "groupSize = 0 must be >= 1 for group-wise quantization", () -> Quantizer.grouped(4, true, 0)),
                iae("group size -32", "groupSize = -32 must be >= 1 for group-wise quantization",
                        () -> Quantizer.grouped(4, true, -32)),
                iae("group size without GROUP", "groupSize = 8 is only accepted with Granularity.GROUP (granularity is"
                        + " PER_CHANNEL); use 0",
                        () -> new Quantizer(4, true, Quantizer.Granularity.PER_CHANNEL, 8, false, null)),
                iae("null granularity", "granularity: must not be null", () -> new Quantizer(4, true, null, 0, false, null)),
                iae("group not dividing the width", "groupSize = 24 does not divide the input width 32; use a divisor of 32"
                        + " (e.g. 16)", () -> Quantizer.grouped(4, true, 24).quantize(ramp(64), 2, 32)),
                iae("group wider than the row", "groupSize = 64 does not divide the input width 32; use a divisor of 32 (e.g. 32)",
                        () -> Quantizer.grouped(4, true, 64).quantize(ramp(64), 2, 32)),
                iae("NaN weight", "w[1, 2] = NaN is not finite: cannot quantize NaN/Inf weights",
                        () -> int4.quantize(with(ramp(8), 6, Float.NaN), 2, 4)),
                iae("+Inf weight", "w[0, 0] = Infinity is not finite: cannot quantize NaN/Inf weights",
                        () -> Quantizer.grouped(8, false, 2).quantize(with(ramp(8), 0, Float.POSITIVE_INFINITY), 2, 4)),
                iae("-Inf weight per tensor", "w[1, 3] = -Infinity is not finite: cannot quantize NaN/Inf weights",
                        () -> Quantizer.perTensor(3, false).quantize(with(ramp(8), 7, Float.NEGATIVE_INFINITY), 2, 4)),
                iae("length not rows x cols", "w: length 7 but shape [2, 4] has 8 elements", () -> int4.quantize(ramp(7), 2, 4)),
                iae("zero rows", "shape [0, 4]: dimensions must be >= 1", () -> int4.quantize(new float[0], 0, 4)),
                iae("negative cols", "shape [2, -4]: dimensions must be >= 1", () -> int4.quantize(ramp(8), 2, -4)),
                iae("null weights", "w: must not be null", () -> int4.quantize((float[]) null, 2, 4)),
                iae("rank-3 tensor", "w: shape [2, 2, 2] is not a matrix [out, in]",
                        () -> int4.quantize(FloatTensor.zeros(2, 2, 2))),
                iae("rank-1 tensor", "w: shape [8] is not a matrix [out, in]", () -> int4.quantize(FloatTensor.zeros(8))),
                iae("null float format", "format: must not be null", () -> Quantizer.floating(null)),
                iae("clip search on a float format", "clipSearch: not available with a float format (FP8_E4M3)",
                        () -> Quantizer.floating(FloatFormat.FP8_E4M3).withClipSearch(true)),
                iae("fp16 scales on a float format", "fp16Scales: not available with a float format (FP16)",
                        () -> Quantizer.floating(FloatFormat.FP16).withFp16Scales(true)),
                iae("fp16 scale overflow", "scale 7.8740157E34 overflows fp16 (accepted: |scale| <= 65504): the weights are too"
                        + " large for fp16 scales",
                        () -> Quantizer.perChannel(8, true).withFp16Scales(true).quantize(new float[] {1e37f, 1}, 1, 2)),
                ise("fitBlock on a float format", "fitBlock: a float format (BF16) has no parameters",
                        () -> Quantizer.floating(FloatFormat.BF16).fitBlock(ramp(4), 0, 4, 1, 1, 4)),
                iae("Rtn: unknown name", "names: no parameter b.weight",
                        () -> Rtn.quantizeCopy(params, List.of("a.weight", "b.weight"), int4)),
                iae("Rtn: a vector", "a.bias: shape [2] is not [out, in]", () -> Rtn.quantizeCopy(params, List.of("a.bias"), int4)),
                iae("Rtn: NaN weight names the tensor", "nan.weight: w[0, 1] = NaN is not finite: cannot quantize NaN/Inf weights",
                        () -> Rtn.quantizeCopy(params, List.of("a.weight", "nan.weight"), int4)),
                iae("Rtn: group not dividing the width", "a.weight: groupSize = 2 does not divide the input width 3; use a divisor"
                        + " of 3 (e.g. 1)", () -> Rtn.quantizeCopy(params, List.of("a.weight"), Quantizer.grouped(4, true, 2))),
                iae("Rtn: no quantizer", "quantizer: must not be null", () -> Rtn.quantizeCopy(params, List.of("a.weight"), null)),
                iae("Rtn: no parameters", "parameters: must not be null", () -> Rtn.quantizeCopy(null, List.of("a.weight"), int4)),
                iae("Rtn: no names", "names: must not be null", () -> Rtn.quantizeCopy(params, null, int4)),
                iae("Rtn: no model", "model: must not be null", () -> Rtn.quantizeCopy(null, int4))));
    }
}
