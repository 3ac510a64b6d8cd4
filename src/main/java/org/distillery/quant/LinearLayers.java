package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.TrainableModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The linear-layer weights of a model by parameter name, in the model's parameter order: every rank-2
 * {@code *.weight} [out, in] that is not an embedding table. For {@code Gpt}: {@code h.N.attn.c_attn},
 * {@code h.N.attn.c_proj}, {@code h.N.mlp.c_fc}, {@code h.N.mlp.c_proj} (not {@code wte}, the tied head,
 * nor {@code wpe}); for {@code Bert}: query/key/value, {@code attention.output.dense},
 * {@code intermediate.dense}, {@code output.dense}, the MLM head's {@code transform.dense} (not the
 * {@code *_embeddings}); for {@code Mlp}: {@code layers.N.weight}.
 */
public final class LinearLayers {
    private LinearLayers() {}

    /** The names of the linear weights of {@code model}. */
    public static List<String> names(TrainableModel model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return names(model.parameters());
    }

    /** The names of the linear weights among {@code parameters}. */
    public static List<String> names(Map<String, FloatTensor> parameters) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : parameters.entrySet()) {
            if (isLinearWeight(e.getKey(), e.getValue())) out.add(e.getKey());
        }
        return out;
    }

    /** Whether a parameter is a linear weight: rank 2, named {@code *.weight}, not an embedding table. */
    public static boolean isLinearWeight(String name, FloatTensor t) {
        if (t.rank() != 2 || !name.endsWith(".weight")) return false;
        String leaf = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
        return !(leaf.equals("wte") || leaf.equals("wpe") || leaf.endsWith("embeddings")
                || leaf.equals("vocab_projector"));
    }
}
