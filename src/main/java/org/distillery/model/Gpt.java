package org.distillery.model;

import org.distillery.util.Seeds;

import org.distillery.engine.kernels.AddKernels;
import org.distillery.engine.kernels.AttentionKernel;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.DropoutKernel;
import org.distillery.engine.kernels.EmbeddingKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.GeluKernel;
import org.distillery.engine.kernels.LayerNormKernel;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * GPT-2 (Radford et al. 2019), exactly the Hugging Face {@code GPT2LMHeadModel} architecture, on the
 * hand-written kernels of {@code org.distillery.engine.kernels}. With E = n_embd, I = inner size,
 * V = vocab size, N = B*T token rows:
 * <pre>
 *   x   = wte[ids] + wpe[pos]                                      [N, E]
 *   per layer i:
 *     a = x + c_proj(attn(c_attn(ln_1(x))))                        causal, fused qkv [N, 3E]
 *     x = a + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(a))))             [N, I] inside
 *   h      = ln_f(x)                                               [N, E]
 *   logits = h wte^T                                               [N, V] (tied head, no bias)
 *   loss   = mean cross-entropy over targets != -100
 * </pre>
 * Parameters live in one {@link LinkedHashMap} under the Hugging Face names (without the
 * {@code transformer.} prefix), in file order, with a gradient map of the same names and shapes. Linear
 * weights are kept in the kernels' {@code [out, in]} layout; GPT-2 checkpoints store them as Conv1D
 * {@code [in, out]}, so {@link #load} and {@link #save} transpose them.
 *
 * <p>Structurally pruned models ({@code org.distillery.prune}) have per-layer sizes, read from the config
 * ({@link Gpt2Config#headCount}, {@link Gpt2Config#innerSize(int)}): layer i has h_i heads of size E / n_head,
 * attention width A_i = h_i E / n_head ({@code c_attn} [3 A_i, E], {@code c_proj} [E, A_i]) and MLP width I_i;
 * A_i = E and I_i = I when unpruned.
 *
 * <p>Activation and gradient-scratch buffers are allocated per batch shape (B, T, B &lt;= maxB, T &lt;= maxT)
 * and mode at the first forward of that shape, then reused: training mode ({@link #train()}, the default)
 * keeps every layer's activations for backward; evaluation mode ({@link #eval()}) shares one set of layer
 * buffers across layers and has no gradient scratch, so a model that only evaluates needs about 1/L of
 * the memory. After that first forward, forward and backward allocate no tensors. Dropout (HF
 * {@code embd_pdrop}, {@code resid_pdrop} and {@code attn_pdrop}, one p for all three) is off by default
 * and applies in training mode only; see {@link #setDropout}.
 *
 * <p>Block-wise post-training methods (e.g. Norm Tweaking) run one transformer block alone with
 * {@link #embed}, {@link #forwardBlock} and {@link #backwardBlock}, on the same buffers and kernels as
 * {@link #forward} (chaining them reproduces its residual stream bit for bit).
 *
 * <p>Not thread-safe: one forward/backward at a time.
 */
public final class Gpt implements TrainableModel {
    /** Target value that marks a position without loss (PyTorch's default {@code ignore_index}). */
    public static final int IGNORE_INDEX = CrossEntropyKernel.DEFAULT_IGNORE_INDEX;

    private final Gpt2Config config;
    private final int maxB, maxT, vocab, embd, nLayer;
    private final int[] heads, attWidth, inner;               // per layer: heads, A = heads * E / n_head, MLP width I
    private final float eps;

    private final NamedParameters named = new NamedParameters();

    private final FloatTensor wte, wpe, lnfW, lnfB;          // [V, E], [P, E], [E], [E]
    private final FloatTensor dwte, dwpe, dlnfW, dlnfB;
    private final Block[] blocks;

    private final Map<Long, Activations> byShape = new HashMap<>();
    private Activations acts;                                 // the buffers of the last forward (null before the first)
    private boolean hasLoss;
    private int lastBlock = -1;                               // the block of the last forwardBlock, -1 otherwise
    private boolean blockwise;                                // the last forward was embed or forwardBlock
    private boolean training = true;                          // see train() / eval()

    private LinearInputHook linearInputHook;                  // null: off (see setLinearInputHook)

    private double dropout;
    private long dropoutSeed;
    private long forwardCount;
    private long stepSeed;

    /**
     * Called on the input of each linear layer of every block, in place, right before the layer's GEMM, in
     * training and evaluation mode and in {@link #forwardBlock}: e.g. fake quantization of the activations
     * (W8A8), or observing their statistics. See {@link #setLinearInputHook}.
     */
    @FunctionalInterface
    public interface LinearInputHook {
        /** The linear layers of a block, in parameter order: the {@code linear} argument of {@link #apply}. */
        int ATTN_QKV = 0, ATTN_PROJ = 1, MLP_FC = 2, MLP_PROJ = 3;

        /**
         * @param block  block index in [0, n_layer)
         * @param linear {@link #ATTN_QKV} (input ln_1 output [N, E]), {@link #ATTN_PROJ} (attention output [N, E]),
         *               {@link #MLP_FC} (ln_2 output [N, E]) or {@link #MLP_PROJ} (GELU output [N, I])
         * @param x      the layer's input [N, in], a live buffer; what the hook leaves in it is what the layer
         *               multiplies (and what backward uses for the weight gradient)
         */
        void apply(int block, int linear, FloatTensor x);
    }

    /** The parameters (and gradients) of one transformer block, kernels' layout. */
    private static final class Block {
        FloatTensor ln1W, ln1B, attnW, attnB, projW, projB, ln2W, ln2B, fcW, fcB, mlpProjW, mlpProjB;
        FloatTensor dln1W, dln1B, dattnW, dattnB, dprojW, dprojB, dln2W, dln2B, dfcW, dfcB, dmlpProjW, dmlpProjB;
    }

    /**
     * A model with GPT-2's initialisation: embeddings and linear weights N(0, 0.02), the two residual
     * output projections ({@code attn.c_proj}, {@code mlp.c_proj}) N(0, 0.02 / sqrt(2 n_layer)), biases 0,
     * LayerNorm gains 1 and biases 0; drawn in parameter order from {@code new Random(seed)}.
     *
     * @param config model configuration (tied embeddings, tanh GELU)
     * @param maxB   largest batch size, &gt;= 1
     * @param maxT   largest sequence length, in [1, n_positions]
     * @param seed   initialisation seed
     */
    public Gpt(Gpt2Config config, int maxB, int maxT, long seed) {
        this(config, maxB, maxT);
        Random rnd = new Random(seed);
        double projStd = 0.02 / Math.sqrt(2.0 * nLayer);
        for (Map.Entry<String, FloatTensor> e : named.parameters().entrySet()) {
            String name = e.getKey();
            FloatTensor p = e.getValue();
            if (name.endsWith(".bias")) {
                p.fill(0f);
            } else if (isLayerNorm(name)) {
                p.fill(1f);
            } else {
                double std = name.endsWith("c_proj.weight") ? projStd : 0.02;
                for (int i = 0; i < p.size(); i++) p.set(i, (float) (std * rnd.nextGaussian()));
            }
        }
    }

    /** Allocates parameters (zero), gradients and the construction shape's activations. */
    private Gpt(Gpt2Config config, int maxB, int maxT) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        if (!config.tieWordEmbeddings()) {
            throw new IllegalArgumentException("config: tie_word_embeddings = false is not supported (the LM head"
                    + " is wte); need true");
        }
        String act = config.activationFunction();
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh") && !act.equals("gelu_fast")) {
            throw new IllegalArgumentException("config: activation_function = " + act + " is not supported; need"
                    + " the tanh GELU (gelu_new, gelu_pytorch_tanh or gelu_fast)");
        }
        if (config.nEmbd() % config.nHead() != 0) {     // Gpt2Config checks this too; kept for clarity
            throw new IllegalArgumentException("config: n_embd = " + config.nEmbd() + " is not divisible by n_head = "
                    + config.nHead());
        }
        if (maxB < 1) throw new IllegalArgumentException("maxB: batch size must be >= 1 but was " + maxB);
        if (maxT < 1 || maxT > config.nPositions()) {
            throw new IllegalArgumentException("maxT: sequence length " + maxT + " is outside [1, n_positions = "
                    + config.nPositions() + "] (the position table wpe has " + config.nPositions() + " rows)");
        }
        this.config = config;
        this.maxB = maxB;
        this.maxT = maxT;
        this.vocab = config.vocabSize();
        this.embd = config.nEmbd();
        this.nLayer = config.nLayer();
        this.heads = new int[nLayer];
        this.attWidth = new int[nLayer];
        this.inner = new int[nLayer];
        for (int l = 0; l < nLayer; l++) {
            heads[l] = config.headCount(l);
            attWidth[l] = config.attentionWidth(l);
            inner[l] = config.innerSize(l);
        }
        this.eps = (float) config.layerNormEpsilon();
        int e = embd;
        wte = param("wte.weight", vocab, e);                   // [V, E]
        dwte = named.grad("wte.weight");
        wpe = param("wpe.weight", config.nPositions(), e);     // [P, E]
        dwpe = named.grad("wpe.weight");
        blocks = new Block[nLayer];
        for (int i = 0; i < nLayer; i++) {
            String h = "h." + i + ".";
            Block b = new Block();
            int a = attWidth[i], inner = this.inner[i];
            b.ln1W = param(h + "ln_1.weight", e);                 b.dln1W = named.grad(h + "ln_1.weight");
            b.ln1B = param(h + "ln_1.bias", e);                   b.dln1B = named.grad(h + "ln_1.bias");
            b.attnW = param(h + "attn.c_attn.weight", 3 * a, e);  b.dattnW = named.grad(h + "attn.c_attn.weight");  // [3A, E]
            b.attnB = param(h + "attn.c_attn.bias", 3 * a);       b.dattnB = named.grad(h + "attn.c_attn.bias");    // [3A]
            b.projW = param(h + "attn.c_proj.weight", e, a);      b.dprojW = named.grad(h + "attn.c_proj.weight");  // [E, A]
            b.projB = param(h + "attn.c_proj.bias", e);           b.dprojB = named.grad(h + "attn.c_proj.bias");
            b.ln2W = param(h + "ln_2.weight", e);                 b.dln2W = named.grad(h + "ln_2.weight");
            b.ln2B = param(h + "ln_2.bias", e);                   b.dln2B = named.grad(h + "ln_2.bias");
            b.fcW = param(h + "mlp.c_fc.weight", inner, e);       b.dfcW = named.grad(h + "mlp.c_fc.weight");       // [I, E]
            b.fcB = param(h + "mlp.c_fc.bias", inner);            b.dfcB = named.grad(h + "mlp.c_fc.bias");         // [I]
            b.mlpProjW = param(h + "mlp.c_proj.weight", e, inner); b.dmlpProjW = named.grad(h + "mlp.c_proj.weight"); // [E, I]
            b.mlpProjB = param(h + "mlp.c_proj.bias", e);         b.dmlpProjB = named.grad(h + "mlp.c_proj.bias");
            blocks[i] = b;
        }
        lnfW = param("ln_f.weight", e);
        dlnfW = named.grad("ln_f.weight");
        lnfB = param("ln_f.bias", e);
        dlnfB = named.grad("ln_f.bias");
    }

    private FloatTensor param(String name, int... shape) {
        return named.add(name, shape);
    }

    private static boolean isLayerNorm(String name) {
        return name.startsWith("ln_f.") || name.contains(".ln_1.") || name.contains(".ln_2.");
    }

    /** Whether the parameter {@code name} is a Conv1D weight in GPT-2 checkpoints (stored [in, out]). */
    public static boolean isConv1dWeight(String name) {
        return name.endsWith("attn.c_attn.weight") || name.endsWith("attn.c_proj.weight")
                || name.endsWith("mlp.c_fc.weight") || name.endsWith("mlp.c_proj.weight");
    }

    // ------------------------------------------------------------------------------------------------
    // activations

    /**
     * Every buffer of one batch shape (B, T) and mode; N = B*T. In training mode each layer has its own
     * forward buffers (backward needs them all) plus the gradient scratch buffers. In evaluation mode
     * ({@code training = false}) the per-layer arrays all hold the same tensors (layer l's outputs are
     * only read by layer l + 1, which overwrites them after use; the attention kernel is shared too; a
     * pruned layer shares with the first layer of its sizes, or has its own),
     * there are no gradient buffers, and {@code ceScratch} [V] replaces {@code dlogits}: about
     * 1/L of the training footprint plus the logits.
     */
    private final class Activations {
        final int b, t, n;
        final boolean training;
        final int[] ids, targets;                 // [N]
        final FloatTensor encoded;                // [N, E]  wte[ids] + wpe[pos] (after embedding dropout)
        final FloatTensor[] ln1, ln1Mean, ln1Rstd; // per layer [N, E], [N], [N]
        final FloatTensor[] qkv;                  // per layer [N, 3E]
        final FloatTensor[] atty;                 // per layer [N, E]  attention output, heads merged
        final FloatTensor[] attproj;              // per layer [N, E]  attn.c_proj output (after dropout)
        final FloatTensor[] residual2;            // per layer [N, E]  a = x + attproj
        final FloatTensor[] ln2, ln2Mean, ln2Rstd; // per layer [N, E], [N], [N]
        final FloatTensor[] fch;                  // per layer [N, I]  mlp.c_fc output
        final FloatTensor[] fchGelu;              // per layer [N, I]  gelu(fch)
        final FloatTensor[] fcproj;               // per layer [N, E]  mlp.c_proj output (after dropout)
        final FloatTensor[] residual3;            // per layer [N, E]  a + fcproj: the next layer's x
        final AttentionKernel[] attention;        // per layer, owns P [B, nh, T, T]
        final FloatTensor lnf, lnfMean, lnfRstd;  // [N, E], [N], [N]
        final FloatTensor logits;                 // [N, V]
        final FloatTensor dlogits;                // [N, V]  d loss / d logits (filled by the forward); training only
        final FloatTensor ceScratch;              // [V]     exp row of the loss-only cross-entropy; evaluation only
        final FloatTensor dresidual;              // [N, E]  gradient of the residual stream
        final FloatTensor dbranch;                // [N, E]  gradient of a branch output (dropout backward)
        final FloatTensor dtmp;                   // [N, E]  gradient scratch (LayerNorm input, attention output)
        final FloatTensor dln;                    // [N, E]  gradient of a LayerNorm output
        final FloatTensor[] datty;                // per layer [N, A]   gradient of the attention output (dtmp when A = E)
        final FloatTensor[] dqkv;                 // per layer [N, 3A]  (shared by layers of one size)
        final FloatTensor[] dfch, dfchGelu;       // per layer [N, I], [N, I]

        Activations(int b, int t, boolean training) {
            this.b = b;
            this.t = t;
            this.n = b * t;
            this.training = training;
            int e = embd, l = nLayer;
            ids = new int[n];
            targets = new int[n];
            encoded = FloatTensor.zeros(n, e);
            ln1 = new FloatTensor[l]; ln1Mean = new FloatTensor[l]; ln1Rstd = new FloatTensor[l];
            qkv = new FloatTensor[l]; atty = new FloatTensor[l]; attproj = new FloatTensor[l];
            residual2 = new FloatTensor[l];
            ln2 = new FloatTensor[l]; ln2Mean = new FloatTensor[l]; ln2Rstd = new FloatTensor[l];
            fch = new FloatTensor[l]; fchGelu = new FloatTensor[l]; fcproj = new FloatTensor[l];
            residual3 = new FloatTensor[l];
            attention = new AttentionKernel[l];
            for (int i = 0; i < l; i++) {
                int j = sameSizeLayer(i);
                if (!training && j < i) {                       // evaluation: layers of one size share buffers
                    ln1[i] = ln1[j]; ln1Mean[i] = ln1Mean[j]; ln1Rstd[i] = ln1Rstd[j];
                    qkv[i] = qkv[j]; atty[i] = atty[j]; attproj[i] = attproj[j]; residual2[i] = residual2[j];
                    ln2[i] = ln2[j]; ln2Mean[i] = ln2Mean[j]; ln2Rstd[i] = ln2Rstd[j];
                    fch[i] = fch[j]; fchGelu[i] = fchGelu[j]; fcproj[i] = fcproj[j]; residual3[i] = residual3[j];
                    attention[i] = attention[j];
                    continue;
                }
                ln1[i] = FloatTensor.zeros(n, e);
                ln1Mean[i] = FloatTensor.zeros(n);
                ln1Rstd[i] = FloatTensor.zeros(n);
                qkv[i] = FloatTensor.zeros(n, 3 * attWidth[i]);
                atty[i] = FloatTensor.zeros(n, attWidth[i]);
                attproj[i] = FloatTensor.zeros(n, e);
                residual2[i] = FloatTensor.zeros(n, e);
                ln2[i] = FloatTensor.zeros(n, e);
                ln2Mean[i] = FloatTensor.zeros(n);
                ln2Rstd[i] = FloatTensor.zeros(n);
                fch[i] = FloatTensor.zeros(n, inner[i]);
                fchGelu[i] = FloatTensor.zeros(n, inner[i]);
                fcproj[i] = FloatTensor.zeros(n, e);
                residual3[i] = FloatTensor.zeros(n, e);
                attention[i] = new AttentionKernel(b, t, attWidth[i], heads[i], true);
            }
            lnf = FloatTensor.zeros(n, e);
            lnfMean = FloatTensor.zeros(n);
            lnfRstd = FloatTensor.zeros(n);
            logits = FloatTensor.zeros(n, vocab);
            if (training) {
                dlogits = FloatTensor.zeros(n, vocab);
                dresidual = FloatTensor.zeros(n, e);
                dbranch = FloatTensor.zeros(n, e);
                dtmp = FloatTensor.zeros(n, e);
                dln = FloatTensor.zeros(n, e);
                datty = new FloatTensor[l];
                dqkv = new FloatTensor[l];
                dfch = new FloatTensor[l];
                dfchGelu = new FloatTensor[l];
                for (int i = 0; i < l; i++) {
                    int j = sameSizeLayer(i);
                    datty[i] = j < i ? datty[j] : attWidth[i] == e ? dtmp : FloatTensor.zeros(n, attWidth[i]);
                    dqkv[i] = j < i ? dqkv[j] : FloatTensor.zeros(n, 3 * attWidth[i]);
                    dfch[i] = j < i ? dfch[j] : FloatTensor.zeros(n, inner[i]);
                    dfchGelu[i] = j < i ? dfchGelu[j] : FloatTensor.zeros(n, inner[i]);
                }
                ceScratch = null;
            } else {
                dlogits = dresidual = dbranch = dtmp = dln = null;
                datty = dqkv = dfch = dfchGelu = null;
                ceScratch = FloatTensor.zeros(vocab);
            }
        }
    }

    /** The first layer with layer i's heads and MLP width (0 unless pruned unevenly). */
    private int sameSizeLayer(int i) {
        for (int j = 0; j < i; j++) if (heads[j] == heads[i] && inner[j] == inner[i]) return j;
        return i;
    }

    /** The buffers of shape (b, t) in the given mode, allocated at their first use and kept. */
    private Activations activations(int b, int t, boolean forTraining) {
        long key = ((long) b << 32) | ((long) t << 1) | (forTraining ? 1 : 0);
        Activations a = byShape.get(key);
        if (a == null) {
            a = new Activations(b, t, forTraining);
            byShape.put(key, a);
        }
        return a;
    }

    // ------------------------------------------------------------------------------------------------
    // forward / backward

    /**
     * Forward pass over {@code B} sequences of {@code T} tokens (row-major: token t of sequence b is
     * {@code ids[b*T + t]}). Keeps the logits for {@link #logits()} and, in training mode (the default),
     * the activations for {@link #backward()}; in evaluation mode ({@link #eval()}) it uses the smaller
     * evaluation buffers, applies no dropout and computes the loss without its gradient.
     *
     * @param ids     token ids, length B*T, each in [0, vocab_size)
     * @param targets next-token targets, length B*T, each in [0, vocab_size) or {@link #IGNORE_INDEX}; or
     *                null for logits only
     * @param b       batch size, in [1, maxB]
     * @param t       sequence length, in [1, maxT]
     * @return the mean cross-entropy over non-ignored targets (nats), 0 if all are ignored, or NaN when
     *         {@code targets} is null
     */
    public double forward(int[] ids, int[] targets, int b, int t) {
        checkBatch(ids, targets, b, t);
        if (acts == null || acts.b != b || acts.t != t || acts.training != training) acts = activations(b, t, training);
        Activations a = acts;
        System.arraycopy(ids, 0, a.ids, 0, a.n);
        lastBlock = -1;
        blockwise = false;
        boolean drop = training && dropout > 0;
        if (drop) stepSeed = Seeds.mix(dropoutSeed, ++forwardCount);

        EmbeddingKernel.forward(a.ids, t, wte, wpe, a.encoded);                     // [N, E]
        if (drop) DropoutKernel.forward(a.encoded, a.encoded, dropout, siteSeed(0));
        FloatTensor x = a.encoded;
        for (int l = 0; l < nLayer; l++) x = blockForward(a, l, x, drop);
        LayerNormKernel.forward(x, lnfW, lnfB, eps, a.lnf, a.lnfMean, a.lnfRstd);
        LinearKernel.forward(a.lnf, wte, null, a.logits);                           // [N, V] = h wte^T
        hasLoss = targets != null;
        if (!hasLoss) return Double.NaN;
        System.arraycopy(targets, 0, a.targets, 0, a.n);
        if (!a.training) return CrossEntropyKernel.loss(a.logits, a.targets, IGNORE_INDEX, a.ceScratch);
        return CrossEntropyKernel.forwardBackward(a.logits, a.targets, IGNORE_INDEX, a.dlogits);
    }

    /**
     * Block l on its input {@code x} [N, E] (a.encoded or a.residual3[l - 1]), writing layer l's activation
     * buffers; returns the output a.residual3[l].
     */
    private FloatTensor blockForward(Activations a, int l, FloatTensor x, boolean drop) {
        Block w = blocks[l];
        LinearInputHook hook = linearInputHook;
        LayerNormKernel.forward(x, w.ln1W, w.ln1B, eps, a.ln1[l], a.ln1Mean[l], a.ln1Rstd[l]);
        if (hook != null) hook.apply(l, LinearInputHook.ATTN_QKV, a.ln1[l]);
        LinearKernel.forward(a.ln1[l], w.attnW, w.attnB, a.qkv[l]);              // [N, 3E]
        if (drop) a.attention[l].forward(a.qkv[l], null, a.atty[l], dropout, siteSeed(attentionSite(l)));
        else a.attention[l].forward(a.qkv[l], null, a.atty[l]);                   // [N, E]
        if (hook != null) hook.apply(l, LinearInputHook.ATTN_PROJ, a.atty[l]);
        LinearKernel.forward(a.atty[l], w.projW, w.projB, a.attproj[l]);        // [N, E]
        if (drop) DropoutKernel.forward(a.attproj[l], a.attproj[l], dropout, siteSeed(2 * l + 1));
        AddKernels.residualAdd(x, a.attproj[l], a.residual2[l]);
        LayerNormKernel.forward(a.residual2[l], w.ln2W, w.ln2B, eps, a.ln2[l], a.ln2Mean[l], a.ln2Rstd[l]);
        if (hook != null) hook.apply(l, LinearInputHook.MLP_FC, a.ln2[l]);
        LinearKernel.forward(a.ln2[l], w.fcW, w.fcB, a.fch[l]);                  // [N, I]
        GeluKernel.forward(a.fch[l], a.fchGelu[l]);                             // [N, I]
        if (hook != null) hook.apply(l, LinearInputHook.MLP_PROJ, a.fchGelu[l]);
        LinearKernel.forward(a.fchGelu[l], w.mlpProjW, w.mlpProjB, a.fcproj[l]); // [N, E]
        if (drop) DropoutKernel.forward(a.fcproj[l], a.fcproj[l], dropout, siteSeed(2 * l + 2));
        AddKernels.residualAdd(a.residual2[l], a.fcproj[l], a.residual3[l]);
        return a.residual3[l];
    }

    /**
     * Backward pass of the last {@link #forward} (which must have had targets): accumulates
     * d loss / d parameter into {@link #gradients()}. Call {@link #zeroGrad()} once per step before.
     */
    public void backward() {
        if (!hasLoss) {
            throw new IllegalStateException("backward: the last forward had no targets (or there was none)");
        }
        requireTrainingForward("backward");
        backpropagate(acts.dlogits, null);
    }

    /**
     * Backward from gradients computed outside the model, e.g. by a distillation loss on the logits of a
     * forward without targets and on {@link #lastHiddenState()}: accumulates into {@link #gradients()}.
     *
     * @param dlogits d loss / d logits [B*T, V] of the last forward, or null for none
     * @param dhidden d loss / d last hidden state [B*T, E], or null for none
     */
    public void backward(FloatTensor dlogits, FloatTensor dhidden) {
        requireTrainingForward("backward");
        if (blockwise) {
            throw new IllegalStateException("backward: the last forward was embed/forwardBlock, not a full forward;"
                    + " use backwardBlock");
        }
        int n = acts.n;
        ExternalGradients.check(dlogits, dhidden, n, vocab, embd, "n_embd");
        backpropagate(dlogits, dhidden);
    }

    // ------------------------------------------------------------------------------------------------
    // one block at a time (block-wise post-training methods, e.g. Norm Tweaking)

    /**
     * The embedding output {@code x_0 = wte[ids] + wpe[pos]} [B*T, E] of a batch, the input of block 0,
     * without running the blocks (a live buffer of shape (B, T) in the current mode, overwritten by the next
     * forward of that shape). Dropout is not applied; in training mode it must be off.
     */
    public FloatTensor embed(int[] ids, int b, int t) {
        checkBatch(ids, null, b, t);
        requireNoDropout("embed");
        if (acts == null || acts.b != b || acts.t != t || acts.training != training) acts = activations(b, t, training);
        Activations a = acts;
        System.arraycopy(ids, 0, a.ids, 0, a.n);
        EmbeddingKernel.forward(a.ids, t, wte, wpe, a.encoded);
        hasLoss = false;
        lastBlock = -1;
        blockwise = true;
        return a.encoded;
    }

    /**
     * Runs transformer block {@code l} alone on {@code x} [B*T, E], the block's input (the residual stream:
     * the {@link #embed} output for block 0, block l-1's output otherwise), exactly as {@link #forward} runs
     * it: chaining {@code embed} and {@code forwardBlock(0..L-1)} reproduces the residual stream of
     * {@link #forward} bit for bit (ln_f and the head are not run). {@code x} is copied into the buffer that
     * {@code forward} keeps as block l's input (unless it is that buffer already). In training mode the
     * activations are kept for {@link #backwardBlock} and {@link #linearInput} of block l's layers; dropout
     * must be off in training mode. After this call {@link #backward()} refuses to run (no loss) and
     * {@link #logits()} is stale.
     *
     * @param l block index in [0, n_layer)
     * @param x the block input [b*t, E], b sequences of t tokens (attention is causal within each)
     * @return the block output [b*t, E], a live buffer (overwritten by the next forward of that shape)
     */
    public FloatTensor forwardBlock(int l, FloatTensor x, int b, int t) {
        checkBlock(l, "forwardBlock");
        if (b < 1 || b > maxB) throw new IllegalArgumentException("b: batch size " + b + " is outside [1, maxB = " + maxB + "]");
        if (t < 1 || t > maxT) throw new IllegalArgumentException("t: sequence length " + t + " is outside [1, maxT = " + maxT + "]");
        if (x == null || x.rank() != 2 || x.dim(0) != b * t || x.dim(1) != embd) {
            throw new IllegalArgumentException("x: shape " + (x == null ? "null" : x.shapeString()) + " but the block input"
                    + " needs [b*t, n_embd] = [" + b * t + ", " + embd + "]");
        }
        requireNoDropout("forwardBlock");
        if (acts == null || acts.b != b || acts.t != t || acts.training != training) acts = activations(b, t, training);
        Activations a = acts;
        FloatTensor in = l == 0 ? a.encoded : a.residual3[l - 1];
        if (x != in) in.copyFrom(x.toFloatArray());
        FloatTensor y = blockForward(a, l, in, false);
        hasLoss = false;
        lastBlock = l;
        blockwise = true;
        return y;
    }

    /**
     * Backward through the block of the last {@link #forwardBlock} (which must have run in training mode):
     * accumulates d loss / d parameter into that block's gradients (its LayerNorms, linear weights and
     * biases; nothing else changes) and returns d loss / d block input.
     *
     * @param l  the block of the last forwardBlock
     * @param dy d loss / d block output [B*T, E]
     * @return d loss / d block input [B*T, E], a live buffer (overwritten by the next backward)
     */
    public FloatTensor backwardBlock(int l, FloatTensor dy) {
        checkBlock(l, "backwardBlock");
        requireTrainingForward("backwardBlock");
        if (lastBlock != l) {
            throw new IllegalStateException("backwardBlock: the last forward was " + (lastBlock < 0 ? "not forwardBlock"
                    : "forwardBlock(" + lastBlock + ", ...)") + "; call forwardBlock(" + l + ", ...) first");
        }
        Activations a = acts;
        if (dy == null || dy.size() != a.n * embd) {
            throw new IllegalArgumentException("dy: shape " + (dy == null ? "null" : dy.shapeString()) + " but the block"
                    + " output is [" + a.n + ", " + embd + "]");
        }
        a.dresidual.copyFrom(dy.toFloatArray());
        blockBackward(a, l, a.dresidual, false);
        return a.dresidual;
    }

    private void checkBlock(int l, String what) {
        if (l < 0 || l >= nLayer) {
            throw new IllegalArgumentException(what + ": block " + l + " is outside [0, n_layer = " + nLayer + ")");
        }
    }

    private void requireNoDropout(String what) {
        if (training && dropout > 0) {
            throw new IllegalStateException(what + ": dropout is on (p = " + dropout + "); the block-wise API runs without"
                    + " dropout: setDropout(0, seed) or eval()");
        }
    }

    private void requireTrainingForward(String what) {
        if (acts == null) throw new IllegalStateException(what + ": no forward to differentiate");
        if (!acts.training) {
            throw new IllegalStateException(what + ": the last forward ran in evaluation mode, which keeps no"
                    + " activations; call train() before the forward");
        }
    }

    /** The backward pass from d logits and/or d h (h = ln_f output), either may be null. */
    private void backpropagate(FloatTensor dlogits, FloatTensor dhidden) {
        Activations a = acts;
        boolean drop = dropout > 0;
        FloatTensor dres = a.dresidual;
        FloatTensor xLast = nLayer == 0 ? a.encoded : a.residual3[nLayer - 1];
        if (dlogits != null) LinearKernel.backward(dlogits, a.lnf, wte, a.dln, dwte, null);  // dh [N, E]; dwte += dlogits^T h
        else a.dln.fill(0f);
        if (dhidden != null) AddKernels.accumulate(a.dln, dhidden);
        LayerNormKernel.backward(a.dln, xLast, a.lnfMean, a.lnfRstd, lnfW, dres, dlnfW, dlnfB);
        for (int l = nLayer - 1; l >= 0; l--) blockBackward(a, l, dres, drop);
        if (drop) DropoutKernel.backward(dres, dres, dropout, siteSeed(0));
        EmbeddingKernel.backward(dres, a.ids, a.t, dwte, dwpe);
    }

    /**
     * Backward through block l: on entry {@code dres} holds d loss / d block output, on return d loss / d
     * block input; accumulates into block l's parameter gradients.
     */
    private void blockBackward(Activations a, int l, FloatTensor dres, boolean drop) {
        Block w = blocks[l];
        FloatTensor xIn = l == 0 ? a.encoded : a.residual3[l - 1];
        // MLP branch: residual3 = residual2 + drop(c_proj(gelu(c_fc(ln_2(residual2)))))
        FloatTensor dy = dres;
        if (drop) {
            DropoutKernel.backward(dres, a.dbranch, dropout, siteSeed(2 * l + 2));
            dy = a.dbranch;
        }
        LinearKernel.backward(dy, a.fchGelu[l], w.mlpProjW, a.dfchGelu[l], w.dmlpProjW, w.dmlpProjB);
        GeluKernel.backward(a.dfchGelu[l], a.fch[l], a.dfch[l]);
        LinearKernel.backward(a.dfch[l], a.ln2[l], w.fcW, a.dln, w.dfcW, w.dfcB);
        LayerNormKernel.backward(a.dln, a.residual2[l], a.ln2Mean[l], a.ln2Rstd[l], w.ln2W, a.dtmp, w.dln2W, w.dln2B);
        AddKernels.accumulate(dres, a.dtmp);                                    // d residual2
        // attention branch: residual2 = x + drop(c_proj(attn(c_attn(ln_1(x)))))
        dy = dres;
        if (drop) {
            DropoutKernel.backward(dres, a.dbranch, dropout, siteSeed(2 * l + 1));
            dy = a.dbranch;
        }
        LinearKernel.backward(dy, a.atty[l], w.projW, a.datty[l], w.dprojW, w.dprojB);  // d atty
        a.attention[l].backward(a.datty[l], a.qkv[l], a.dqkv[l]);
        LinearKernel.backward(a.dqkv[l], a.ln1[l], w.attnW, a.dln, w.dattnW, w.dattnB);
        LayerNormKernel.backward(a.dln, xIn, a.ln1Mean[l], a.ln1Rstd[l], w.ln1W, a.dtmp, w.dln1W, w.dln1B);
        AddKernels.accumulate(dres, a.dtmp);                                    // d x
    }

    /** Sets every gradient to 0. */
    public void zeroGrad() {
        named.zeroGrad();
    }

    /**
     * Training mode (the default): forward keeps every layer's activations for {@link #backward()} and
     * applies dropout if set. Buffers of both modes stay allocated once used.
     */
    public Gpt train() {
        training = true;
        return this;
    }

    /**
     * Evaluation mode, as PyTorch's {@code model.eval()} + {@code no_grad}: forward only, no dropout, one
     * set of layer buffers shared by all layers and no gradient buffers (a model that only evaluates
     * never allocates the training buffers); {@link #backward()} refuses to run.
     */
    public Gpt eval() {
        training = false;
        return this;
    }

    /**
     * Sets the hook called on the input of every block's linear layers (null, the default: none). The hook
     * runs in place on the input buffer before each of the 4 L block GEMMs, in both modes and in
     * {@link #forwardBlock}; the tied LM head's input (ln_f output) is not passed. Backward uses the hooked
     * input for the weight gradient and passes the input gradient through unchanged (the straight-through
     * estimator when the hook quantizes); LayerNorm, attention and GELU backward read their own inputs, not
     * the hooked buffers. {@link #linearInput} then returns the hooked inputs. With no hook the forward is
     * unchanged (one null check per layer, nothing allocated).
     */
    public void setLinearInputHook(LinearInputHook hook) {
        this.linearInputHook = hook;
    }

    /** The hook set by {@link #setLinearInputHook}, or null. */
    public LinearInputHook linearInputHook() { return linearInputHook; }

    /** Whether the model is in training mode ({@link #train()}) rather than evaluation mode ({@link #eval()}). */
    public boolean isTraining() { return training; }

    /**
     * Runs {@code body} in evaluation mode and restores the previous mode afterwards (also on an
     * exception): for evaluators and samplers that must not change the mode of a model they are given.
     */
    public <R> R inEvalMode(java.util.function.Supplier<R> body) {
        boolean was = training;
        training = false;
        try {
            return body.get();
        } finally {
            training = was;
        }
    }

    /**
     * Switches dropout on (p &gt; 0) or off (p = 0) on the embedding output, on both residual branch
     * outputs of every block and on every block's attention probabilities (HF {@code embd_pdrop},
     * {@code resid_pdrop}, {@code attn_pdrop}: P after the softmax, Y = dropout(P) V, see
     * {@link AttentionKernel}), for forwards in training mode. One p applies to all three: HF's GPT-2 configs carry the three separately but
     * set them equal (0.1) in the released checkpoints, and {@link Gpt2Config} does not read them. Masks are a
     * pure function of (seed, forward call count in training mode, site): site 0 the embedding, 2l+1 and 2l+2 the residual
     * branches of block l, 2 n_layer + 1 + l its attention probabilities.
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


    private void checkBatch(int[] ids, int[] targets, int b, int t) {
        if (b < 1 || b > maxB) throw new IllegalArgumentException("b: batch size " + b + " is outside [1, maxB = " + maxB + "]");
        if (t < 1 || t > maxT) {
            throw new IllegalArgumentException("t: sequence length " + t + " is outside [1, maxT = " + maxT
                    + "] (n_positions = " + config.nPositions() + ")");
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
        if (targets == null) return;
        if (targets.length != n) {
            throw new IllegalArgumentException("targets: length " + targets.length + " but b*t = " + b + "*" + t + " = " + n);
        }
        for (int i = 0; i < n; i++) {
            if ((targets[i] < 0 || targets[i] >= vocab) && targets[i] != IGNORE_INDEX) {
                throw new IllegalArgumentException("targets: token id " + targets[i] + " at position " + i
                        + " is out of range [0, " + vocab + ") for vocab_size " + vocab + " and is not the ignore index "
                        + IGNORE_INDEX);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // accessors

    /** The logits of the last forward, [B*T, V] (a live buffer, overwritten by the next forward of that shape). */
    public FloatTensor logits() {
        if (acts == null) throw new IllegalStateException("logits: no forward has run yet");
        return acts.logits;
    }

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

    /**
     * The last hidden state of the last forward, h = ln_f(x) [B*T, E] (Hugging Face's
     * {@code last_hidden_state}, the input of the tied LM head); a live buffer.
     */
    public FloatTensor lastHiddenState() {
        if (acts == null) throw new IllegalStateException("lastHiddenState: no forward has run yet");
        return acts.lnf;
    }

    /**
     * The input activations of a linear layer in the last forward, read-only use (e.g. GPTQ's calibration
     * Hessians): a live buffer [B*T, in], overwritten by the next forward of that shape. By weight name:
     * {@code h.N.attn.c_attn.weight} -> ln_1 output [N, E], {@code h.N.attn.c_proj.weight} -> attention
     * output, heads merged [N, E], {@code h.N.mlp.c_fc.weight} -> ln_2 output [N, E],
     * {@code h.N.mlp.c_proj.weight} -> GELU output [N, I]. The last forward must have run in training mode
     * (evaluation mode shares one buffer set across layers); with dropout on, the attention output is the one
     * computed with dropped attention probabilities; with a {@link LinearInputHook} set, the input as the hook left it.
     */
    public FloatTensor linearInput(String weightName) {
        if (acts == null) throw new IllegalStateException("linearInput: no forward has run yet");
        if (!acts.training) {
            throw new IllegalStateException("linearInput: the last forward ran in evaluation mode, which keeps only the"
                    + " last layer's buffers; call train() before the forward");
        }
        if (weightName != null && weightName.startsWith("h.") && isConv1dWeight(weightName)) {
            int dot = weightName.indexOf('.', 2);
            try {
                int l = Integer.parseInt(weightName.substring(2, dot));
                if (l >= 0 && l < nLayer) {
                    switch (weightName.substring(dot + 1)) {
                        case "attn.c_attn.weight": return acts.ln1[l];
                        case "attn.c_proj.weight": return acts.atty[l];
                        case "mlp.c_fc.weight": return acts.ln2[l];
                        case "mlp.c_proj.weight": return acts.fchGelu[l];
                        default: break;
                    }
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("weightName: " + weightName + " is not a linear weight of this model"
                + " (h.N.attn.c_attn.weight, h.N.attn.c_proj.weight, h.N.mlp.c_fc.weight, h.N.mlp.c_proj.weight,"
                + " N in [0, " + nLayer + "))");
    }

    /** The dropout probability set by {@link #setDropout} (0 = off). */
    public double dropoutProbability() { return dropout; }

    /** The parameters by Hugging Face name (no {@code transformer.} prefix), kernels' layout ([out, in] weights). */
    public Map<String, FloatTensor> parameters() { return named.parameters(); }

    /** The gradients, same names and shapes as {@link #parameters()}. */
    public Map<String, FloatTensor> gradients() { return named.gradients(); }

    public Gpt2Config config() { return config; }

    public int maxBatch() { return maxB; }

    public int maxSequenceLength() { return maxT; }

    /** Total number of parameter elements (wte counted once: the head is tied). */
    public long parameterCount() {
        return named.count();
    }

    // ------------------------------------------------------------------------------------------------
    // checkpoints

    /**
     * Loads a Hugging Face GPT-2 directory ({@code config.json} + {@code model.safetensors}), with or
     * without the {@code transformer.} prefix; Conv1D weights are transposed to [out, in]. A present
     * {@code lm_head.weight} must equal {@code wte.weight} (tied).
     *
     * @param dir  the checkpoint directory
     * @param maxB largest batch size
     * @param maxT largest sequence length (&lt;= n_positions)
     */
    public static Gpt load(Path dir, int maxB, int maxT) {
        HfCheckpoint ck = HfCheckpoint.load(dir);
        HfConfig hc = ck.config();
        if (!(hc instanceof Gpt2Config cfg)) {
            throw new CheckpointFormatException(dir.resolve(HfCheckpoint.CONFIG_FILE) + ": model_type is "
                    + hc.modelType() + "; need " + Gpt2Config.MODEL_TYPE);
        }
        Gpt g = new Gpt(cfg, maxB, maxT);
        for (Map.Entry<String, FloatTensor> e : g.named.parameters().entrySet()) {
            NamedTensor src = ck.tensor(ck.prefix() + e.getKey());
            FloatTensor dst = e.getValue();
            float[] d = src.data();
            if (isConv1dWeight(e.getKey())) {
                int in = src.shape()[0], out = src.shape()[1];            // file [in, out] -> [out, in]
                for (int i = 0; i < in; i++) {
                    for (int o = 0; o < out; o++) dst.set(o * in + i, d[i * out + o]);
                }
            } else {
                dst.copyFrom(d);
            }
        }
        TiedWeights.requireEqual(dir, ck.tensors().get("lm_head.weight"), g.wte, "wte.weight",
                "only tied heads are supported");
        return g;
    }

    /**
     * Writes this model as a Hugging Face GPT-2 directory: {@code config.json} and {@code model.safetensors}
     * (F32, names without prefix, Conv1D weights transposed back to [in, out], no {@code lm_head.weight}).
     */
    public void save(Path dir) {
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : named.parameters().entrySet()) {
            FloatTensor p = e.getValue();
            if (isConv1dWeight(e.getKey())) {
                int o = p.dim(0), in = p.dim(1);
                float[] d = new float[p.size()];                         // [out, in] -> file [in, out]
                for (int r = 0; r < o; r++) {
                    for (int c = 0; c < in; c++) d[c * o + r] = p.get(r * in + c);
                }
                out.add(NamedTensor.f32(e.getKey(), new int[] {in, o}, d));
            } else {
                out.add(NamedTensor.f32(e.getKey(), p.shape(), p.toFloatArray()));
            }
        }
        HfCheckpoint.save(dir, config, out);
    }

    /** The names of the parameters that are GPT-2 Conv1D weights (transposed in checkpoints). */
    public Set<String> conv1dWeightNames() {
        Set<String> s = new java.util.LinkedHashSet<>();
        for (String n : named.parameters().keySet()) if (isConv1dWeight(n)) s.add(n);
        return s;
    }
}
