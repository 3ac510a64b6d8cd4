package org.distillery.quant.packed;

import java.util.LinkedHashMap;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Dtype;
import org.distillery.model.TrainableModel;
import org.distillery.quant.QuantizedTensor;
import org.distillery.quant.Quantizer;

/**
 * A quantized model's linear layers ({@link QuantizedTensor}s by weight name, as the quantization methods return
 * them) as packed layers, and what they take in storage: the packed file's layout when the codes pack exactly
 * ({@link #packReason}), else the size a bit-packed layout would have ({@link #nominalBitsPerWeight}).
 */
public final class PackedLayers {
    private PackedLayers() {}

    /** The packed format of a quantizer's grid, or null when there is none (only 8 and 4 bits are packed). */
    public static PackedFormat format(Quantizer q) {
        if (q.isFloat()) return null;
        return switch (q.bits()) {
            case 8 -> q.symmetric() ? PackedFormat.INT8 : PackedFormat.INT8_ASYM;
            case 4 -> q.symmetric() ? PackedFormat.INT4 : PackedFormat.INT4_ASYM;
            default -> null;
        };
    }

    /** Why the tensors cannot be packed exactly, or null when they can. */
    public static String packReason(Map<String, QuantizedTensor> tensors) {
        for (Map.Entry<String, QuantizedTensor> e : tensors.entrySet()) {
            QuantizedTensor q = e.getValue();
            PackedFormat f = format(q.quantizer());
            if (f == null) {
                return q.quantizer().bits() + "-bit codes have no packed format (int8 and int4 only)";
            }
            if (q.columnGroup() != null) {
                return "act-order with groups orders each layer's groups by the permuted columns (g_idx), which the"
                        + " packed layout does not store";
            }
            if (f.bits() == 4 && q.groupWidth() % 2 != 0) {
                return e.getKey() + ": group " + q.groupWidth() + " is odd; int4 packs two codes a byte";
            }
            for (float s : q.scales()) {
                if (Dtype.halfToFloat(Dtype.floatToHalf(s)) != s) {
                    return e.getKey() + ": scale " + s + " is not an fp16 value";
                }
            }
        }
        return null;
    }

    /**
     * The packed layers (weights and float32 biases) by layer name (the weight's name without ".weight"); each
     * packed value is checked to equal the dequantized one. Each layer has scratch buffers of its own.
     *
     * @param model the model holding the biases
     * @throws IllegalArgumentException when {@link #packReason} is not null
     */
    public static Map<String, QuantizedLinear> pack(Map<String, QuantizedTensor> tensors, TrainableModel model) {
        return pack(tensors, model, null);
    }

    /**
     * As {@link #pack(Map, TrainableModel)}, the layers sharing {@code workspace} (layers of one model, which run one
     * after the other), or each with its own where it is null.
     */
    public static Map<String, QuantizedLinear> pack(Map<String, QuantizedTensor> tensors, TrainableModel model,
                                                    QuantizedLinear.Workspace workspace) {
        String reason = packReason(tensors);
        if (reason != null) throw new IllegalArgumentException("tensors: cannot be packed exactly: " + reason);
        Map<String, QuantizedLinear> out = new LinkedHashMap<>();
        for (Map.Entry<String, QuantizedTensor> e : tensors.entrySet()) {
            QuantizedTensor q = e.getValue();
            PackedFormat f = format(q.quantizer());
            PackedWeights w = PackedWeights.pack(new QuantizedCodes(f, q.rows(), q.cols(), q.groupWidth(), q.codes(),
                    q.scales(), f.symmetric() ? null : q.zeros()));
            float[] expected = q.dequantize();
            double[] got = w.dequantize();
            for (int i = 0; i < expected.length; i++) {
                if ((float) got[i] != expected[i]) {
                    throw new IllegalStateException(e.getKey() + ": packed value " + got[i] + " differs from the"
                            + " dequantized " + expected[i] + " at flat index " + i);
                }
            }
            String layer = e.getKey().substring(0, e.getKey().length() - ".weight".length());
            FloatTensor bias = model.parameters().get(layer + ".bias");
            float[] b = bias == null ? null : bias.toFloatArray();
            out.put(layer, workspace == null ? new QuantizedLinear(w, b) : new QuantizedLinear(w, b, workspace));
        }
        return out;
    }

    /**
     * Bits per weight of a layout without a packed file: b-bit codes, an fp16 scale and (asymmetric) a b-bit zero
     * per group.
     */
    public static double nominalBitsPerWeight(Map<String, QuantizedTensor> tensors) {
        double bitsSum = 0;
        long n = 0;
        for (QuantizedTensor q : tensors.values()) {
            long elements = (long) q.rows() * q.cols();
            int b = q.quantizer().bits();
            bitsSum += (double) b * elements + (double) q.rows() * q.groups() * (16 + (q.quantizer().symmetric() ? 0 : b));
            n += elements;
        }
        return bitsSum / n;
    }

    /**
     * Bytes the linear layers take: the packed layers' storage when they pack exactly (codes, scales, zero-points),
     * else the bit-packed size of {@link #nominalBitsPerWeight}, rounded up to whole bytes; biases not included.
     */
    public static long storageBytes(Map<String, QuantizedTensor> tensors, TrainableModel model) {
        if (packReason(tensors) == null) {
            long bytes = 0;
            for (QuantizedLinear l : pack(tensors, model).values()) bytes += l.weight().storageBytes();
            return bytes;
        }
        long elements = 0;
        for (QuantizedTensor q : tensors.values()) elements += (long) q.rows() * q.cols();
        return (long) Math.ceil(nominalBitsPerWeight(tensors) * elements / 8);
    }
}
