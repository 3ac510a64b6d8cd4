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
 * <p>Structurally pruned models (package {@code org.distillery.prune}) differ per layer, through two optional
 * fields kept in {@code extra} and validated here:
 * <ul>
 *   <li>{@code pruned_heads}: Hugging Face's own field, {@code {"layer": [original head indices]}}; layer i has
 *   {@code n_head - |pruned_heads[i]|} heads ({@link #headCount}) of size {@code n_embd / n_head}, kept in their
 *   original order, so its attention width is A_i = heads * head size: {@code c_attn} [E, 3 A_i] (Q, K, V
 *   blocks of A_i), {@code c_proj} [A_i, E] (as {@code transformers} loads them after {@code prune_heads});</li>
 *   <li>{@code n_inner_per_layer}: a Distillery extension, a list of n_layer MLP widths I_i
 *   ({@link #innerSize(int)}), written only when the layers differ (Hugging Face's GPT-2 does not read it).</li>
 * </ul>
 * Without them every layer has n_head heads and {@link #innerSize()} neurons.
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
    /** The optional per-layer structure fields (see the class comment). */
    public static final String PRUNED_HEADS = "pruned_heads", N_INNER_PER_LAYER = "n_inner_per_layer";

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
        prunedHeads(extra, nLayer, nHead);                    // validates the per-layer fields
        innerSizes(extra, nLayer);
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

    /** The original indices of the heads pruned from layer {@code layer}, ascending ({@code pruned_heads}). */
    public int[] prunedHeads(int layer) {
        checkLayer(layer);
        return prunedHeads(extra, nLayer, nHead)[layer].clone();
    }

    /** The number of attention heads of layer {@code layer}: n_head minus its pruned heads. */
    public int headCount(int layer) {
        checkLayer(layer);
        return nHead - prunedHeads(extra, nLayer, nHead)[layer].length;
    }

    /** The attention width of layer {@code layer}, A = headCount(layer) * headSize() (n_embd when unpruned). */
    public int attentionWidth(int layer) {
        return headCount(layer) * headSize();
    }

    /** The MLP width of layer {@code layer}: {@code n_inner_per_layer[layer]}, or {@link #innerSize()}. */
    public int innerSize(int layer) {
        checkLayer(layer);
        int[] sizes = innerSizes(extra, nLayer);
        return sizes == null ? innerSize() : sizes[layer];
    }

    /** Whether some layer differs from n_head heads and {@link #innerSize()} neurons. */
    public boolean isStructurallyPruned() {
        for (int l = 0; l < nLayer; l++) if (headCount(l) != nHead || innerSize(l) != innerSize()) return true;
        return false;
    }

    /**
     * This configuration with another structure: {@code layers} layers, {@code prunedHeads[l]} the original
     * indices of the heads removed from layer l (empty for none), {@code inner[l]} the MLP width of layer l.
     * Writes {@code pruned_heads} only for layers with pruned heads (absent when none), {@code n_inner} when all
     * widths are equal and {@code n_inner_per_layer} otherwise.
     */
    public Gpt2Config withStructure(int layers, int[][] prunedHeads, int[] inner) {
        if (prunedHeads == null || prunedHeads.length != layers) {
            throw new IllegalArgumentException("prunedHeads: need one entry per layer (" + layers + ")");
        }
        if (inner == null || inner.length != layers) {
            throw new IllegalArgumentException("inner: need one MLP width per layer (" + layers + ")");
        }
        Map<String, Object> x = new java.util.LinkedHashMap<>(extra);
        x.remove(PRUNED_HEADS);
        x.remove(N_INNER_PER_LAYER);
        Map<String, List<Integer>> heads = new java.util.LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            if (prunedHeads[l].length > 0) {
                heads.put(Integer.toString(l), java.util.Arrays.stream(prunedHeads[l]).sorted().boxed().toList());
            }
        }
        if (!heads.isEmpty()) x.put(PRUNED_HEADS, heads);
        boolean uniform = java.util.Arrays.stream(inner).allMatch(v -> v == inner[0]);
        Integer nInnerNew = uniform ? Integer.valueOf(inner[0]) : nInner;
        if (!uniform) x.put(N_INNER_PER_LAYER, java.util.Arrays.stream(inner).boxed().toList());
        return new Gpt2Config(vocabSize, nPositions, nEmbd, layers, nHead, nInnerNew, layerNormEpsilon,
                activationFunction, tieWordEmbeddings, x);
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer >= nLayer) {
            throw new IllegalArgumentException("layer: " + layer + " is outside [0, n_layer = " + nLayer + ")");
        }
    }

    /** {@code pruned_heads} of {@code extra} per layer (ascending), validated; empty arrays when absent. */
    private static int[][] prunedHeads(Map<String, Object> extra, int nLayer, int nHead) {
        int[][] out = new int[nLayer][0];
        Object v = extra.get(PRUNED_HEADS);
        if (v == null) return out;
        if (!(v instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\" = " + v + " is not an object {\"layer\": [heads]}");
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            int layer;
            try {
                layer = Integer.parseInt(String.valueOf(e.getKey()));
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\": key \"" + e.getKey() + "\" is not a layer index");
            }
            if (layer < 0 || layer >= nLayer) {
                throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\": layer " + layer + " is outside [0, n_layer = "
                        + nLayer + ")");
            }
            if (!(e.getValue() instanceof List<?> list)) {
                throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\": layer " + layer + ": " + e.getValue()
                        + " is not a list of head indices");
            }
            java.util.TreeSet<Integer> heads = new java.util.TreeSet<>();
            for (Object h : list) {
                if (!(h instanceof Integer || h instanceof Long) || ((Number) h).longValue() < 0
                        || ((Number) h).longValue() >= nHead || !heads.add(((Number) h).intValue())) {
                    throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\": layer " + layer + ": head " + h
                            + " is not a distinct index in [0, n_head = " + nHead + ")");
                }
            }
            if (heads.size() >= nHead) {
                throw new IllegalArgumentException("field \"" + PRUNED_HEADS + "\": layer " + layer + " prunes all " + nHead
                        + " heads; at least one must remain");
            }
            out[layer] = heads.stream().mapToInt(Integer::intValue).toArray();
        }
        return out;
    }

    /** {@code n_inner_per_layer} of {@code extra}, validated, or null when absent. */
    private static int[] innerSizes(Map<String, Object> extra, int nLayer) {
        Object v = extra.get(N_INNER_PER_LAYER);
        if (v == null) return null;
        if (!(v instanceof List<?> list) || list.size() != nLayer) {
            throw new IllegalArgumentException("field \"" + N_INNER_PER_LAYER + "\" = " + v + " is not a list of n_layer = "
                    + nLayer + " MLP widths");
        }
        int[] out = new int[nLayer];
        for (int l = 0; l < nLayer; l++) {
            Object w = list.get(l);
            if (!(w instanceof Integer || w instanceof Long) || ((Number) w).longValue() < 1
                    || ((Number) w).longValue() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("field \"" + N_INNER_PER_LAYER + "\": layer " + l + ": width " + w
                        + " is not an integer >= 1");
            }
            out[l] = ((Number) w).intValue();
        }
        return out;
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
        String embd = "n_embd=" + nEmbd;
        List<TensorSpec> s = new ArrayList<>();
        s.add(TensorSpec.of(prefix + "wte.weight", REQUIRED, "vocab_size=" + vocabSize + ", " + embd, vocabSize, e));
        s.add(TensorSpec.of(prefix + "wpe.weight", REQUIRED, "n_positions=" + nPositions + ", " + embd, nPositions, e));
        for (int i = 0; i < nLayer; i++) {
            String h = prefix + "h." + i + ".";
            long a = attentionWidth(i), inner = innerSize(i);   // e and 4e (or n_inner) unless pruned
            String att = a == e ? embd : embd + ", " + headCount(i) + " heads (pruned_heads)";
            String mlp = embd + ", n_inner=" + inner;
            s.add(TensorSpec.of(h + "ln_1.weight", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "ln_1.bias", REQUIRED, embd, e));
            s.add(TensorSpec.of(h + "attn.c_attn.weight", REQUIRED, att, e, 3 * a));   // [in, 3 out] Conv1D
            s.add(TensorSpec.of(h + "attn.c_attn.bias", REQUIRED, att, 3 * a));
            s.add(TensorSpec.of(h + "attn.c_proj.weight", REQUIRED, att, a, e));
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
