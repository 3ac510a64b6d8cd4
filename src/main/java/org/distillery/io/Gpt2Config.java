package org.distillery.io;

import static org.distillery.io.TensorSpec.Need.OPTIONAL;
import static org.distillery.io.TensorSpec.Need.REQUIRED;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face GPT-2 {@code config.json} ({@code model_type: gpt2}).
 *
 * <p>Tensor layout (names without the optional {@code transformer.} prefix; E = n_embd, I = inner size,
 * V = vocab_size, P = n_positions). GPT-2 uses Conv1D, whose weight is {@code [in, out]}: the transpose of
 * nn.Linear's {@code [out, in]}.
 * <pre>
 *   wte.weight                 [V, E]      h.{i}.attn.c_attn.weight  [E, 3E]   h.{i}.mlp.c_fc.weight    [E, I]
 *   wpe.weight                 [P, E]      h.{i}.attn.c_attn.bias    [3E]      h.{i}.mlp.c_fc.bias      [I]
 *   h.{i}.ln_1.weight / bias   [E]         h.{i}.attn.c_proj.weight  [E, E]    h.{i}.mlp.c_proj.weight  [I, E]
 *   h.{i}.ln_2.weight / bias   [E]         h.{i}.attn.c_proj.bias    [E]       h.{i}.mlp.c_proj.bias    [E]
 *   ln_f.weight / bias         [E]         lm_head.weight            [V, E]  optional when tied (usually absent)
 * </pre>
 * Older files also hold the causal-mask buffers {@code h.{i}.attn.bias} and {@code h.{i}.attn.masked_bias};
 * they are not parameters and are not expected.
 *
 * @param vocabSize          {@code vocab_size}, &gt;= 1
 * @param nPositions         {@code n_positions}, the context length, &gt;= 1
 * @param nEmbd              {@code n_embd}, the hidden size, a multiple of {@code n_head}
 * @param nLayer             {@code n_layer}, &gt;= 1
 * @param nHead              {@code n_head}, &gt;= 1
 * @param nInner             {@code n_inner}, the MLP size, &gt;= 1, or null for {@code 4 * n_embd}
 * @param layerNormEpsilon   {@code layer_norm_epsilon}, &gt; 0
 * @param activationFunction {@code activation_function}, e.g. {@code gelu_new}
 * @param tieWordEmbeddings  {@code tie_word_embeddings}: lm_head shares wte's weight
 * @param extra              the other fields of the file, kept for writing back
 */
public record Gpt2Config(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead, Integer nInner,
                         double layerNormEpsilon, String activationFunction, boolean tieWordEmbeddings,
                         Map<String, Object> extra) implements HfConfig {

    /** The {@code model_type} value. */
    public static final String MODEL_TYPE = "gpt2";

    /** Validates the fields; errors name the JSON field and its value. */
    public Gpt2Config {
        ConfigJson.positive("vocab_size", vocabSize);
        ConfigJson.positive("n_positions", nPositions);
        ConfigJson.positive("n_embd", nEmbd);
        ConfigJson.positive("n_layer", nLayer);
        ConfigJson.positive("n_head", nHead);
        ConfigJson.divisible("n_embd", nEmbd, "n_head", nHead);
        if (nInner != null) {
            ConfigJson.positive("n_inner", nInner);
        }
        ConfigJson.positive("layer_norm_epsilon", layerNormEpsilon);
        ConfigJson.nonBlank("activation_function", activationFunction);
        extra = ConfigJson.copy(Objects.requireNonNull(extra, "extra"));
    }

    /** A configuration with GPT-2's defaults for everything but the sizes (gelu_new, eps 1e-5, tied, 4E MLP). */
    public static Gpt2Config of(int vocabSize, int nPositions, int nEmbd, int nLayer, int nHead) {
        return new Gpt2Config(vocabSize, nPositions, nEmbd, nLayer, nHead, null, 1e-5, "gelu_new", true, Map.of());
    }

    /** The MLP width: {@code n_inner}, or {@code 4 * n_embd} when it is null. */
    public int innerSize() {
        return nInner != null ? nInner : 4 * nEmbd;
    }

    /** The per-head size {@code n_embd / n_head}. */
    public int headSize() {
        return nEmbd / nHead;
    }

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public String backbonePrefix() {
        return "transformer.";
    }

    @Override
    public List<TensorSpec> expectedTensors() {
        return expectedTensors("");
    }

    @Override
    public List<TensorSpec> expectedTensors(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        long e = nEmbd;
        long inner = innerSize();
        String embd = "n_embd=" + nEmbd;
        String mlp = embd + ", n_inner=" + inner;
        List<TensorSpec> s = new ArrayList<>();
        s.add(TensorSpec.of(prefix + "wte.weight", REQUIRED, "vocab_size=" + vocabSize + ", " + embd, vocabSize, e));
        s.add(TensorSpec.of(prefix + "wpe.weight", REQUIRED, "n_positions=" + nPositions + ", " + embd, nPositions, e));
        for (int i = 0; i < nLayer; i++) {
            String h = prefix + "h." + i + ".";
            s.add(TensorSpec.of(h + "ln_1.weight", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "ln_1.bias", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "attn.c_attn.weight", REQUIRED, embd, e, 3 * e));   // [in, 3 out] Conv1D
            s.add(TensorSpec.of(h + "attn.c_attn.bias", REQUIRED, embd, 3 * e));
            s.add(TensorSpec.of(h + "attn.c_proj.weight", REQUIRED, embd, e, e));
            s.add(TensorSpec.of(h + "attn.c_proj.bias", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "ln_2.weight", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "ln_2.bias", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "mlp.c_fc.weight", REQUIRED, mlp, e, inner));       // [E, I] Conv1D
            s.add(TensorSpec.of(h + "mlp.c_fc.bias", REQUIRED, mlp, inner));
            s.add(TensorSpec.of(h + "mlp.c_proj.weight", REQUIRED, mlp, inner, e));     // [I, E] Conv1D
            s.add(TensorSpec.of(h + "mlp.c_proj.bias", REQUIRED, embd, e));
        }
        s.add(TensorSpec.of(prefix + "ln_f.weight", REQUIRED, embd, e));
        s.add(TensorSpec.of(prefix + "ln_f.bias", REQUIRED, embd, e));
        s.add(TensorSpec.of("lm_head.weight", tieWordEmbeddings ? OPTIONAL : REQUIRED,
                "vocab_size=" + vocabSize + ", " + embd, vocabSize, e));
        return List.copyOf(s);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode o = ConfigJson.start(MODEL_TYPE);
        o.put("vocab_size", vocabSize);
        o.put("n_positions", nPositions);
        o.put("n_embd", nEmbd);
        o.put("n_layer", nLayer);
        o.put("n_head", nHead);
        if (nInner == null) {
            o.putNull("n_inner");
        } else {
            o.put("n_inner", nInner);
        }
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("activation_function", activationFunction);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        return ConfigJson.finish(o, extra);
    }

    static Gpt2Config fromJson(ConfigJson j) {
        return new Gpt2Config(j.integer("vocab_size", null), j.integer("n_positions", null),
                j.integer("n_embd", null), j.integer("n_layer", null), j.integer("n_head", null),
                j.optionalInteger("n_inner"), j.number("layer_norm_epsilon", 1e-5),
                j.string("activation_function", "gelu_new"), j.bool("tie_word_embeddings", true), j.extra());
    }
}
