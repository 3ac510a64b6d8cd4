package org.distillery.io;

import static org.distillery.io.TensorSpec.Need.HEAD;
import static org.distillery.io.TensorSpec.Need.OPTIONAL;
import static org.distillery.io.TensorSpec.Need.REQUIRED;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face DistilBERT {@code config.json} ({@code model_type: distilbert}).
 *
 * <p>Tensor layout (D = dim, F = hidden_dim, V = vocab_size, P = max_position_embeddings); weights are
 * nn.Linear {@code [out, in]}; the {@code distilbert.} prefix is absent in files of the bare model.
 * <pre>
 *   distilbert.embeddings.word_embeddings.weight [V, D], .position_embeddings.weight [P, D]
 *   distilbert.embeddings.LayerNorm.weight / bias [D]
 *   distilbert.transformer.layer.{i}.attention.q_lin / k_lin / v_lin / out_lin.weight [D, D], .bias [D]
 *   distilbert.transformer.layer.{i}.sa_layer_norm.weight / bias [D]
 *   distilbert.transformer.layer.{i}.ffn.lin1.weight [F, D], .bias [F]; ffn.lin2.weight [D, F], .bias [D]
 *   distilbert.transformer.layer.{i}.output_layer_norm.weight / bias [D]
 *   vocab_transform.weight [D, D], .bias [D]; vocab_layer_norm.weight / bias [D]; vocab_projector.bias [V]  head
 *   vocab_projector.weight [V, D]                                   optional (tied to word_embeddings)
 * </pre>
 *
 * @param vocabSize             {@code vocab_size}, &gt;= 1
 * @param dim                   {@code dim}, the hidden size, a multiple of {@code n_heads}
 * @param nLayers               {@code n_layers}, &gt;= 1
 * @param nHeads                {@code n_heads}, &gt;= 1
 * @param hiddenDim             {@code hidden_dim}, the FFN size, &gt;= 1
 * @param activation            {@code activation}, e.g. {@code gelu}
 * @param maxPositionEmbeddings {@code max_position_embeddings}, &gt;= 1
 * @param sinusoidalPosEmbds    {@code sinusoidal_pos_embds}: fixed sinusoidal position embeddings
 * @param extra                 the other fields of the file, kept for writing back
 */
public record DistilBertConfig(int vocabSize, int dim, int nLayers, int nHeads, int hiddenDim, String activation,
                               int maxPositionEmbeddings, boolean sinusoidalPosEmbds, Map<String, Object> extra)
        implements HfConfig {

    /** The {@code model_type} value. */
    public static final String MODEL_TYPE = "distilbert";

    /** Validates the fields; errors name the JSON field and its value. */
    public DistilBertConfig {
        ConfigJson.positive("vocab_size", vocabSize);
        ConfigJson.positive("dim", dim);
        ConfigJson.positive("n_layers", nLayers);
        ConfigJson.positive("n_heads", nHeads);
        ConfigJson.divisible("dim", dim, "n_heads", nHeads);
        ConfigJson.positive("hidden_dim", hiddenDim);
        ConfigJson.nonBlank("activation", activation);
        ConfigJson.positive("max_position_embeddings", maxPositionEmbeddings);
        extra = ConfigJson.copy(Objects.requireNonNull(extra, "extra"));
    }

    /** A configuration with DistilBERT's defaults for the rest (gelu, 512 learned positions). */
    public static DistilBertConfig of(int vocabSize, int dim, int nLayers, int nHeads, int hiddenDim) {
        return new DistilBertConfig(vocabSize, dim, nLayers, nHeads, hiddenDim, "gelu", 512, false, Map.of());
    }

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public String backbonePrefix() {
        return "distilbert.";
    }

    @Override
    public List<TensorSpec> expectedTensors() {
        return expectedTensors(backbonePrefix());
    }

    @Override
    public List<TensorSpec> expectedTensors(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        long d = dim;
        long f = hiddenDim;
        String hid = "dim=" + dim;
        String ffn = hid + ", hidden_dim=" + hiddenDim;
        String vocab = "vocab_size=" + vocabSize;
        List<TensorSpec> s = new ArrayList<>();
        String emb = prefix + "embeddings.";
        s.add(TensorSpec.of(emb + "word_embeddings.weight", REQUIRED, vocab + ", " + hid, vocabSize, d));
        s.add(TensorSpec.of(emb + "position_embeddings.weight", REQUIRED,
                "max_position_embeddings=" + maxPositionEmbeddings + ", " + hid, maxPositionEmbeddings, d));
        s.add(TensorSpec.of(emb + "LayerNorm.weight", REQUIRED, hid, d));
        s.add(TensorSpec.of(emb + "LayerNorm.bias", REQUIRED, hid, d));
        for (int i = 0; i < nLayers; i++) {
            String l = prefix + "transformer.layer." + i + ".";
            for (String lin : List.of("q_lin", "k_lin", "v_lin", "out_lin")) {
                s.add(TensorSpec.of(l + "attention." + lin + ".weight", REQUIRED, hid, d, d));       // [out, in]
                s.add(TensorSpec.of(l + "attention." + lin + ".bias", REQUIRED, hid, d));
            }
            s.add(TensorSpec.of(l + "sa_layer_norm.weight", REQUIRED, hid, d));
            s.add(TensorSpec.of(l + "sa_layer_norm.bias", REQUIRED, hid, d));
            s.add(TensorSpec.of(l + "ffn.lin1.weight", REQUIRED, ffn, f, d));                        // [F, D]
            s.add(TensorSpec.of(l + "ffn.lin1.bias", REQUIRED, ffn, f));
            s.add(TensorSpec.of(l + "ffn.lin2.weight", REQUIRED, ffn, d, f));                        // [D, F]
            s.add(TensorSpec.of(l + "ffn.lin2.bias", REQUIRED, hid, d));
            s.add(TensorSpec.of(l + "output_layer_norm.weight", REQUIRED, hid, d));
            s.add(TensorSpec.of(l + "output_layer_norm.bias", REQUIRED, hid, d));
        }
        s.add(TensorSpec.of("vocab_transform.weight", HEAD, hid, d, d));
        s.add(TensorSpec.of("vocab_transform.bias", HEAD, hid, d));
        s.add(TensorSpec.of("vocab_layer_norm.weight", HEAD, hid, d));
        s.add(TensorSpec.of("vocab_layer_norm.bias", HEAD, hid, d));
        s.add(TensorSpec.of("vocab_projector.bias", HEAD, vocab, vocabSize));
        s.add(TensorSpec.of("vocab_projector.weight", OPTIONAL, vocab + ", " + hid, vocabSize, d));
        return List.copyOf(s);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.start(MODEL_TYPE);
        o.put("vocab_size", vocabSize);
        o.put("dim", dim);
        o.put("n_layers", nLayers);
        o.put("n_heads", nHeads);
        o.put("hidden_dim", hiddenDim);
        o.put("activation", activation);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("sinusoidal_pos_embds", sinusoidalPosEmbds);
        return ConfigJson.finish(o, extra);
    }

    static DistilBertConfig fromJson(ConfigJson j) {
        return new DistilBertConfig(j.integer("vocab_size", null), j.integer("dim", null), j.integer("n_layers", null),
                j.integer("n_heads", null), j.integer("hidden_dim", null), j.string("activation", "gelu"),
                j.integer("max_position_embeddings", 512), j.bool("sinusoidal_pos_embds", false), j.extra());
    }
}
