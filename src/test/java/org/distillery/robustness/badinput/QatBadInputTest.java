package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.formats.FloatFormat;
import org.distillery.model.Gpt;
import org.distillery.quant.Qat;
import org.distillery.quant.Quantizer;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** {@link Qat}: a float or missing quantizer, a group size that does not divide a layer, NaN/Inf weights, unknown names. */
class QatBadInputTest {
    private static CausalLmObjective task(Gpt gpt) {
        int[] tokens = new int[200];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 37 + 11) % 256;
        return new CausalLmObjective(TrainConfig.defaults(gpt.config()).withBatch(4, 16), tokens, null, gpt);
    }

    private static Gpt withWeight(String name, int index, float v) {
        Gpt g = tinyGpt();
        g.parameters().get(name).set(index, v);
        return g;
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        Quantizer q4 = Quantizer.perChannel(4, true);
        Qat ok = new Qat(task(tinyGpt()), q4, Qat.Ranges.REFIT);
        return BadInput.tests(List.of(
                iae("float quantizer", "quantizer: FP8_E5M2 is a float format; QAT needs an integer grid (2-8 bits)",
                        () -> new Qat(task(tinyGpt()), Quantizer.floating(FloatFormat.FP8_E5M2), Qat.Ranges.REFIT)),
                iae("no quantizer", "quantizer: must not be null", () -> new Qat(task(tinyGpt()), null, Qat.Ranges.REFIT)),
                iae("no ranges", "ranges: must not be null", () -> new Qat(task(tinyGpt()), q4, null)),
                iae("no objective", "inner: must not be null and must have a model", () -> new Qat(null, q4, Qat.Ranges.FIXED)),
                iae("group not dividing a layer", "h.0.attn.c_attn.weight: groupSize = 24 does not divide the input width 32; use"
                        + " a divisor of 32 (e.g. 16)", () -> new Qat(task(tinyGpt()), Quantizer.grouped(4, true, 24), Qat.Ranges.REFIT)),
                iae("NaN weight", "h.1.mlp.c_fc.weight: w[0, 5] = NaN is not finite: cannot quantize NaN/Inf weights",
                        () -> new Qat(task(withWeight("h.1.mlp.c_fc.weight", 5, Float.NaN)), q4, Qat.Ranges.REFIT)),
                iae("-Inf weight, fixed ranges", "h.0.attn.c_proj.weight: w[1, 0] = -Infinity is not finite: cannot quantize"
                        + " NaN/Inf weights", () -> new Qat(task(withWeight("h.0.attn.c_proj.weight", 32, Float.NEGATIVE_INFINITY)),
                        q4, Qat.Ranges.FIXED)),
                iae("mask of a bias", "name: h.0.attn.c_attn.bias is not a linear weight of the model [h.0.attn.c_attn.weight,"
                        + " h.0.attn.c_proj.weight, h.0.mlp.c_fc.weight, h.0.mlp.c_proj.weight, h.1.attn.c_attn.weight,"
                        + " h.1.attn.c_proj.weight, h.1.mlp.c_fc.weight, h.1.mlp.c_proj.weight]",
                        () -> ok.gradientMask("h.0.attn.c_attn.bias"))));
    }

    /** A refused model is left as it was: the check runs before any weight is replaced by its fake quantization. */
    @Test
    void aRefusedModelIsUntouched() {
        Gpt g = withWeight("h.1.mlp.c_proj.weight", 0, Float.POSITIVE_INFINITY);
        Map<String, float[]> before = new LinkedHashMap<>();
        g.parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
        assertThrows(IllegalArgumentException.class, () -> new Qat(task(g), Quantizer.perChannel(4, true), Qat.Ranges.REFIT));
        g.parameters().forEach((k, v) -> assertArrayEquals(before.get(k), v.toFloatArray(), k));
    }
}
