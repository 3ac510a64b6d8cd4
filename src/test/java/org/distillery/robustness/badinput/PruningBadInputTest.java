package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.ise;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;
import static org.distillery.robustness.badinput.BadInput.windows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.prune.InputNorms;
import org.distillery.prune.MagnitudePruning;
import org.distillery.prune.NmPattern;
import org.distillery.prune.SparseGpt;
import org.distillery.prune.Structure;
import org.distillery.prune.StructureImportance;
import org.distillery.prune.StructuredPruning;
import org.distillery.prune.Wanda;
import org.distillery.quant.GptqHessian;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The pruners, one factory each: {@link MagnitudePruning} (with N:M and AGP), {@link Wanda}, {@link SparseGpt},
 * {@link StructuredPruning}. Sparsities outside [0, 1), patterns that do not fit, NaN/Inf weights (refused before any
 * weight changes), wrong shapes, empty or too long calibration sets, unknown weight names, a singular Hessian.
 */
class PruningBadInputTest {
    private static Gpt withNaN(String name, int index) {
        Gpt g = tinyGpt();
        g.parameters().get(name).set(index, Float.NaN);
        return g;
    }

    @TestFactory
    Stream<DynamicTest> magnitude() {
        Gpt gpt = tinyGpt();
        Map<String, FloatTensor> p = gpt.parameters();
        List<String> names = List.of("h.0.attn.c_attn.weight", "h.1.mlp.c_fc.weight");
        return BadInput.tests(List.of(
                iae("sparsity 1", "sparsity 1.0 is out of range: accepted [0, 1)",
                        () -> MagnitudePruning.mask(p, names, 1.0, MagnitudePruning.Scope.LAYER)),
                iae("sparsity -0.1", "sparsity -0.1 is out of range: accepted [0, 1)",
                        () -> MagnitudePruning.mask(p, names, -0.1, MagnitudePruning.Scope.GLOBAL)),
                iae("sparsity NaN", "sparsity NaN is out of range: accepted [0, 1)",
                        () -> MagnitudePruning.prune(tinyGpt(), Double.NaN, MagnitudePruning.Scope.LAYER)),
                iae("no scope", "scope: must not be null", () -> MagnitudePruning.mask(p, names, 0.5, null)),
                iae("unknown weight", "parameters: no weight named h.2.mlp.c_fc.weight",
                        () -> MagnitudePruning.mask(p, List.of("h.2.mlp.c_fc.weight"), 0.5, MagnitudePruning.Scope.LAYER)),
                iae("a vector", "parameters: h.0.ln_1.weight has shape [32], not [out, in]",
                        () -> MagnitudePruning.mask(p, List.of("h.0.ln_1.weight"), 0.5, MagnitudePruning.Scope.GLOBAL)),
                iae("NaN weight", "h.1.mlp.c_fc.weight: weight [0, 7] = NaN is not finite: cannot prune NaN/Inf weights",
                        () -> MagnitudePruning.prune(withNaN("h.1.mlp.c_fc.weight", 7), 0.5, MagnitudePruning.Scope.GLOBAL)),
                iae("NaN weight, N:M", "h.0.attn.c_proj.weight: weight [1, 1] = NaN is not finite: cannot prune NaN/Inf weights",
                        () -> MagnitudePruning.prune(withNaN("h.0.attn.c_proj.weight", 33), NmPattern.TWO_FOUR)),
                iae("per-layer sparsity 2", "sparsity 2.0 is out of range: accepted [0, 1)",
                        () -> MagnitudePruning.mask(p, Map.of("h.0.attn.c_attn.weight", 2.0))),
                iae("pattern 4:4", "pattern 4:4: N = 4 must be in [1, M = 4) (N weights kept of every M, e.g. 2:4)",
                        () -> new NmPattern(4, 4)),
                iae("pattern 0:4", "pattern 0:4: N = 0 must be in [1, M = 4) (N weights kept of every M, e.g. 2:4)",
                        () -> new NmPattern(0, 4)),
                iae("pattern 1:1", "pattern 1:1: M = 1 must be >= 2 (e.g. 2:4)", () -> new NmPattern(1, 1)),
                iae("pattern 2-4", "pattern 2-4 is not N:M (e.g. 2:4)", () -> NmPattern.parse("2-4")),
                iae("pattern 2:x", "pattern 2:x is not N:M with integers N and M (e.g. 2:4)", () -> NmPattern.parse("2:x")),
                iae("M not dividing a width", "pattern 2:3: M = 3 does not divide the input width 32 of layer h.0.attn.c_attn.weight;"
                        + " M must divide every layer's input width", () -> MagnitudePruning.prune(tinyGpt(), new NmPattern(2, 3))),
                iae("AGP: final below initial", "finalSparsity 0.2 is below initialSparsity 0.5; AGP only raises the sparsity",
                        () -> new MagnitudePruning.Gradual(0.5, 0.2, 4, 0, MagnitudePruning.Scope.LAYER)),
                iae("AGP: 0 pruning steps", "pruningSteps 0 must be >= 1",
                        () -> new MagnitudePruning.Gradual(0, 0.5, 0, 0, MagnitudePruning.Scope.LAYER)),
                iae("AGP: negative fine-tuning steps", "finetuneSteps -1 must be >= 0",
                        () -> new MagnitudePruning.Gradual(0, 0.5, 4, -1, MagnitudePruning.Scope.LAYER)),
                iae("AGP: fine-tuning without data", "train, finetune: needed for fine-tuning steps",
                        () -> MagnitudePruning.gradual(tinyGpt(), null, null, new MagnitudePruning.Gradual(0, 0.5, 2, 3,
                                MagnitudePruning.Scope.LAYER))),
                iae("AGP: step outside [0, n]", "t: must be in [0, n = 4] but was 5", () -> MagnitudePruning.agpSparsity(5, 4, 0, 0.5)),
                iae("AGP: 0 steps", "n: pruning steps must be >= 1 but was 0", () -> MagnitudePruning.agpSparsity(0, 0, 0, 0.5))));
    }

    @TestFactory
    Stream<DynamicTest> wanda() {
        Gpt gpt = tinyGpt();
        Gpt dropout = tinyGpt();
        dropout.setDropout(0.1, 3);
        return BadInput.tests(List.of(
                iae("sparsity 1", "sparsity 1.0 is out of range: accepted [0, 1)", () -> Wanda.Options.unstructured(1)),
                iae("sparsity not the pattern's", "sparsity 0.25 does not match pattern 2:4 (sparsity 0.5)",
                        () -> new Wanda.Options(0.25, NmPattern.TWO_FOUR, false)),
                iae("no pattern", "pattern: must not be null", () -> Wanda.Options.nm(null)),
                iae("NaN weight, before any layer is pruned", "h.1.attn.c_proj.weight: weight [0, 0] = NaN is not finite: cannot"
                        + " prune NaN/Inf weights", () -> Wanda.prune(withNaN("h.1.attn.c_proj.weight", 0), windows(2, 16),
                        Wanda.Options.unstructured(0.5))),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> Wanda.prune(gpt, List.of(), Wanda.Options.unstructured(0.5))),
                iae("windows longer than the context", "windows: length 17 exceeds the model's maxT = 16",
                        () -> Wanda.prune(gpt, windows(1, 17), Wanda.Options.unstructured(0.5))),
                iae("dropout on", "model: dropout is on (p = 0.1); switch it off (setDropout(0, seed)) for calibration",
                        () -> Wanda.prune(dropout, windows(2, 16), Wanda.Options.unstructured(0.5))),
                iae("M not dividing a width", "pattern 3:6: M = 6 does not divide the input width 32 of layer h.0.attn.c_attn.weight;"
                        + " M must divide every layer's input width", () -> Wanda.prune(gpt, windows(2, 16), Wanda.Options.nm(new NmPattern(3, 6)))),
                iae("norms of the wrong length", "norms: need 4 input norms; got 3",
                        () -> Wanda.scores(new float[8], 2, 4, new double[3])),
                iae("weights of the wrong length", "w: need [2, 4] values", () -> Wanda.scores(new float[7], 2, 4, new double[4])),
                iae("NaN input norm", "norms: input norm NaN of column 2 is not finite and >= 0",
                        () -> Wanda.scores(new float[8], 2, 4, new double[] {1, 1, Double.NaN, 1})),
                iae("infinite weight in a layer", "w: non-finite weight Infinity at flat index 3",
                        () -> Wanda.scores(new float[] {0, 0, 0, Float.POSITIVE_INFINITY}, 1, 4, new double[4])),
                iae("no options", "options: must not be null", () -> Wanda.prune(gpt, windows(2, 16), null)),
                iae("norms of 0 features", "in: input width must be >= 1 but was 0", () -> new InputNorms(0)),
                ise("norms of no rows", "InputNorms: no calibration rows were added; the calibration set is empty",
                        () -> new InputNorms(4).norms())));
    }

    @TestFactory
    Stream<DynamicTest> sparseGpt() {
        Gpt gpt = tinyGpt();
        double[] ones = new double[16];
        java.util.Arrays.fill(ones, 1);
        return BadInput.tests(List.of(
                iae("sparsity 1", "sparsity 1.0 is out of range: accepted [0, 1)", () -> SparseGpt.Options.unstructured(1)),
                iae("percDamp < 0", "percDamp = -1.0 must be finite and >= 0 (default 0.01)",
                        () -> new SparseGpt.Options(0.5, null, -1, 128, false)),
                iae("block size 0", "blockSize = 0 must be >= 1 (default 128)", () -> new SparseGpt.Options(0.5, null, 0.01, 0, false)),
                iae("block size not a multiple of M", "blockSize = 6 is not a multiple of the pattern's M = 4",
                        () -> new SparseGpt.Options(0.5, NmPattern.TWO_FOUR, 0.01, 6, false)),
                iae("NaN weight in a layer", "w: non-finite weight NaN at flat index 1",
                        () -> SparseGpt.pruneLayer(new float[] {0, Float.NaN, 0, 0, 0, 0, 0, 0}, 2, 4, new double[16],
                                SparseGpt.Options.unstructured(0.5))),
                iae("Hessian of the wrong size", "hessian: need [4, 4] values for in = 4",
                        () -> SparseGpt.pruneLayer(new float[8], 2, 4, new double[15], SparseGpt.Options.unstructured(0.5))),
                iae("weights of the wrong length", "w: need [2, 4] values (rows, cols >= 1)",
                        () -> SparseGpt.pruneLayer(new float[9], 2, 4, new double[16], SparseGpt.Options.unstructured(0.5))),
                ise("singular Hessian without dampening", "SparseGPT: the Hessian [4, 4] is not positive definite after dampening"
                        + " (percDamp = 0.0, pivot 0.0 near input column 2); use more calibration data or a larger percDamp",
                        () -> SparseGpt.pruneLayer(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 4, ones,
                                new SparseGpt.Options(0.5, null, 0, 128, false))),
                iae("tensor of rank 3", "w: shape [2, 2, 2] is not [out, in]",
                        () -> SparseGpt.pruneLayer(FloatTensor.zeros(2, 2, 2), new GptqHessian(2), SparseGpt.Options.unstructured(0.5))),
                iae("NaN weight in the model", "h.0.mlp.c_proj.weight: weight [0, 3] = NaN is not finite: cannot prune NaN/Inf"
                        + " weights", () -> SparseGpt.prune(withNaN("h.0.mlp.c_proj.weight", 3), windows(2, 16),
                        SparseGpt.Options.unstructured(0.5))),
                iae("empty calibration set", "windows: the calibration set is empty; need at least one window of tokens",
                        () -> SparseGpt.prune(gpt, List.of(), SparseGpt.Options.unstructured(0.5))),
                iae("ragged windows", "windows: window 1 has 15 tokens but window 0 has 16; every window needs the same length",
                        () -> SparseGpt.prune(gpt, List.of(windows(1, 16).get(0), windows(1, 15).get(0)),
                                SparseGpt.Options.unstructured(0.5))),
                iae("no model", "model: must not be null", () -> SparseGpt.prune(null, windows(2, 16), SparseGpt.Options.unstructured(0.5)))));
    }

    @TestFactory
    Stream<DynamicTest> structured() {
        Gpt gpt = tinyGpt();
        double[][] two = {{0.1, 0.2}, {0.3, 0.4}};
        return BadInput.tests(List.of(
                iae("sparsity 1", "sparsity 1.0 is out of range: accepted [0, 1)", () -> StructuredPruning.prune(gpt, Structure.HEAD,
                        StructureImportance.Criterion.WEIGHT_NORM, 1, MagnitudePruning.Scope.LAYER, windows(1, 16))),
                iae("every head of a layer", "sparsity 0.9 removes round(0.9 x 2) = 2 of the 2 heads of layer 0; at least one must"
                        + " remain (use a sparsity below 0.750)",
                        () -> StructuredPruning.select(two, 0.9, MagnitudePruning.Scope.LAYER, Structure.HEAD)),
                iae("every layer", "sparsity 0.8 removes all 2 layers; at least one must remain (use a sparsity below 0.750)",
                        () -> StructuredPruning.select(new double[][] {{1}, {2}}, 0.8, MagnitudePruning.Scope.GLOBAL, Structure.LAYER)),
                iae("no scores", "scores, scope, structure: must not be null",
                        () -> StructuredPruning.select(null, 0.5, MagnitudePruning.Scope.LAYER, Structure.HEAD)),
                iae("a head index twice", "heads: index 1 of layer 0 is not a distinct index in [0, 2)",
                        () -> StructuredPruning.removeHeads(gpt, new int[][] {{1, 1}, {}})),
                iae("a head index outside the layer", "heads: index 2 of layer 1 is not a distinct index in [0, 2)",
                        () -> StructuredPruning.removeHeads(gpt, new int[][] {{}, {2}})),
                iae("index lists for 1 of 2 layers", "heads: need one index list per layer (2)",
                        () -> StructuredPruning.removeHeads(gpt, new int[][] {{0}})),
                iae("all heads of a layer", "heads: removing all 2 heads of layer 0; at least one must remain",
                        () -> StructuredPruning.removeHeads(gpt, new int[][] {{0, 1}, {}})),
                iae("all layers", "layers: removing all 2 layers; at least one must remain",
                        () -> StructuredPruning.removeLayers(gpt, new int[] {0, 1})),
                iae("NaN weight", "h.1.attn.c_attn.weight: weight [0, 2] = NaN is not finite: cannot prune NaN/Inf weights",
                        () -> StructuredPruning.prune(withNaN("h.1.attn.c_attn.weight", 2), Structure.NEURON,
                                StructureImportance.Criterion.WEIGHT_NORM, 0.5, MagnitudePruning.Scope.LAYER, windows(1, 16))),
                iae("no criterion", "model, structure, criterion: must not be null", () -> StructuredPruning.prune(gpt,
                        Structure.HEAD, null, 0.5, MagnitudePruning.Scope.LAYER, windows(1, 16)))));
    }

    /** A model the magnitude pruner refuses keeps every weight (the check runs before any layer is pruned). */
    @Test
    void aRefusedModelIsUntouched() {
        Gpt g = withNaN("h.1.mlp.c_proj.weight", 100);
        Map<String, float[]> before = new LinkedHashMap<>();
        g.parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
        assertThrows(IllegalArgumentException.class, () -> MagnitudePruning.prune(g, 0.5, MagnitudePruning.Scope.LAYER));
        assertThrows(IllegalArgumentException.class, () -> Wanda.prune(g, windows(2, 16), Wanda.Options.unstructured(0.5)));
        g.parameters().forEach((k, v) -> assertArrayEquals(before.get(k), v.toFloatArray(), k));
    }
}
