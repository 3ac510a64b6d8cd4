package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantizes the linear weights of one transformer block of a {@link Gpt} in place, for block-wise drivers
 * such as {@link NormTweak}: the block's four linear weights ({@code h.l.attn.c_attn}, {@code h.l.attn.c_proj},
 * {@code h.l.mlp.c_fc}, {@code h.l.mlp.c_proj}) are replaced by their dequantized values; biases, LayerNorms
 * and the other blocks are not touched.
 */
@FunctionalInterface
public interface BlockQuantizer {

    /**
     * Runs block l over the calibration inputs the driver holds for it (the outputs of the already quantized
     * blocks 0..l-1), one {@link Gpt#forwardBlock} per batch in training mode; after each forward it calls
     * {@code afterForward}, during which {@link Gpt#linearInput} gives the inputs of block l's linear layers.
     */
    @FunctionalInterface
    interface CalibrationPass {
        void forEachBatch(Runnable afterForward);
    }

    /**
     * Quantizes block {@code block} of {@code model} in place.
     *
     * @param pass runs the block over the calibration inputs (data-free methods such as RTN ignore it)
     * @return one report row per quantized layer, in order
     */
    List<LayerReport> quantizeBlock(Gpt model, int block, CalibrationPass pass);

    /** The linear weights of block l, in the order of the model's parameters. */
    static List<String> linearNames(int block) {
        String h = "h." + block + ".";
        return List.of(h + "attn.c_attn.weight", h + "attn.c_proj.weight", h + "mlp.c_fc.weight", h + "mlp.c_proj.weight");
    }

    /** Round-to-nearest ({@link Rtn}) of the block's linear weights; no calibration data. */
    static BlockQuantizer rtn(Quantizer quantizer) {
        return rtn(quantizer, null);
    }

    /** As {@link #rtn(Quantizer)}, also putting each layer's codes and parameters into {@code tensors} unless null. */
    static BlockQuantizer rtn(Quantizer quantizer, Map<String, QuantizedTensor> tensors) {
        if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
        return (model, block, pass) -> {
            Rtn.Result r = Rtn.quantizeCopy(model.parameters(), linearNames(block), quantizer);
            for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
                e.getValue().dequantizeInto(model.parameters().get(e.getKey()));
            }
            if (tensors != null) tensors.putAll(r.tensors());
            return r.layers();
        };
    }

    /**
     * {@link Gptq} on the block's linear weights with Hessians from the calibration pass; with
     * {@code trueSequential} the four layers one after the other (each with inputs from the partly quantized
     * block, one pass each), else all four from one pass, as {@link Gptq#quantize(Gpt, List, Gptq.Options, boolean)}.
     */
    static BlockQuantizer gptq(Gptq.Options options, boolean trueSequential) {
        return gptq(options, trueSequential, null);
    }

    /** As {@link #gptq(Gptq.Options, boolean)}, also putting each layer's codes and parameters into {@code tensors} unless null. */
    static BlockQuantizer gptq(Gptq.Options options, boolean trueSequential, Map<String, QuantizedTensor> tensors) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        return (model, block, pass) -> {
            List<List<String>> stages = new ArrayList<>();
            if (trueSequential) for (String n : linearNames(block)) stages.add(List.of(n));
            else stages.add(linearNames(block));
            List<LayerReport> report = new ArrayList<>();
            for (List<String> stage : stages) {
                Map<String, GptqHessian> hs = new LinkedHashMap<>();
                for (String n : stage) hs.put(n, new GptqHessian(model.parameters().get(n).dim(1)));
                pass.forEachBatch(() -> {
                    for (Map.Entry<String, GptqHessian> e : hs.entrySet()) e.getValue().add(model.linearInput(e.getKey()));
                });
                for (Map.Entry<String, GptqHessian> e : hs.entrySet()) {
                    FloatTensor p = model.parameters().get(e.getKey());
                    report.add(Gptq.quantizeParameter(p, e.getKey(), e.getValue(), options, tensors));
                }
            }
            return report;
        };
    }

    /** Leaves the weights in float (a reference: Norm Tweaking then has nothing to correct). */
    static BlockQuantizer none() {
        return (model, block, pass) -> List.of();
    }
}
