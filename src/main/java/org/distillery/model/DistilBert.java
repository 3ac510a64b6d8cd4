package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.DistilBertConfig;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Hugging Face DistilBERT ({@code DistilBertForMaskedLM}) checkpoints on the {@link Bert} engine: DistilBERT is
 * BERT's post-LN encoder and MLM head without token-type embeddings and without pooler, under other tensor
 * names, so a DistilBERT checkpoint loads into a {@link Bert} whose single token-type row is zero, and a
 * {@link Bert} saves back to the DistilBERT layout.
 *
 * <p><b>Configuration</b> ({@link #bertConfig}): {@code vocab_size -> vocab_size}, {@code dim -> hidden_size},
 * {@code n_layers -> num_hidden_layers}, {@code n_heads -> num_attention_heads}, {@code hidden_dim ->
 * intermediate_size}, {@code activation -> hidden_act} (only {@code gelu}, the erf form, is supported),
 * {@code max_position_embeddings} unchanged, {@code type_vocab_size = 1}, {@code layer_norm_eps = 1e-12}
 * (DistilBERT's LayerNorms have this eps fixed in code), {@code pad_token_id} and {@code tie_word_embeddings}
 * carried over. Absolute learned positions in both.
 *
 * <p><b>Tensors</b> ({@link #tensorNames}; D = dim, F = hidden_dim, V = vocab_size, P = max_position_embeddings;
 * nn.Linear {@code [out, in]} on both sides, so nothing is transposed):
 * <pre>
 *   DistilBERT (prefix "distilbert." or none)                   Bert parameter
 *   embeddings.word_embeddings.weight       [V, D]              bert.embeddings.word_embeddings.weight
 *   embeddings.position_embeddings.weight   [P, D]              bert.embeddings.position_embeddings.weight
 *   (none)                                                      bert.embeddings.token_type_embeddings.weight [1, D] = 0
 *   embeddings.LayerNorm.weight / bias      [D]                 bert.embeddings.LayerNorm.weight / bias
 *   transformer.layer.{i}.attention.q_lin   [D, D], [D]         bert.encoder.layer.{i}.attention.self.query
 *   transformer.layer.{i}.attention.k_lin                       bert.encoder.layer.{i}.attention.self.key
 *   transformer.layer.{i}.attention.v_lin                       bert.encoder.layer.{i}.attention.self.value
 *   transformer.layer.{i}.attention.out_lin [D, D], [D]         bert.encoder.layer.{i}.attention.output.dense
 *   transformer.layer.{i}.sa_layer_norm     [D]                 bert.encoder.layer.{i}.attention.output.LayerNorm
 *   transformer.layer.{i}.ffn.lin1          [F, D], [F]         bert.encoder.layer.{i}.intermediate.dense
 *   transformer.layer.{i}.ffn.lin2          [D, F], [D]         bert.encoder.layer.{i}.output.dense
 *   transformer.layer.{i}.output_layer_norm [D]                 bert.encoder.layer.{i}.output.LayerNorm
 *   vocab_transform.weight / bias           [D, D], [D]         cls.predictions.transform.dense.weight / bias
 *   vocab_layer_norm.weight / bias          [D]                 cls.predictions.transform.LayerNorm.weight / bias
 *   vocab_projector.bias                    [V]                 cls.predictions.bias
 *   vocab_projector.weight                  [V, D]  optional    (tied: must equal word_embeddings)
 * </pre>
 * (each linear row stands for its {@code .weight} and {@code .bias}). The query/key/value map one to one:
 * {@link Bert} keeps the three HF tensors as its parameters and packs them into its shared {@code [3D, D]}
 * buffer itself at every forward and backward, so q_lin/k_lin/v_lin need no repacking here. DistilBERT scales
 * the queries by 1/sqrt(D/n_heads) before {@code q k^T} where BERT scales the scores after it: the same
 * function up to float rounding.
 *
 * <p><b>Token types.</b> {@link Bert} always has a token-type table; a loaded DistilBERT gets one row of zeros
 * and should be run with {@code tokenTypes = null} (all 0). The row is an ordinary parameter and receives a
 * gradient (the sum of the position-embedding gradient rows), so training may make it non-zero; {@link #save}
 * then folds it into the position table ({@code position[p] + token_type[0]}, one float add per element),
 * which keeps the function for all-0 token types up to one rounding of the embedding sum. The same fold
 * converts any {@link Bert} (e.g. a BERT-shaped student with {@code type_vocab_size = 2}) to DistilBERT, exact
 * for inputs whose token types are all 0: {@link #save(Bert, Path)}. While the row is zero (as after
 * {@link #load}), the position table is written unchanged, so {@code load(save(m))} is bit-exact.
 *
 * <p><b>{@code sinusoidal_pos_embds}.</b> With this option HF fills {@code position_embeddings} with fixed
 * sinusoids at construction; they are stored in the checkpoint like a learned table. {@link #load} simply
 * loads the stored table (it does not recompute or check the sinusoids) and {@link #save} writes the table
 * and the flag back. HF does not train that table ({@code requires_grad = False}); the {@link Bert} engine
 * treats it as an ordinary parameter, so a trainer that wants HF's behaviour must leave
 * {@code bert.embeddings.position_embeddings.weight} out of its updates.
 *
 * <p><b>Dropout.</b> Not part of the parity: HF DistilBERT drops the embedding output, the attention
 * probabilities and the FFN output, while {@link Bert#setDropout} drops the embedding output and both sublayer
 * outputs (no attention-probability dropout). With dropout off (the default, and HF's eval mode) the two
 * models compute the same function.
 */
public final class DistilBert {
    private DistilBert() {}

    /** DistilBERT's LayerNorm eps (fixed in HF's code, not a config field). */
    public static final double LAYER_NORM_EPS = 1e-12;

    private static final String TOKEN_TYPES = "bert.embeddings.token_type_embeddings.weight";
    private static final String WORD = "bert.embeddings.word_embeddings.weight";
    private static final String POSITIONS = "bert.embeddings.position_embeddings.weight";
    private static final String PREFIX = "distilbert.";
    private static final String TIED_DECODER = "vocab_projector.weight";
    private static final String HEAD_MARKER = "vocab_projector.bias";

    /** Per-layer name parts: {BERT (after "bert.encoder.layer.{i}."), DistilBERT (after "transformer.layer.{i}.")}. */
    private static final String[][] LAYER_PARTS = {
            {"attention.self.query.", "attention.q_lin."},
            {"attention.self.key.", "attention.k_lin."},
            {"attention.self.value.", "attention.v_lin."},
            {"attention.output.dense.", "attention.out_lin."},
            {"attention.output.LayerNorm.", "sa_layer_norm."},
            {"intermediate.dense.", "ffn.lin1."},
            {"output.dense.", "ffn.lin2."},
            {"output.LayerNorm.", "output_layer_norm."},
    };

    /** Head names: {BERT, DistilBERT}. */
    private static final String[][] HEAD_NAMES = {
            {"cls.predictions.transform.dense.weight", "vocab_transform.weight"},
            {"cls.predictions.transform.dense.bias", "vocab_transform.bias"},
            {"cls.predictions.transform.LayerNorm.weight", "vocab_layer_norm.weight"},
            {"cls.predictions.transform.LayerNorm.bias", "vocab_layer_norm.bias"},
            {"cls.predictions.bias", "vocab_projector.bias"},
    };

    // ------------------------------------------------------------------------------------------------
    // names and configurations

    /**
     * The {@link Bert} parameter name of every DistilBERT tensor, in {@link Bert#parameters()} order: Bert name
     * to DistilBERT name, backbone names with the {@code distilbert.} prefix. Every Bert parameter of an
     * {@code nLayers}-layer model appears except {@code bert.embeddings.token_type_embeddings.weight} (DistilBERT
     * has none); the tied {@code vocab_projector.weight} is not listed (it is the word embeddings).
     *
     * @param nLayers number of layers, &gt;= 1
     */
    public static Map<String, String> tensorNames(int nLayers) {
        if (nLayers < 1) throw new IllegalArgumentException("nLayers: must be >= 1 but was " + nLayers);
        Map<String, String> m = new LinkedHashMap<>();
        for (String leaf : List.of("word_embeddings.weight", "position_embeddings.weight", "LayerNorm.weight",
                "LayerNorm.bias")) {
            m.put("bert.embeddings." + leaf, PREFIX + "embeddings." + leaf);
        }
        for (int i = 0; i < nLayers; i++) {
            for (String[] part : LAYER_PARTS) {
                for (String leaf : List.of("weight", "bias")) {
                    m.put("bert.encoder.layer." + i + "." + part[0] + leaf,
                            PREFIX + "transformer.layer." + i + "." + part[1] + leaf);
                }
            }
        }
        for (String[] head : HEAD_NAMES) m.put(head[0], head[1]);
        return Collections.unmodifiableMap(m);
    }

    /**
     * The {@link BertConfig} of the {@link Bert} that computes {@code c}'s function (see the class comment).
     *
     * @throws IllegalArgumentException if {@code activation} is not {@code gelu}
     */
    public static BertConfig bertConfig(DistilBertConfig c) {
        Objects.requireNonNull(c, "config");
        if (!c.activation().equals("gelu")) {
            throw new IllegalArgumentException("config: activation = " + c.activation() + " is not supported;"
                    + " need gelu (the exact erf form)");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        for (String key : List.of("pad_token_id", "tie_word_embeddings")) {
            if (c.extra().containsKey(key)) extra.put(key, c.extra().get(key));
        }
        return new BertConfig(c.vocabSize(), c.dim(), c.nLayers(), c.nHeads(), c.hiddenDim(), c.activation(),
                c.maxPositionEmbeddings(), 1, LAYER_NORM_EPS, extra);
    }

    /**
     * The DistilBERT configuration of a {@link Bert} of configuration {@code c}, for converting a student to
     * DistilBERT: the sizes, {@code activation gelu}, learned positions ({@code sinusoidal_pos_embds false}),
     * {@code pad_token_id} (if {@code c} has one) and {@code architectures [DistilBertForMaskedLM]}.
     * {@code type_vocab_size} may be anything (see {@link #save(Bert, Path)}).
     *
     * @throws IllegalArgumentException if {@code layer_norm_eps} is not 1e-12 (DistilBERT cannot express another)
     */
    public static DistilBertConfig distilBertConfig(BertConfig c) {
        Objects.requireNonNull(c, "config");
        if (c.layerNormEps() != LAYER_NORM_EPS) {
            throw new IllegalArgumentException("config: layer_norm_eps = " + c.layerNormEps() + " cannot be saved"
                    + " as DistilBERT, whose LayerNorms use eps " + LAYER_NORM_EPS + " (fixed in its code); need 1e-12");
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("architectures", List.of("DistilBertForMaskedLM"));
        if (c.extra().containsKey("pad_token_id")) extra.put("pad_token_id", c.extra().get("pad_token_id"));
        return new DistilBertConfig(c.vocabSize(), c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.intermediateSize(), c.hiddenAct(), c.maxPositionEmbeddings(), false, extra);
    }

    // ------------------------------------------------------------------------------------------------
    // load

    /**
     * Loads a Hugging Face DistilBERT directory ({@code config.json} with {@code model_type distilbert} +
     * {@code model.safetensors}, F32/F16/BF16, with or without the {@code distilbert.} prefix) with its MLM head
     * into a {@link Bert} of configuration {@link #bertConfig} whose token-type row is zero. Names and shapes are
     * checked against the config by {@link HfCheckpoint} (errors name the tensor, its shape and the expected
     * one); a present {@code vocab_projector.weight} must equal the word embeddings bit for bit (tied).
     *
     * @param dir  the checkpoint directory
     * @param maxB largest batch size, &gt;= 1
     * @param maxT largest sequence length, in [1, max_position_embeddings]
     * @throws CheckpointFormatException for a config of another model type, a checkpoint without the MLM head,
     *         an untied decoder, or a tensor missing or of the wrong shape
     */
    public static Bert load(Path dir, int maxB, int maxT) {
        Objects.requireNonNull(dir, "dir");
        HfCheckpoint ck = HfCheckpoint.load(dir);
        HfConfig hc = ck.config();
        if (!(hc instanceof DistilBertConfig cfg)) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.CONFIG_FILE) + ": model_type is "
                    + hc.modelType() + "; need " + DistilBertConfig.MODEL_TYPE
                    + (hc instanceof BertConfig ? " (load BERT checkpoints with Bert.load)" : ""));
        }
        if (!ck.tensors().containsKey(HEAD_MARKER)) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.WEIGHTS_FILE) + ": no MLM head"
                    + " (vocab_transform, vocab_layer_norm, vocab_projector); DistilBertForMaskedLM needs it");
        }
        BertConfig bc;
        try {
            bc = bertConfig(cfg);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.CONFIG_FILE) + ": " + e.getMessage(), e);
        }
        Bert m = new Bert(bc, maxB, maxT, 0L);          // every parameter is overwritten below
        Map<String, FloatTensor> params = m.parameters();
        for (Map.Entry<String, String> e : tensorNames(cfg.nLayers()).entrySet()) {
            String file = fileName(e.getValue(), ck.prefix());
            params.get(e.getKey()).copyFrom(ck.tensor(file).data());
        }
        params.get(TOKEN_TYPES).fill(0f);                                            // [1, D]
        TiedWeights.requireEqual(dir, ck.tensors().get(TIED_DECODER), params.get(WORD),            // [V, D]
                fileName(PREFIX + "embeddings.word_embeddings.weight", ck.prefix()), "only a tied decoder is supported");
        return m;
    }

    /** A backbone name ({@code distilbert.} prefix) as a file with prefix {@code prefix} names it. */
    private static String fileName(String name, String prefix) {
        return name.startsWith(PREFIX) ? prefix + name.substring(PREFIX.length()) : name;
    }

    // ------------------------------------------------------------------------------------------------
    // save

    /**
     * Writes {@code model} as a Hugging Face DistilBERT directory: {@code config} as {@code config.json} and
     * {@code model.safetensors} (F32, the {@code distilbert.} prefix, no {@code vocab_projector.weight}: tied),
     * each file atomically ({@link HfCheckpoint#save}). The token-type row is folded into the position table
     * (see the class comment; nothing changes while it is zero).
     *
     * @param model  a model whose sizes are {@code config}'s
     * @param config the DistilBERT configuration to write (e.g. the one read with the checkpoint, to keep its
     *               other fields)
     * @param dir    the directory (created if absent)
     * @throws IllegalArgumentException if a size of {@code model} differs from {@code config}'s, naming both, or
     *         the model's LayerNorm eps is not 1e-12
     */
    public static void save(Bert model, DistilBertConfig config, Path dir) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(dir, "dir");
        BertConfig b = model.config();
        requireSame("vocab_size", config.vocabSize(), "vocab_size", b.vocabSize());
        requireSame("dim", config.dim(), "hidden_size", b.hiddenSize());
        requireSame("n_layers", config.nLayers(), "num_hidden_layers", b.numHiddenLayers());
        requireSame("n_heads", config.nHeads(), "num_attention_heads", b.numAttentionHeads());
        requireSame("hidden_dim", config.hiddenDim(), "intermediate_size", b.intermediateSize());
        requireSame("max_position_embeddings", config.maxPositionEmbeddings(), "max_position_embeddings",
                b.maxPositionEmbeddings());
        if (!config.activation().equals(b.hiddenAct())) {
            throw new IllegalArgumentException("config: activation = " + config.activation()
                    + " but the model's hidden_act = " + b.hiddenAct());
        }
        distilBertConfig(b);                                                         // eps check

        Map<String, FloatTensor> params = model.parameters();
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, String> e : tensorNames(config.nLayers()).entrySet()) {
            FloatTensor p = params.get(e.getKey());
            float[] data = p.toFloatArray();
            if (e.getKey().equals(POSITIONS)) foldTokenType(data, params.get(TOKEN_TYPES), b.hiddenSize());
            out.add(NamedTensor.f32(e.getValue(), p.shape(), data));
        }
        HfCheckpoint.save(dir, config, out);
    }

    /**
     * Converts {@code model} to DistilBERT: {@link #save(Bert, DistilBertConfig, Path)} with
     * {@link #distilBertConfig}{@code (model.config())}. Row 0 of the token-type table is folded into the
     * positions (other rows, if any, are dropped: DistilBERT inputs have no token types).
     */
    public static void save(Bert model, Path dir) {
        Objects.requireNonNull(model, "model");
        save(model, distilBertConfig(model.config()), dir);
    }

    /** positions [P, D] += token_type row 0 [D] on every row, unless that row is all zero (then bit-exact). */
    private static void foldTokenType(float[] positions, FloatTensor tokenTypes, int d) {
        boolean zero = true;
        for (int j = 0; j < d; j++) zero &= tokenTypes.get(j) == 0f;
        if (zero) return;
        for (int i = 0; i < positions.length; i++) positions[i] += tokenTypes.get(i % d);
    }

    private static void requireSame(String field, int value, String modelField, int modelValue) {
        if (value != modelValue) {
            throw new IllegalArgumentException("config: " + field + " = " + value + " but the model's " + modelField
                    + " = " + modelValue);
        }
    }
}
