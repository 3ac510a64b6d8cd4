package org.distillery.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.model.Gpt;

/**
 * One post-training quantization method applied to every linear layer of a {@link Gpt}, by name: the dispatch that
 * {@code ./lab quantize} and the quantization sweep share.
 *
 * <ul>
 *   <li>{@code rtn}: {@link Rtn} (no calibration);</li>
 *   <li>{@code gptq}: {@link Gptq#quantize} block by block on the calibration windows;</li>
 *   <li>{@code smoothquant}: {@link SmoothQuant#apply}, W8A8 (installs an {@link ActivationQuantizer} on the model);</li>
 *   <li>{@code awq}: {@link Awq#apply} (alpha searched on a grid of 20, or fixed);</li>
 *   <li>{@code normtweak+B} for B in rtn, gptq, smoothquant, awq: {@link NormTweak#apply} with B as the block
 *       quantizer; {@code normtweak} alone is {@code normtweak+gptq} (the paper's main setting).</li>
 * </ul>
 *
 * @param id        the method as parsed ({@code normtweak} is stored as {@code normtweak+gptq})
 * @param base      the weight quantizer: rtn, gptq, smoothquant or awq
 * @param normTweak whether Norm Tweaking runs on top
 */
public record QuantizationMethod(String id, String base, boolean normTweak) {
    /** Every accepted method name. */
    public static final List<String> IDS = List.of("rtn", "gptq", "smoothquant", "awq", "normtweak", "normtweak+rtn",
            "normtweak+gptq", "normtweak+smoothquant", "normtweak+awq");

    /**
     * Everything the methods need besides the model and the calibration windows (each method reads its part).
     *
     * @param quantizer      the weight grid
     * @param gptq           GPTQ's options (its quantizer must be {@code quantizer})
     * @param trueSequential GPTQ: quantize the four linear layers of a block one after the other
     * @param smoothQuant    SmoothQuant's options (alpha, activation quantization; weights: {@code quantizer})
     * @param awqAlpha       AWQ's alpha, or NaN to search it
     * @param normTweak      Norm Tweaking's options
     * @param batchSize      windows per forward pass
     */
    public record Settings(Quantizer quantizer, Gptq.Options gptq, boolean trueSequential, SmoothQuant.Options smoothQuant,
                           double awqAlpha, NormTweak.Options normTweak, int batchSize) {
        public Settings {
            if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
        }

        /**
         * The defaults around a quantizer: GPTQ with dampening 0.01, block 128, no act-order; SmoothQuant alpha 0.5
         * with per-token 8-bit activations; AWQ's alpha searched; Norm Tweaking lr 1e-2 growing x (1 + l / L),
         * one epoch.
         */
        public static Settings defaults(Quantizer quantizer, int batchSize) {
            return new Settings(quantizer, Gptq.Options.defaults(quantizer), false,
                    SmoothQuant.Options.defaults(batchSize).withWeights(quantizer), Double.NaN,
                    NormTweak.Options.of(1e-2, 1.0, 1, batchSize), batchSize);
        }

        public Settings withNormTweak(NormTweak.Options o) {
            return new Settings(quantizer, gptq, trueSequential, smoothQuant, awqAlpha, o, batchSize);
        }

        public Settings withGptq(Gptq.Options o, boolean sequential) {
            return new Settings(quantizer, o, sequential, smoothQuant, awqAlpha, normTweak, batchSize);
        }

        public Settings withSmoothQuant(SmoothQuant.Options o) {
            return new Settings(quantizer, gptq, trueSequential, o, awqAlpha, normTweak, batchSize);
        }

        public Settings withAwqAlpha(double alpha) {
            return new Settings(quantizer, gptq, trueSequential, smoothQuant, alpha, normTweak, batchSize);
        }
    }

    /**
     * What a method did.
     *
     * @param layers     one report per linear layer
     * @param tensors    the quantized tensors by parameter name (the model holds their dequantized values)
     * @param smoothing  SmoothQuant's per-layer smoothing, or empty
     * @param awqScales  AWQ's per-layer scales, or empty
     * @param normTweak  Norm Tweaking's per-block report, or null
     */
    public record Result(List<LayerReport> layers, Map<String, QuantizedTensor> tensors,
                         List<SmoothQuant.LayerSmoothing> smoothing, List<Awq.LayerScale> awqScales, NormTweak.Result normTweak) {}

    /**
     * Parses a method name (case-insensitive).
     *
     * @param argument how the caller names the value in the error, e.g. {@code --method}
     * @throws IllegalArgumentException naming the value and the accepted names
     */
    public static QuantizationMethod parse(String method, String argument) {
        String m = method == null ? "" : method.toLowerCase(Locale.ROOT);
        if (!IDS.contains(m)) {
            throw new IllegalArgumentException(argument + " " + method + " is not accepted: use "
                    + String.join(", ", IDS.subList(0, IDS.size() - 1)) + " or " + IDS.get(IDS.size() - 1));
        }
        if (m.equals("normtweak")) m = "normtweak+gptq";
        boolean nt = m.startsWith("normtweak+");
        return new QuantizationMethod(m, nt ? m.substring("normtweak+".length()) : m, nt);
    }

    public boolean gptq() { return base.equals("gptq"); }

    public boolean smooth() { return base.equals("smoothquant"); }

    public boolean awq() { return base.equals("awq"); }

    /** Whether the method needs calibration windows (all but plain RTN). */
    public boolean calibrated() { return !base.equals("rtn") || normTweak; }

    /**
     * Quantizes {@code gpt} in place (its linear weights become the dequantized values; SmoothQuant also folds
     * scales into the LayerNorms and installs activation quantization; Norm Tweaking changes the LayerNorms).
     *
     * @param calibration windows of token ids (ignored by plain RTN; required by the others)
     * @throws IllegalStateException from GPTQ when a Hessian stays singular after dampening
     */
    public Result apply(Gpt gpt, List<int[]> calibration, Settings s) {
        if (gpt == null) throw new IllegalArgumentException("gpt: must not be null");
        if (s == null) throw new IllegalArgumentException("settings: must not be null");
        if (calibrated() && (calibration == null || calibration.isEmpty())) {
            throw new IllegalArgumentException("calibration: " + id + " needs calibration windows; the set is empty");
        }
        Map<String, QuantizedTensor> tensors = new LinkedHashMap<>();
        List<SmoothQuant.LayerSmoothing> smoothing = new ArrayList<>();
        List<Awq.LayerScale> scales = new ArrayList<>();
        if (normTweak) {
            BlockQuantizer bq;
            if (gptq()) {
                bq = BlockQuantizer.gptq(s.gptq(), s.trueSequential(), tensors);
            } else if (awq()) {
                bq = Awq.blockQuantizer(s.quantizer(), 20, s.awqAlpha(), scales, tensors);
            } else if (smooth()) {
                smoothing.addAll(SmoothQuant.smooth(gpt, calibration, s.smoothQuant().alpha(), s.batchSize()));
                ActivationQuantizer aq = SmoothQuant.activationQuantizer(gpt, calibration, s.smoothQuant()).setAllActive(false)
                        .install(gpt);
                bq = SmoothQuant.blockQuantizer(s.quantizer(), aq, tensors);
            } else {
                bq = BlockQuantizer.rtn(s.quantizer(), tensors);
            }
            NormTweak.Result r = NormTweak.apply(gpt, calibration, bq, s.normTweak());
            return new Result(r.layers(), tensors, smoothing, scales, r);
        }
        List<LayerReport> layers;
        if (gptq()) {
            layers = Gptq.quantize(gpt, calibration, s.gptq(), s.trueSequential(), tensors);
        } else if (smooth()) {
            SmoothQuant.Result r = SmoothQuant.apply(gpt, calibration, s.smoothQuant());
            tensors.putAll(r.tensors());
            smoothing.addAll(r.smoothing());
            layers = r.layers();
        } else if (awq()) {
            Awq.Result r = Awq.apply(gpt, calibration, s.quantizer(), Awq.Options.defaults(s.batchSize()).withAlpha(s.awqAlpha()),
                    tensors);
            scales.addAll(r.scales());
            layers = r.layers();
        } else {
            Rtn.Result r = Rtn.quantizeCopy(gpt, s.quantizer());
            for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
                e.getValue().dequantizeInto(gpt.parameters().get(e.getKey()));
            }
            tensors.putAll(r.tensors());
            layers = r.layers();
        }
        return new Result(layers, tensors, smoothing, scales, null);
    }
}
