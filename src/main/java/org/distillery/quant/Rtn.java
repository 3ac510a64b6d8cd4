package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.TrainableModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Round-to-nearest (RTN): every linear weight W [out, in] of a model is replaced by its nearest point on
 * the {@link Quantizer}'s grid, {@code Q = scale * (clamp(round(W / scale) + zero) - zero)} with the
 * parameters fitted on W alone (no calibration data). The baseline of GPTQ's tables (methods.md: OPT-125M
 * RTN 4-bit 37.28 vs GPTQ 31.12 perplexity). Linear weights are found by name with {@link LinearLayers};
 * embeddings, biases and LayerNorm parameters stay in fp32.
 */
public final class Rtn {
    private Rtn() {}

    /** The quantized tensors by parameter name and one report row per layer. */
    public record Result(Map<String, QuantizedTensor> tensors, List<LayerReport> layers) {}

    /**
     * Quantizes every linear weight of {@code model} in place (its parameters then hold the dequantized
     * values) and reports per layer.
     */
    public static List<LayerReport> quantize(TrainableModel model, Quantizer quantizer) {
        Result r = quantizeCopy(model, quantizer);
        for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
            e.getValue().dequantizeInto(model.parameters().get(e.getKey()));
        }
        return r.layers();
    }

    /**
     * Quantizes every linear weight of {@code model} without changing the model: the quantized tensors (for
     * packing, or {@link QuantizedTensor#dequantize()}) and the per-layer report.
     */
    public static Result quantizeCopy(TrainableModel model, Quantizer quantizer) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return quantizeCopy(model.parameters(), LinearLayers.names(model), quantizer);
    }

    /** As {@link #quantizeCopy(TrainableModel, Quantizer)} for the named tensors of a parameter map. */
    public static Result quantizeCopy(Map<String, FloatTensor> parameters, List<String> names, Quantizer quantizer) {
        if (parameters == null) throw new IllegalArgumentException("parameters: must not be null");
        if (names == null) throw new IllegalArgumentException("names: must not be null");
        if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
        Map<String, QuantizedTensor> out = new LinkedHashMap<>();
        List<LayerReport> report = new ArrayList<>();
        for (String name : names) {
            FloatTensor w = parameters.get(name);
            if (w == null) throw new IllegalArgumentException("names: no parameter " + name);
            if (w.rank() != 2) throw new IllegalArgumentException(name + ": shape " + w.shapeString() + " is not [out, in]");
            long t0 = System.nanoTime();
            float[] x = w.toFloatArray();
            QuantizedTensor q;
            try {
                q = quantizer.quantize(x, w.dim(0), w.dim(1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
            double[] err = LayerReport.errors(x, q.dequantize());
            out.put(name, q);
            report.add(new LayerReport(name, w.dim(0), w.dim(1), "RTN " + quantizer.name(), err[0], err[1], Double.NaN,
                    (System.nanoTime() - t0) / 1e9));
        }
        return new Result(out, report);
    }
}
