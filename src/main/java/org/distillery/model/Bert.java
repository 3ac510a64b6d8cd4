package org.distillery.model;

import org.distillery.util.Seeds;

import org.distillery.engine.kernels.AddKernels;
import org.distillery.engine.kernels.AttentionKernel;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.DropoutKernel;
import org.distillery.engine.kernels.EmbeddingKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.GeluErfKernel;
import org.distillery.engine.kernels.LayerNormKernel;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.io.BertConfig;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * BERT (Devlin et al. 2019) with its masked-language-model head, exactly the Hugging Face
 * {@code BertForMaskedLM} architecture, on the hand-written kernels of {@code org.distillery.engine.kernels}.
 * With H = hidden_size, I = intermediate_size, V = vocab_size, N = B*T token rows, LN = LayerNorm(eps =
 * layer_norm_eps) and gelu the exact erf form ({@link GeluErfKernel}):
 * <pre>
 *   x = LN_emb(word[ids] + position[0..T-1] + token_type[types])          [N, H]  (types default to 0)
 *   per layer i (post-LN):
 *     qkv = [x Wq^T + bq | x Wk^T + bk | x Wv^T + bv]                     [N, 3H]
 *     x   = LN_attn(attention.output.dense(attn(qkv, lengths)) + x)       bidirectional, padded keys masked
 *     x   = LN_out(output.dense(gelu(intermediate.dense(x))) + x)         [N, I] inside
 *   h      = x                                                            lastHiddenState(), [N, H]
 *   y      = LN_head(gelu(cls.predictions.transform.dense(h)))            [N, H]
 *   logits = y word^T + cls.predictions.bias                              [N, V] (decoder tied to word)
 *   loss   = mean cross-entropy over labels != -100 (no shift)
 * </pre>
 * <b>Padding.</b> Sequences are right-padded: {@code lengths[b]} real tokens, then padding. Padded positions are
 * masked as keys only (HF adds the dtype's minimum to their scores, i.e. their probability is exactly 0);
 * as queries they are computed like any other position, so their logits are defined (give them label -100).
 * Position ids are 0..T-1 for every sequence.
 *
 * <p><b>Query/key/value packing.</b> The parameters are the three HF tensors {@code attention.self.query /
 * key / value} ({@code [H, H]} weights, {@code [H]} biases) and so are their gradients. For the fused-qkv
 * {@link AttentionKernel} they are packed, per layer, into one shared {@code [3H, H]} weight and {@code [3H]}
 * bias (rows 0..H-1 query, H..2H-1 key, 2H..3H-1 value; in the {@code [out, in]} layout each HF weight is
 * one contiguous block, so packing is three block copies), and one GEMM produces
 * {@code qkv = [Q | K | V]}, the column layout the kernel reads. Packing happens at every forward and
 * backward (so optimiser updates of the HF tensors are always seen); in backward the three gradients are
 * packed into a shared {@code [3H, H]} / {@code [3H]} gradient buffer, the GEMM accumulates into it and the
 * blocks are copied back, so the HF gradients stay accumulating ({@code +=}). The copies cost 3H^2 floats per
 * layer, small against the GEMMs' N 3H^2 multiply-adds.
 *
 * <p><b>Padding index.</b> As HF's {@code nn.Embedding(padding_idx = pad_token_id)}, the word-embedding row of
 * {@code pad_token_id} (from {@code config.json}, HF default 0; none if null) is zero at initialisation and
 * receives no gradient from the embedding lookup (it still receives the tied decoder's gradient).
 *
 * <p>Parameters live in one {@link LinkedHashMap} under the Hugging Face names ({@code bert.} prefix for the
 * backbone, {@code cls.} for the head, as {@link BertConfig#expectedTensors()}), with a gradient map of the
 * same names and shapes; weights are nn.Linear {@code [out, in]}, the kernels' layout, so checkpoints load
 * without transposes. Activations and gradient buffers are allocated per batch shape (B, T) and reused, as
 * in {@link Gpt}. Dropout (HF {@code hidden_dropout_prob}: embedding output and both sublayer outputs; HF
 * {@code attention_probs_dropout_prob}: the attention probabilities; one p for both) is off by default; see
 * {@link #setDropout}.
 *
 * <p>Not thread-safe: one forward/backward at a time.
 */
public final class Bert implements TrainableModel {
    /** Label value that marks a position without loss (PyTorch's default {@code ignore_index}). */
    public static final int IGNORE_INDEX = CrossEntropyKernel.DEFAULT_IGNORE_INDEX;

    private final BertConfig config;
    private final int maxB, maxT, vocab, hidden, inner, nLayer, nHead, nTypes;
    private final int padId;                                 // -1: no padding index
    private final float eps;

    private final NamedParameters named = new NamedParameters();

    private final FloatTensor wordEmb, posEmb, typeEmb, embLnW, embLnB;      // [V, H], [P, H], [TT, H], [H], [H]
    private final FloatTensor dwordEmb, dposEmb, dtypeEmb, dembLnW, dembLnB;
    private final Layer[] layers;
    private final FloatTensor headW, headB, headLnW, headLnB, decBias;       // [H, H], [H], [H], [H], [V]
    private final FloatTensor dheadW, dheadB, dheadLnW, dheadLnB, ddecBias;

    // packed query/key/value of the layer being computed (shared by all layers), see the class comment
    private final FloatTensor qkvW, qkvB, dqkvW, dqkvB;                       // [3H, H], [3H], [3H, H], [3H]
    private final FloatTensor padRow;                                        // [H]: saved pad-row gradient

    private final Map<Long, Activations> byShape = new HashMap<>();
    private Activations acts;
    private boolean hasLoss;
    private boolean headValid = true;                        // false after forwardEncoder

    private double dropout;
    private long dropoutSeed;
    private long forwardCount;
    private long stepSeed;

    /** The parameters (and gradients) of one encoder layer. */
    private static final class Layer {
        FloatTensor qW, qB, kW, kB, vW, vB, aoW, aoB, aoLnW, aoLnB, inW, inB, outW, outB, outLnW, outLnB;
        FloatTensor dqW, dqB, dkW, dkB, dvW, dvB, daoW, daoB, daoLnW, daoLnB, dinW, dinB, doutW, doutB, doutLnW, doutLnB;
    }

    /**
     * A model with BERT's initialisation (HF {@code _init_weights}, initializer_range 0.02): linear weights
     * and embeddings N(0, 0.02) drawn in parameter order from {@code new Random(seed)}, the padding row of
     * the word embeddings 0, biases (including {@code cls.predictions.bias}) 0, LayerNorm gains 1 and biases 0.
     *
     * @param config model configuration ({@code hidden_act = gelu}, absolute positions, tied decoder)
     * @param maxB   largest batch size, &gt;= 1
     * @param maxT   largest sequence length, in [1, max_position_embeddings]
     * @param seed   initialisation seed
     */
    public Bert(BertConfig config, int maxB, int maxT, long seed) {
        this(config, maxB, maxT);
        Random rnd = new Random(seed);
        for (Map.Entry<String, FloatTensor> e : named.parameters().entrySet()) {
            String name = e.getKey();
            FloatTensor p = e.getValue();
            if (name.endsWith("bias")) {
                p.fill(0f);
            } else if (isLayerNorm(name)) {
                p.fill(1f);
            } else {
                for (int i = 0; i < p.size(); i++) p.set(i, (float) (0.02 * rnd.nextGaussian()));
            }
        }
        if (padId >= 0) for (int j = 0; j < hidden; j++) wordEmb.set(padId * hidden + j, 0f);
    }

    /** Allocates parameters (zero), gradients and the construction shape's activations. */
    private Bert(BertConfig config, int maxB, int maxT) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        if (!config.hiddenAct().equals("gelu")) {
            throw new IllegalArgumentException("config: hidden_act = " + config.hiddenAct() + " is not supported;"
                    + " need gelu (the exact erf form)");
        }
        if (config.hiddenSize() % config.numAttentionHeads() != 0) {     // BertConfig checks this too
            throw new IllegalArgumentException("config: hidden_size = " + config.hiddenSize()
                    + " is not divisible by num_attention_heads = " + config.numAttentionHeads());
        }
        Object pet = config.extra().get("position_embedding_type");
        if (pet != null && !pet.equals("absolute")) {
            throw new IllegalArgumentException("config: position_embedding_type = " + pet
                    + " is not supported; need absolute");
        }
        if (Boolean.FALSE.equals(config.extra().get("tie_word_embeddings"))) {
            throw new IllegalArgumentException("config: tie_word_embeddings = false is not supported (the MLM"
                    + " decoder is word_embeddings); need true");
        }
        if (maxB < 1) throw new IllegalArgumentException("maxB: batch size must be >= 1 but was " + maxB);
        if (maxT < 1 || maxT > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("maxT: sequence length " + maxT + " is outside [1, max_position_embeddings = "
                    + config.maxPositionEmbeddings() + "] (the position table has " + config.maxPositionEmbeddings()
                    + " rows)");
        }
        this.config = config;
        this.maxB = maxB;
        this.maxT = maxT;
        this.vocab = config.vocabSize();
        this.hidden = config.hiddenSize();
        this.inner = config.intermediateSize();
        this.nLayer = config.numHiddenLayers();
        this.nHead = config.numAttentionHeads();
        this.nTypes = config.typeVocabSize();
        this.eps = (float) config.layerNormEps();
        this.padId = padTokenId(config);
        int h = hidden;
        String emb = "bert.embeddings.";
        wordEmb = param(emb + "word_embeddings.weight", vocab, h);                         dwordEmb = grad(emb + "word_embeddings.weight");
        posEmb = param(emb + "position_embeddings.weight", config.maxPositionEmbeddings(), h); dposEmb = grad(emb + "position_embeddings.weight");
        typeEmb = param(emb + "token_type_embeddings.weight", nTypes, h);                  dtypeEmb = grad(emb + "token_type_embeddings.weight");
        embLnW = param(emb + "LayerNorm.weight", h);                                       dembLnW = grad(emb + "LayerNorm.weight");
        embLnB = param(emb + "LayerNorm.bias", h);                                         dembLnB = grad(emb + "LayerNorm.bias");
        layers = new Layer[nLayer];
        for (int i = 0; i < nLayer; i++) {
            String l = "bert.encoder.layer." + i + ".";
            Layer w = new Layer();
            w.qW = param(l + "attention.self.query.weight", h, h);          w.dqW = grad(l + "attention.self.query.weight");
            w.qB = param(l + "attention.self.query.bias", h);               w.dqB = grad(l + "attention.self.query.bias");
            w.kW = param(l + "attention.self.key.weight", h, h);            w.dkW = grad(l + "attention.self.key.weight");
            w.kB = param(l + "attention.self.key.bias", h);                 w.dkB = grad(l + "attention.self.key.bias");
            w.vW = param(l + "attention.self.value.weight", h, h);          w.dvW = grad(l + "attention.self.value.weight");
            w.vB = param(l + "attention.self.value.bias", h);               w.dvB = grad(l + "attention.self.value.bias");
            w.aoW = param(l + "attention.output.dense.weight", h, h);       w.daoW = grad(l + "attention.output.dense.weight");
            w.aoB = param(l + "attention.output.dense.bias", h);            w.daoB = grad(l + "attention.output.dense.bias");
            w.aoLnW = param(l + "attention.output.LayerNorm.weight", h);    w.daoLnW = grad(l + "attention.output.LayerNorm.weight");
            w.aoLnB = param(l + "attention.output.LayerNorm.bias", h);      w.daoLnB = grad(l + "attention.output.LayerNorm.bias");
            w.inW = param(l + "intermediate.dense.weight", inner, h);       w.dinW = grad(l + "intermediate.dense.weight");   // [I, H]
            w.inB = param(l + "intermediate.dense.bias", inner);            w.dinB = grad(l + "intermediate.dense.bias");
            w.outW = param(l + "output.dense.weight", h, inner);            w.doutW = grad(l + "output.dense.weight");        // [H, I]
            w.outB = param(l + "output.dense.bias", h);                     w.doutB = grad(l + "output.dense.bias");
            w.outLnW = param(l + "output.LayerNorm.weight", h);             w.doutLnW = grad(l + "output.LayerNorm.weight");
            w.outLnB = param(l + "output.LayerNorm.bias", h);               w.doutLnB = grad(l + "output.LayerNorm.bias");
            layers[i] = w;
        }
        String tr = "cls.predictions.transform.";
        headW = param(tr + "dense.weight", h, h);        dheadW = grad(tr + "dense.weight");
        headB = param(tr + "dense.bias", h);             dheadB = grad(tr + "dense.bias");
        headLnW = param(tr + "LayerNorm.weight", h);     dheadLnW = grad(tr + "LayerNorm.weight");
        headLnB = param(tr + "LayerNorm.bias", h);       dheadLnB = grad(tr + "LayerNorm.bias");
        decBias = param("cls.predictions.bias", vocab);  ddecBias = grad("cls.predictions.bias");
        qkvW = FloatTensor.zeros(3 * h, h);
        qkvB = FloatTensor.zeros(3 * h);
        dqkvW = FloatTensor.zeros(3 * h, h);
        dqkvB = FloatTensor.zeros(3 * h);
        padRow = FloatTensor.zeros(h);
        acts = activations(maxB, maxT);
    }

    /** HF's {@code pad_token_id} (default 0 when absent; -1 for null, i.e. no padding index). */
    private static int padTokenId(BertConfig config) {
        Map<String, Object> extra = config.extra();
        if (!extra.containsKey("pad_token_id")) return 0;
        Object v = extra.get("pad_token_id");
        if (v == null) return -1;
        if (!(v instanceof Number n) || n.doubleValue() != n.intValue() || n.intValue() < 0
                || n.intValue() >= config.vocabSize()) {
            throw new IllegalArgumentException("config: pad_token_id = " + v + " is not a token id in [0, vocab_size = "
                    + config.vocabSize() + ")");
        }
        return n.intValue();
    }

    private FloatTensor param(String name, int... shape) {
        return named.add(name, shape);
    }

    private FloatTensor grad(String name) {
        return named.grad(name);
    }

    private static boolean isLayerNorm(String name) {
        return name.contains(".LayerNorm.");
    }

    // ------------------------------------------------------------------------------------------------
    // activations

    /** Every buffer of one batch shape (B, T); N = B*T. */
    private final class Activations {
        final int b, t, n;
        final int[] ids, types, labels;           // [N]
        final int[] lengths;                      // [B]
        final FloatTensor embSum;                 // [N, H]  word + position + token type
        final FloatTensor embLn, embMean, embRstd; // [N, H], [N], [N]  LN_emb output (after dropout): layer 0 input
        final FloatTensor[] qkv;                  // per layer [N, 3H]
        final FloatTensor[] atty;                 // per layer [N, H]  attention output, heads merged
        final FloatTensor[] res1;                 // per layer [N, H]  drop(attention.output.dense(atty)) + x
        final FloatTensor[] ln1, ln1Mean, ln1Rstd; // per layer: attention.output.LayerNorm(res1)
        final FloatTensor[] inter, interGelu;     // per layer [N, I]  intermediate.dense output, gelu of it
        final FloatTensor[] res2;                 // per layer [N, H]  drop(output.dense(interGelu)) + ln1
        final FloatTensor[] ln2, ln2Mean, ln2Rstd; // per layer: output.LayerNorm(res2), the layer output
        final AttentionKernel[] attention;        // per layer, owns P [B, nh, T, T]
        final FloatTensor headT, headGelu;        // [N, H]  transform.dense output, gelu of it
        final FloatTensor headLn, headMean, headRstd; // [N, H], [N], [N]
        final FloatTensor logits, dlogits;        // [N, V]
        final FloatTensor dres, dtmp, dln, dbranch; // [N, H] gradient scratch
        final FloatTensor dqkv;                   // [N, 3H]
        final FloatTensor dinter, dinterGelu;     // [N, I]

        Activations(int b, int t) {
            this.b = b;
            this.t = t;
            this.n = b * t;
            int h = hidden, l = nLayer;
            ids = new int[n];
            types = new int[n];
            labels = new int[n];
            lengths = new int[b];
            embSum = FloatTensor.zeros(n, h);
            embLn = FloatTensor.zeros(n, h);
            embMean = FloatTensor.zeros(n);
            embRstd = FloatTensor.zeros(n);
            qkv = new FloatTensor[l]; atty = new FloatTensor[l]; res1 = new FloatTensor[l];
            ln1 = new FloatTensor[l]; ln1Mean = new FloatTensor[l]; ln1Rstd = new FloatTensor[l];
            inter = new FloatTensor[l]; interGelu = new FloatTensor[l]; res2 = new FloatTensor[l];
            ln2 = new FloatTensor[l]; ln2Mean = new FloatTensor[l]; ln2Rstd = new FloatTensor[l];
            attention = new AttentionKernel[l];
            for (int i = 0; i < l; i++) {
                qkv[i] = FloatTensor.zeros(n, 3 * h);
                atty[i] = FloatTensor.zeros(n, h);
                res1[i] = FloatTensor.zeros(n, h);
                ln1[i] = FloatTensor.zeros(n, h);
                ln1Mean[i] = FloatTensor.zeros(n);
                ln1Rstd[i] = FloatTensor.zeros(n);
                inter[i] = FloatTensor.zeros(n, inner);
                interGelu[i] = FloatTensor.zeros(n, inner);
                res2[i] = FloatTensor.zeros(n, h);
                ln2[i] = FloatTensor.zeros(n, h);
                ln2Mean[i] = FloatTensor.zeros(n);
                ln2Rstd[i] = FloatTensor.zeros(n);
                attention[i] = new AttentionKernel(b, t, h, nHead, false);
            }
            headT = FloatTensor.zeros(n, h);
            headGelu = FloatTensor.zeros(n, h);
            headLn = FloatTensor.zeros(n, h);
            headMean = FloatTensor.zeros(n);
            headRstd = FloatTensor.zeros(n);
            logits = FloatTensor.zeros(n, vocab);
            dlogits = FloatTensor.zeros(n, vocab);
            dres = FloatTensor.zeros(n, h);
            dtmp = FloatTensor.zeros(n, h);
            dln = FloatTensor.zeros(n, h);
            dbranch = FloatTensor.zeros(n, h);
            dqkv = FloatTensor.zeros(n, 3 * h);
            dinter = FloatTensor.zeros(n, inner);
            dinterGelu = FloatTensor.zeros(n, inner);
        }
    }

    private Activations activations(int b, int t) {
        long key = ((long) b << 32) | t;
        Activations a = byShape.get(key);
        if (a == null) {
            a = new Activations(b, t);
            byShape.put(key, a);
        }
        return a;
    }

    // ------------------------------------------------------------------------------------------------
    // forward / backward

    /**
     * Forward pass over {@code B} right-padded sequences of {@code T} tokens (row-major: token t of sequence b
     * is {@code ids[b*T + t]}). Keeps the activations for {@link #backward()}, the logits for {@link #logits()}
     * and the encoder output for {@link #lastHiddenState()}.
     *
     * @param ids        token ids, length B*T, each in [0, vocab_size) (padding positions too)
     * @param tokenTypes token type (segment) ids, length B*T, each in [0, type_vocab_size); null = all 0
     * @param lengths    real length of each sequence, length B, each in [1, T] (positions from lengths[b] on are
     *                   padding: masked as keys); null = all T (HF {@code attention_mask} all ones)
     * @param labels     MLM labels, length B*T, each in [0, vocab_size) or {@link #IGNORE_INDEX}; or null for
     *                   logits only
     * @param b          batch size, in [1, maxB]
     * @param t          sequence length, in [1, maxT]
     * @return the mean cross-entropy over non-ignored labels (nats), 0 if all are ignored, NaN when
     *         {@code labels} is null
     */
    public double forward(int[] ids, int[] tokenTypes, int[] lengths, int[] labels, int b, int t) {
        checkBatch(ids, tokenTypes, lengths, labels, b, t);
        Activations a = encode(ids, tokenTypes, lengths, b, t);
        LinearKernel.forward(a.ln2[nLayer - 1], headW, headB, a.headT);              // MLM head
        GeluErfKernel.forward(a.headT, a.headGelu);
        LayerNormKernel.forward(a.headGelu, headLnW, headLnB, eps, a.headLn, a.headMean, a.headRstd);
        LinearKernel.forward(a.headLn, wordEmb, decBias, a.logits);                   // [N, V] = y word^T + bias
        headValid = true;
        hasLoss = labels != null;
        if (!hasLoss) return Double.NaN;
        System.arraycopy(labels, 0, a.labels, 0, a.n);
        return CrossEntropyKernel.forwardBackward(a.logits, a.labels, IGNORE_INDEX, a.dlogits);
    }

    /**
     * The encoder only, without the MLM head (for heads of other tasks on {@link #lastHiddenState()}, e.g.
     * {@link BertClassifier}): the MLM logits are not computed ({@link #logits()} refuses until the next
     * {@link #forward}); differentiate with {@code backward(null, dhidden)}.
     */
    public void forwardEncoder(int[] ids, int[] tokenTypes, int[] lengths, int b, int t) {
        checkBatch(ids, tokenTypes, lengths, null, b, t);
        encode(ids, tokenTypes, lengths, b, t);
        headValid = false;
        hasLoss = false;
    }

    /** Embeddings and encoder layers of one (checked) batch; returns the activations holding them. */
    private Activations encode(int[] ids, int[] tokenTypes, int[] lengths, int b, int t) {
        if (acts.b != b || acts.t != t) acts = activations(b, t);
        Activations a = acts;
        int n = a.n;
        System.arraycopy(ids, 0, a.ids, 0, n);
        if (tokenTypes == null) Arrays.fill(a.types, 0); else System.arraycopy(tokenTypes, 0, a.types, 0, n);
        if (lengths == null) Arrays.fill(a.lengths, t); else System.arraycopy(lengths, 0, a.lengths, 0, b);
        boolean drop = dropout > 0;
        if (drop) stepSeed = Seeds.mix(dropoutSeed, ++forwardCount);

        EmbeddingKernel.forward(a.ids, t, wordEmb, posEmb, a.embSum);                 // word + position
        EmbeddingKernel.forwardAdd(a.types, typeEmb, a.embSum);                       // + token type
        LayerNormKernel.forward(a.embSum, embLnW, embLnB, eps, a.embLn, a.embMean, a.embRstd);
        if (drop) DropoutKernel.forward(a.embLn, a.embLn, dropout, siteSeed(0));
        FloatTensor x = a.embLn;
        for (int l = 0; l < nLayer; l++) {
            Layer w = layers[l];
            packQkv(w);
            LinearKernel.forward(x, qkvW, qkvB, a.qkv[l]);                            // [N, 3H] = [Q | K | V]
            if (drop) a.attention[l].forward(a.qkv[l], a.lengths, a.atty[l], dropout, siteSeed(attentionSite(l)));
            else a.attention[l].forward(a.qkv[l], a.lengths, a.atty[l]);               // [N, H]
            LinearKernel.forward(a.atty[l], w.aoW, w.aoB, a.res1[l]);
            if (drop) DropoutKernel.forward(a.res1[l], a.res1[l], dropout, siteSeed(2 * l + 1));
            AddKernels.residualAdd(a.res1[l], x, a.res1[l]);
            LayerNormKernel.forward(a.res1[l], w.aoLnW, w.aoLnB, eps, a.ln1[l], a.ln1Mean[l], a.ln1Rstd[l]);
            LinearKernel.forward(a.ln1[l], w.inW, w.inB, a.inter[l]);                 // [N, I]
            GeluErfKernel.forward(a.inter[l], a.interGelu[l]);
            LinearKernel.forward(a.interGelu[l], w.outW, w.outB, a.res2[l]);          // [N, H]
            if (drop) DropoutKernel.forward(a.res2[l], a.res2[l], dropout, siteSeed(2 * l + 2));
            AddKernels.residualAdd(a.res2[l], a.ln1[l], a.res2[l]);
            LayerNormKernel.forward(a.res2[l], w.outLnW, w.outLnB, eps, a.ln2[l], a.ln2Mean[l], a.ln2Rstd[l]);
            x = a.ln2[l];
        }
        return a;
    }

    /**
     * Backward pass of the last {@link #forward} (which must have had labels): accumulates d loss / d parameter
     * into {@link #gradients()}. Call {@link #zeroGrad()} once per step before.
     */
    public void backward() {
        if (!hasLoss) {
            throw new IllegalStateException("backward: the last forward had no labels (or there was none)");
        }
        backpropagate(acts.dlogits, null);
    }

    /**
     * Backward from gradients computed outside the model, e.g. by a distillation loss on the logits of a
     * forward without labels and on {@link #lastHiddenState()}: accumulates into {@link #gradients()}.
     *
     * @param dlogits d loss / d MLM logits [B*T, V] of the last forward, or null for none
     * @param dhidden d loss / d last hidden state [B*T, H], or null for none
     */
    public void backward(FloatTensor dlogits, FloatTensor dhidden) {
        if (acts == null) throw new IllegalStateException("backward: no forward to differentiate");
        int n = acts.n;
        ExternalGradients.check(dlogits, dhidden, n, vocab, hidden, "hidden_size");
        if (dlogits != null && !headValid) {
            throw new IllegalStateException("backward: dlogits given, but the last forward was forwardEncoder (no MLM head)");
        }
        backpropagate(dlogits, dhidden);
    }

    /** The backward pass from d logits and/or d (last hidden state), either may be null. */
    private void backpropagate(FloatTensor dlogits, FloatTensor dhidden) {
        Activations a = acts;
        boolean drop = dropout > 0;
        FloatTensor dres = a.dres, dtmp = a.dtmp;
        FloatTensor xLast = a.ln2[nLayer - 1];
        if (dlogits != null) {
            // head: logits = LN_head(gelu(xLast W^T + b)) word^T + bias
            LinearKernel.backward(dlogits, a.headLn, wordEmb, a.dln, dwordEmb, ddecBias);
            LayerNormKernel.backward(a.dln, a.headGelu, a.headMean, a.headRstd, headLnW, dtmp, dheadLnW, dheadLnB);
            GeluErfKernel.backward(dtmp, a.headT, a.dln);
            LinearKernel.backward(a.dln, xLast, headW, dres, dheadW, dheadB);          // dres = d xLast
        } else {
            dres.fill(0f);
        }
        if (dhidden != null) AddKernels.accumulate(dres, dhidden);
        for (int l = nLayer - 1; l >= 0; l--) {
            Layer w = layers[l];
            FloatTensor xIn = l == 0 ? a.embLn : a.ln2[l - 1];
            // ln2 = LN_out(res2), res2 = drop(output.dense(gelu(intermediate.dense(ln1)))) + ln1
            LayerNormKernel.backward(dres, a.res2[l], a.ln2Mean[l], a.ln2Rstd[l], w.outLnW, dtmp, w.doutLnW, w.doutLnB);
            FloatTensor dy = dtmp;
            if (drop) {
                DropoutKernel.backward(dtmp, a.dbranch, dropout, siteSeed(2 * l + 2));
                dy = a.dbranch;
            }
            LinearKernel.backward(dy, a.interGelu[l], w.outW, a.dinterGelu, w.doutW, w.doutB);
            GeluErfKernel.backward(a.dinterGelu, a.inter[l], a.dinter);
            LinearKernel.backward(a.dinter, a.ln1[l], w.inW, dres, w.dinW, w.dinB);
            AddKernels.accumulate(dres, dtmp);                                         // d ln1
            // ln1 = LN_attn(res1), res1 = drop(attention.output.dense(attn(qkv(xIn)))) + xIn
            LayerNormKernel.backward(dres, a.res1[l], a.ln1Mean[l], a.ln1Rstd[l], w.aoLnW, dtmp, w.daoLnW, w.daoLnB);
            dy = dtmp;
            if (drop) {
                DropoutKernel.backward(dtmp, a.dbranch, dropout, siteSeed(2 * l + 1));
                dy = a.dbranch;
            }
            LinearKernel.backward(dy, a.atty[l], w.aoW, a.dln, w.daoW, w.daoB);        // d atty
            a.attention[l].backward(a.dln, a.qkv[l], a.dqkv);
            packQkv(w);
            packQkvGrads(w);
            LinearKernel.backward(a.dqkv, xIn, qkvW, dres, dqkvW, dqkvB);
            unpackQkvGrads(w);
            AddKernels.accumulate(dres, dtmp);                                         // d xIn
        }
        if (drop) DropoutKernel.backward(dres, dres, dropout, siteSeed(0));
        LayerNormKernel.backward(dres, a.embSum, a.embMean, a.embRstd, embLnW, dtmp, dembLnW, dembLnB);
        if (padId >= 0) AddKernels.copyRange(dwordEmb, padId * hidden, padRow, 0, hidden);
        EmbeddingKernel.backward(dtmp, a.ids, a.t, dwordEmb, dposEmb);
        if (padId >= 0) AddKernels.copyRange(padRow, 0, dwordEmb, padId * hidden, hidden);  // padding_idx: no lookup gradient
        EmbeddingKernel.backwardAdd(dtmp, a.types, dtypeEmb);
    }

    /** query / key / value weights and biases of {@code w} into rows 0..H-1 / H..2H-1 / 2H..3H-1 of qkvW, qkvB. */
    private void packQkv(Layer w) {
        int hh = hidden * hidden;
        AddKernels.copyRange(w.qW, 0, qkvW, 0, hh);
        AddKernels.copyRange(w.kW, 0, qkvW, hh, hh);
        AddKernels.copyRange(w.vW, 0, qkvW, 2 * hh, hh);
        AddKernels.copyRange(w.qB, 0, qkvB, 0, hidden);
        AddKernels.copyRange(w.kB, 0, qkvB, hidden, hidden);
        AddKernels.copyRange(w.vB, 0, qkvB, 2 * hidden, hidden);
    }

    private void packQkvGrads(Layer w) {
        int hh = hidden * hidden;
        AddKernels.copyRange(w.dqW, 0, dqkvW, 0, hh);
        AddKernels.copyRange(w.dkW, 0, dqkvW, hh, hh);
        AddKernels.copyRange(w.dvW, 0, dqkvW, 2 * hh, hh);
        AddKernels.copyRange(w.dqB, 0, dqkvB, 0, hidden);
        AddKernels.copyRange(w.dkB, 0, dqkvB, hidden, hidden);
        AddKernels.copyRange(w.dvB, 0, dqkvB, 2 * hidden, hidden);
    }

    private void unpackQkvGrads(Layer w) {
        int hh = hidden * hidden;
        AddKernels.copyRange(dqkvW, 0, w.dqW, 0, hh);
        AddKernels.copyRange(dqkvW, hh, w.dkW, 0, hh);
        AddKernels.copyRange(dqkvW, 2 * hh, w.dvW, 0, hh);
        AddKernels.copyRange(dqkvB, 0, w.dqB, 0, hidden);
        AddKernels.copyRange(dqkvB, hidden, w.dkB, 0, hidden);
        AddKernels.copyRange(dqkvB, 2 * hidden, w.dvB, 0, hidden);
    }

    /** Sets every gradient to 0. */
    public void zeroGrad() {
        named.zeroGrad();
    }

    /**
     * Switches dropout on (p &gt; 0) or off (p = 0) on the embedding output (after its LayerNorm) and on the
     * outputs of {@code attention.output.dense} and {@code output.dense} (before the residual add and
     * LayerNorm), as HF's {@code hidden_dropout_prob}, and on every layer's attention probabilities (P after the
     * softmax, Y = dropout(P) V, see {@link AttentionKernel}), as HF's {@code attention_probs_dropout_prob}. One p
     * applies to both: BERT's configs carry the two separately but set them equal (0.1) in the released
     * checkpoints, and {@link BertConfig} does not read them. Masks are a pure function of (seed, forward call
     * count, site): site 0 the embedding, 2l+1 and 2l+2 the two sublayer outputs of layer l, 2 n_layers + 1 + l
     * its attention probabilities.
     *
     * @param p    drop probability in [0, 1)
     * @param seed mask seed
     */
    public void setDropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("p: dropout probability must be in [0, 1) but was " + p);
        this.dropout = p;
        this.dropoutSeed = seed;
        this.forwardCount = 0;
    }

    private long siteSeed(int site) {
        return Seeds.mix(stepSeed, site);
    }

    /** The dropout site of layer l's attention probabilities, after the 2 nLayer + 1 sites numbered before. */
    private int attentionSite(int l) {
        return 2 * nLayer + 1 + l;
    }


    private void checkBatch(int[] ids, int[] types, int[] lengths, int[] labels, int b, int t) {
        if (b < 1 || b > maxB) throw new IllegalArgumentException("b: batch size " + b + " is outside [1, maxB = " + maxB + "]");
        if (t < 1 || t > maxT) {
            throw new IllegalArgumentException("t: sequence length " + t + " is outside [1, maxT = " + maxT
                    + "] (max_position_embeddings = " + config.maxPositionEmbeddings() + ")");
        }
        int n = b * t;
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        if (ids.length != n) throw new IllegalArgumentException("ids: length " + ids.length + " but b*t = " + b + "*" + t + " = " + n);
        for (int i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("ids: token id " + ids[i] + " at position " + i + " (sequence "
                        + i / t + ", token " + i % t + ") is out of range [0, " + vocab + ") for vocab_size " + vocab);
            }
        }
        if (types != null) {
            if (types.length != n) {
                throw new IllegalArgumentException("tokenTypes: length " + types.length + " but b*t = " + b + "*" + t + " = " + n);
            }
            for (int i = 0; i < n; i++) {
                if (types[i] < 0 || types[i] >= nTypes) {
                    throw new IllegalArgumentException("tokenTypes: token type " + types[i] + " at position " + i
                            + " (sequence " + i / t + ", token " + i % t + ") is out of range [0, " + nTypes
                            + ") for type_vocab_size " + nTypes);
                }
            }
        }
        if (lengths != null) {
            if (lengths.length != b) throw new IllegalArgumentException("lengths: length " + lengths.length + " but b = " + b);
            for (int s = 0; s < b; s++) {
                if (lengths[s] < 1 || lengths[s] > t) {
                    throw new IllegalArgumentException("lengths: length " + lengths[s] + " of sequence " + s
                            + " is outside [1, t = " + t + "]");
                }
            }
        }
        if (labels == null) return;
        if (labels.length != n) {
            throw new IllegalArgumentException("labels: length " + labels.length + " but b*t = " + b + "*" + t + " = " + n);
        }
        for (int i = 0; i < n; i++) {
            if ((labels[i] < 0 || labels[i] >= vocab) && labels[i] != IGNORE_INDEX) {
                throw new IllegalArgumentException("labels: token id " + labels[i] + " at position " + i
                        + " is out of range [0, " + vocab + ") for vocab_size " + vocab + " and is not the ignore index "
                        + IGNORE_INDEX);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // accessors

    /** The logits of the last forward, [B*T, V] (a live buffer, overwritten by the next forward of that shape). */
    public FloatTensor logits() {
        if (!headValid) throw new IllegalStateException("logits: the last forward was forwardEncoder (no MLM head)");
        return acts.logits;
    }

    /**
     * The final encoder output of the last forward (HF {@code last_hidden_state}, before the MLM head),
     * [B*T, H] (a live buffer, overwritten by the next forward of that shape).
     */
    public FloatTensor lastHiddenState() { return acts.ln2[nLayer - 1]; }

    /**
     * The attention probabilities of the last layer in the last forward, [B, nh, T, T] (a live buffer;
     * undropped; exactly 0 on masked keys). Valid in both modes: in evaluation mode the layers share one
     * attention buffer, which then holds the last layer's.
     */
    public FloatTensor lastLayerAttention() {
        if (acts == null) throw new IllegalStateException("lastLayerAttention: no forward has run yet");
        return acts.attention[nLayer - 1].probabilities();
    }

    /**
     * Adds d(outside loss) / d P of the last layer's attention probabilities (e.g. attention-map
     * distillation) to the next backward.
     *
     * @param g [B, nh, T, T] of the last forward
     */
    public void addLastLayerAttentionGradient(FloatTensor g) {
        if (acts == null) throw new IllegalStateException("addLastLayerAttentionGradient: no forward has run yet");
        acts.attention[nLayer - 1].addProbabilityGradient(g);
    }

    /** The parameters by Hugging Face name ({@code bert.} / {@code cls.} prefixes), [out, in] weights. */
    public Map<String, FloatTensor> parameters() { return named.parameters(); }

    /** The gradients, same names and shapes as {@link #parameters()}. */
    public Map<String, FloatTensor> gradients() { return named.gradients(); }

    public BertConfig config() { return config; }

    public int maxBatch() { return maxB; }

    public int maxSequenceLength() { return maxT; }

    /** The word-embedding row that gets no lookup gradient ({@code pad_token_id}), or -1 for none. */
    public int paddingIndex() { return padId; }

    /** Total number of parameter elements (the word embeddings counted once: the decoder is tied). */
    public long parameterCount() {
        return named.count();
    }

    // ------------------------------------------------------------------------------------------------
    // checkpoints

    /**
     * Loads a Hugging Face BERT directory ({@code config.json} + {@code model.safetensors}) with the MLM head,
     * with or without the {@code bert.} prefix. A pooler is ignored; a present
     * {@code cls.predictions.decoder.weight} must equal the word embeddings (tied) and a present
     * {@code cls.predictions.decoder.bias} must equal {@code cls.predictions.bias}.
     *
     * @param dir  the checkpoint directory
     * @param maxB largest batch size
     * @param maxT largest sequence length (&lt;= max_position_embeddings)
     */
    public static Bert load(Path dir, int maxB, int maxT) {
        HfCheckpoint ck = HfCheckpoint.load(dir);
        HfConfig hc = ck.config();
        if (!(hc instanceof BertConfig cfg)) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.CONFIG_FILE) + ": model_type is "
                    + hc.modelType() + "; need " + BertConfig.MODEL_TYPE);
        }
        if (!ck.tensors().containsKey("cls.predictions.bias")) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.WEIGHTS_FILE) + ": no MLM head"
                    + " (cls.predictions.*); BertForMaskedLM needs it");
        }
        Bert m = new Bert(cfg, maxB, maxT);
        for (Map.Entry<String, FloatTensor> e : m.named.parameters().entrySet()) {
            String name = e.getKey();
            String file = name.startsWith("bert.") ? ck.prefix() + name.substring("bert.".length()) : name;
            e.getValue().copyFrom(ck.tensor(file).data());
        }
        TiedWeights.requireEqual(dir, ck.tensors().get("cls.predictions.decoder.weight"), m.wordEmb,
                "bert.embeddings.word_embeddings.weight", "only a tied decoder is supported");
        TiedWeights.requireEqual(dir, ck.tensors().get("cls.predictions.decoder.bias"), m.decBias, "cls.predictions.bias",
                "only a tied decoder is supported");
        return m;
    }

    /**
     * Writes this model as a Hugging Face BERT directory: {@code config.json} and {@code model.safetensors}
     * (F32, HF names with the {@code bert.} prefix, no pooler, no {@code cls.predictions.decoder.*}: tied).
     */
    public void save(Path dir) {
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : named.parameters().entrySet()) {
            out.add(NamedTensor.f32(e.getKey(), e.getValue().shape(), e.getValue().toFloatArray()));
        }
        HfCheckpoint.save(dir, config, out);
    }
}
