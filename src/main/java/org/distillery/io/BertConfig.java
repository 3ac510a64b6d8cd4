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
 * A Hugging Face BERT {@code config.json} ({@code model_type: bert}).
 *
 * <p>Tensor layout (H = hidden_size, I = intermediate_size, V = vocab_size, P = max_position_embeddings,
 * T = type_vocab_size); weights are nn.Linear {@code [out, in]}; the {@code bert.} prefix is absent in files
 * saved from the bare BertModel.
 * <pre>
 *   bert.embeddings.word_embeddings.weight        [V, H]
 *   bert.embeddings.position_embeddings.weight    [P, H]
 *   bert.embeddings.token_type_embeddings.weight  [T, H]
 *   bert.embeddings.LayerNorm.weight / bias       [H]
 *   bert.encoder.layer.{i}.attention.self.query / key / value.weight  [H, H], .bias [H]
 *   bert.encoder.layer.{i}.attention.output.dense.weight              [H, H], .bias [H]
 *   bert.encoder.layer.{i}.attention.output.LayerNorm.weight / bias   [H]
 *   bert.encoder.layer.{i}.intermediate.dense.weight                  [I, H], .bias [I]
 *   bert.encoder.layer.{i}.output.dense.weight                        [H, I], .bias [H]
 *   bert.encoder.layer.{i}.output.LayerNorm.weight / bias             [H]
 *   bert.pooler.dense.weight [H, H], .bias [H]                         optional
 *   cls.predictions.transform.dense.weight [H, H], .bias [H]           head
 *   cls.predictions.transform.LayerNorm.weight / bias [H]              head
 *   cls.predictions.bias [V]                                           head
 *   cls.predictions.decoder.weight [V, H], .bias [V]                   optional (tied to word_embeddings)
 * </pre>
 *
 * @param vocabSize             {@code vocab_size}, &gt;= 1
 * @param hiddenSize            {@code hidden_size}, a multiple of {@code num_attention_heads}
 * @param numHiddenLayers       {@code num_hidden_layers}, &gt;= 1
 * @param numAttentionHeads     {@code num_attention_heads}, &gt;= 1
 * @param intermediateSize      {@code intermediate_size}, &gt;= 1
 * @param hiddenAct             {@code hidden_act}, e.g. {@code gelu}
 * @param maxPositionEmbeddings {@code max_position_embeddings}, &gt;= 1
 * @param typeVocabSize         {@code type_vocab_size}, &gt;= 1
 * @param layerNormEps          {@code layer_norm_eps}, &gt; 0
 * @param extra                 the other fields of the file, kept for writing back
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, String hiddenAct, int maxPositionEmbeddings, int typeVocabSize,
                         double layerNormEps, Map<String, Object> extra) implements HfConfig {

    /** The {@code model_type} value. */
    public static final String MODEL_TYPE = "bert";

    /** Validates the fields; errors name the JSON field and its value. */
    public BertConfig {
        ConfigJson.positive("vocab_size", vocabSize);
        ConfigJson.positive("hidden_size", hiddenSize);
        ConfigJson.positive("num_hidden_layers", numHiddenLayers);
        ConfigJson.positive("num_attention_heads", numAttentionHeads);
        ConfigJson.divisible("hidden_size", hiddenSize, "num_attention_heads", numAttentionHeads);
        ConfigJson.positive("intermediate_size", intermediateSize);
        ConfigJson.nonBlank("hidden_act", hiddenAct);
        ConfigJson.positive("max_position_embeddings", maxPositionEmbeddings);
        ConfigJson.positive("type_vocab_size", typeVocabSize);
        ConfigJson.positive("layer_norm_eps", layerNormEps);
        extra = ConfigJson.copy(Objects.requireNonNull(extra, "extra"));
    }

    /** A configuration with BERT's defaults for the rest (gelu, 512 positions, 2 token types, eps 1e-12). */
    public static BertConfig of(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                                int intermediateSize) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, "gelu",
                512, 2, 1e-12, Map.of());
    }

    /** The same configuration with {@code layers} encoder layers (a shallower student of the same width). */
    public BertConfig withNumHiddenLayers(int layers) {
        return new BertConfig(vocabSize, hiddenSize, layers, numAttentionHeads, intermediateSize, hiddenAct,
                maxPositionEmbeddings, typeVocabSize, layerNormEps, extra);
    }

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public String backbonePrefix() {
        return "bert.";
    }

    @Override
    public List<TensorSpec> expectedTensors() {
        return expectedTensors(backbonePrefix());
    }

    @Override
    public List<TensorSpec> expectedTensors(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        long h = hiddenSize;
        long in = intermediateSize;
        String hid = "hidden_size=" + hiddenSize;
        String ffn = hid + ", intermediate_size=" + intermediateSize;
        String vocab = "vocab_size=" + vocabSize;
        List<TensorSpec> s = new ArrayList<>();
        String emb = prefix + "embeddings.";
        s.add(TensorSpec.of(emb + "word_embeddings.weight", REQUIRED, vocab + ", " + hid, vocabSize, h));
        s.add(TensorSpec.of(emb + "position_embeddings.weight", REQUIRED,
                "max_position_embeddings=" + maxPositionEmbeddings + ", " + hid, maxPositionEmbeddings, h));
        s.add(TensorSpec.of(emb + "token_type_embeddings.weight", REQUIRED,
                "type_vocab_size=" + typeVocabSize + ", " + hid, typeVocabSize, h));
        s.add(TensorSpec.of(emb + "LayerNorm.weight", REQUIRED, hid, h));
        s.add(TensorSpec.of(emb + "LayerNorm.bias", REQUIRED, hid, h));
        for (int i = 0; i < numHiddenLayers; i++) {
            String l = prefix + "encoder.layer." + i + ".";
            for (String qkv : List.of("query", "key", "value")) {
                s.add(TensorSpec.of(l + "attention.self." + qkv + ".weight", REQUIRED, hid, h, h));   // [out, in]
                s.add(TensorSpec.of(l + "attention.self." + qkv + ".bias", REQUIRED, hid, h));
            }
            s.add(TensorSpec.of(l + "attention.output.dense.weight", REQUIRED, hid, h, h));
            s.add(TensorSpec.of(l + "attention.output.dense.bias", REQUIRED, hid, h));
            s.add(TensorSpec.of(l + "attention.output.LayerNorm.weight", REQUIRED, hid, h));
            s.add(TensorSpec.of(l + "attention.output.LayerNorm.bias", REQUIRED, hid, h));
            s.add(TensorSpec.of(l + "intermediate.dense.weight", REQUIRED, ffn, in, h));          // [I, H]
            s.add(TensorSpec.of(l + "intermediate.dense.bias", REQUIRED, ffn, in));
            s.add(TensorSpec.of(l + "output.dense.weight", REQUIRED, ffn, h, in));                // [H, I]
            s.add(TensorSpec.of(l + "output.dense.bias", REQUIRED, hid, h));
            s.add(TensorSpec.of(l + "output.LayerNorm.weight", REQUIRED, hid, h));
            s.add(TensorSpec.of(l + "output.LayerNorm.bias", REQUIRED, hid, h));
        }
        s.add(TensorSpec.of(prefix + "pooler.dense.weight", OPTIONAL, hid, h, h));
        s.add(TensorSpec.of(prefix + "pooler.dense.bias", OPTIONAL, hid, h));
        s.add(TensorSpec.of("cls.predictions.transform.dense.weight", HEAD, hid, h, h));
        s.add(TensorSpec.of("cls.predictions.transform.dense.bias", HEAD, hid, h));
        s.add(TensorSpec.of("cls.predictions.transform.LayerNorm.weight", HEAD, hid, h));
        s.add(TensorSpec.of("cls.predictions.transform.LayerNorm.bias", HEAD, hid, h));
        s.add(TensorSpec.of("cls.predictions.bias", HEAD, vocab, vocabSize));
        s.add(TensorSpec.of("cls.predictions.decoder.weight", OPTIONAL, vocab + ", " + hid, vocabSize, h));
        s.add(TensorSpec.of("cls.predictions.decoder.bias", OPTIONAL, vocab, vocabSize));
        return List.copyOf(s);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.start(MODEL_TYPE);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("intermediate_size", intermediateSize);
        o.put("hidden_act", hiddenAct);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("type_vocab_size", typeVocabSize);
        o.put("layer_norm_eps", layerNormEps);
        return ConfigJson.finish(o, extra);
    }

    static BertConfig fromJson(ConfigJson j) {
        return new BertConfig(j.integer("vocab_size", null), j.integer("hidden_size", null),
                j.integer("num_hidden_layers", null), j.integer("num_attention_heads", null),
                j.integer("intermediate_size", null), j.string("hidden_act", "gelu"),
                j.integer("max_position_embeddings", 512), j.integer("type_vocab_size", 2),
                j.number("layer_norm_eps", 1e-12), j.extra());
    }
}
