package org.distillery.quant.packed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.distillery.engine.kernels.AddKernels;
import org.distillery.engine.kernels.AttentionKernel;
import org.distillery.engine.kernels.EmbeddingKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.GeluKernel;
import org.distillery.engine.kernels.LayerNormKernel;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.eval.CausalLm;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;

/**
 * Inference-only GPT-2 whose linear layers are packed: the forward of {@link Gpt} (evaluation mode) with every
 * block's {@code attn.c_attn}, {@code attn.c_proj}, {@code mlp.c_fc} and {@code mlp.c_proj} a
 * {@link QuantizedLinear} on {@link PackedWeights}. With E = n_embd, I = inner size, V = vocab size, N = B*T:
 * <pre>
 *   x = wte[ids] + wpe[pos]                                  [N, E]   EmbeddingKernel
 *   per block:
 *     x = x + Qproj(attn(Qattn(ln_1(x))))                    qkv [N, 3E], causal AttentionKernel
 *     x = x + Qmlp_proj(gelu_tanh(Qfc(ln_2(x))))             [N, I] inside
 *   logits = ln_f(x) wte^T                                   [N, V]   (tied head, float32; packed as an option)
 * </pre>
 * The LayerNorms, attention, GELU, residual adds and embedding are the engine's kernels, called in the order
 * {@link Gpt#forward} calls them, so the logits differ from those of the float {@code Gpt} whose linear weights
 * are the dequantized packed weights ({@link #dequantizedGpt}) only by the fp32 accumulation order of the linear
 * products (BLAS GEMM there, the packed kernels here), propagated through the layers.
 *
 * <p><b>What stays float32, and why.</b> The embeddings {@code wte}, {@code wpe}, the LayerNorm gains and biases
 * and the linear biases are float32, as in GPTQ/AWQ/llama.cpp practice: they are a small part of the weights
 * (for GPT-2 small about 30 %, all in wte/wpe; for the byte-vocabulary models here under 10 %), an embedding
 * lookup reads one row per token (no product to speed up), and LayerNorm parameters are sensitive scales that
 * cost almost nothing. The tied LM head is {@code wte} itself, so it is float32 by default: a packed head would
 * be an extra copy of wte (the lookup still needs the float table) that only makes the head product read fewer
 * bytes; {@link #quantize(Gpt, PackedFormat, int, boolean)} offers it as an option ({@link #packedHead()}).
 *
 * <p><b>Memory.</b> {@link #memory()} counts the bytes held: packed codes, scales (widened to float in memory),
 * zero-points and the kernels' per-group float offsets ({@link PackedWeights#memoryBytes()}), the float32 biases,
 * embeddings and LayerNorms, and the packed head if any; beside it the float32 model's {@code 4 * parameters}.
 * Activation buffers are separate ({@link #bufferBytes()}).
 *
 * <p><b>Buffers.</b> One set of activation buffers per batch shape (B, T), allocated at the first forward of
 * that shape and reused by every layer (as {@code Gpt.eval()}); the packed layers share one
 * {@link QuantizedLinear.Workspace}. After the first forward of a shape no buffer is allocated (ND4J's GEMM and
 * batched-matmul calls of the attention kernel and of the float head make their own small wrapper objects).
 *
 * <p>Built by {@link #quantize} (round-to-nearest packing of a float {@code Gpt}'s linear weights) or
 * {@link #load} (a model directory written by {@code ./lab quantize}). Not thread-safe.
 */
public final class PackedGpt implements CausalLm {
    /** The packed weights file of a quantized model directory (written by {@code ./lab quantize}). */
    public static final String PACKED_FILE = "quantized.safetensors";
    /** The group size argument of {@link #quantize} for one group per output row (g = the layer's input width). */
    public static final int PER_CHANNEL = 0;
    /** The four packed linear layers of a block, by name after {@code h.N.}. */
    public static final List<String> LAYERS = List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj");

    private final Gpt2Config config;
    private final int maxB, maxT, vocab, embd, inner, nLayer, nHead;
    private final float eps;
    private final FloatTensor wte, wpe, lnfW, lnfB;          // [V, E], [P, E], [E], [E]
    private final Block[] blocks;
    private final QuantizedLinear head;                      // packed tied head [V, E], or null (float wte)
    private final QuantizedLinear.Workspace workspace;
    private final Map<Long, Buffers> byShape = new HashMap<>();
    private Buffers last;

    /** One transformer block: float32 LayerNorms, packed linear layers (with their float32 biases). */
    private record Block(FloatTensor ln1W, FloatTensor ln1B, QuantizedLinear attn, QuantizedLinear proj,
                         FloatTensor ln2W, FloatTensor ln2B, QuantizedLinear fc, QuantizedLinear mlpProj) {
        /** This block with each packed layer replaced by {@code f(its index in LAYERS, it)} (same LayerNorms). */
        Block mapLayers(java.util.function.BiFunction<Integer, QuantizedLinear, QuantizedLinear> f) {
            return new Block(ln1W, ln1B, f.apply(0, attn), f.apply(1, proj), ln2W, ln2B, f.apply(2, fc), f.apply(3, mlpProj));
        }

        QuantizedLinear layer(int i) {
            return switch (i) {
                case 0 -> attn;
                case 1 -> proj;
                case 2 -> fc;
                default -> mlpProj;
            };
        }
    }

    /** The activation buffers of one batch shape, shared by all blocks. */
    private final class Buffers {
        final int b, t, n;
        final int[] ids;                  // [N]
        final FloatTensor x;              // [N, E]  the residual stream (embedding output, then each block's output)
        final FloatTensor ln;             // [N, E]  ln_1 / ln_2 / ln_f output
        final FloatTensor mean, rstd;     // [N], [N] LayerNorm statistics (not used after the forward)
        final FloatTensor qkv;            // [N, 3E]
        final FloatTensor atty;           // [N, E]  attention output, heads merged
        final FloatTensor branch;         // [N, E]  attn.c_proj / mlp.c_proj output
        final FloatTensor fch;            // [N, I]  mlp.c_fc output, then GELU of it (in place)
        final FloatTensor logits;         // [N, V]
        final AttentionKernel attention;  // owns P [B, nh, T, T]

        Buffers(int b, int t) {
            this.b = b;
            this.t = t;
            this.n = b * t;
            ids = new int[n];
            x = FloatTensor.zeros(n, embd);
            ln = FloatTensor.zeros(n, embd);
            mean = FloatTensor.zeros(n);
            rstd = FloatTensor.zeros(n);
            qkv = FloatTensor.zeros(n, 3 * embd);
            atty = FloatTensor.zeros(n, embd);
            branch = FloatTensor.zeros(n, embd);
            fch = FloatTensor.zeros(n, inner);
            logits = FloatTensor.zeros(n, vocab);
            attention = new AttentionKernel(b, t, embd, nHead, true);
        }

        /** Bytes of these buffers (the attention kernel's own buffers not counted). */
        long bytes() {
            return 4L * n * (1 + 2 + 7L * embd + inner + vocab);   // ids, mean/rstd, x ln atty branch qkv, fch, logits
        }
    }

    private PackedGpt(Gpt2Config config, int maxB, int maxT, Map<String, FloatTensor> floats,
                      Map<String, QuantizedLinear> linears, QuantizedLinear head, QuantizedLinear.Workspace ws) {
        this(config, maxB, maxT, floats.get("wte.weight"), floats.get("wpe.weight"), floats.get("ln_f.weight"),
                floats.get("ln_f.bias"), blocks(config, floats, linears), head, ws);
    }

    /** The blocks of the model, by name from the float parts and the packed layers. */
    private static Block[] blocks(Gpt2Config config, Map<String, FloatTensor> floats, Map<String, QuantizedLinear> linears) {
        Block[] blocks = new Block[config.nLayer()];
        for (int l = 0; l < blocks.length; l++) {
            String h = "h." + l + ".";
            blocks[l] = new Block(floats.get(h + "ln_1.weight"), floats.get(h + "ln_1.bias"),
                    linears.get(h + "attn.c_attn"), linears.get(h + "attn.c_proj"),
                    floats.get(h + "ln_2.weight"), floats.get(h + "ln_2.bias"),
                    linears.get(h + "mlp.c_fc"), linears.get(h + "mlp.c_proj"));
        }
        return blocks;
    }

    private PackedGpt(Gpt2Config config, int maxB, int maxT, FloatTensor wte, FloatTensor wpe, FloatTensor lnfW,
                      FloatTensor lnfB, Block[] blocks, QuantizedLinear head, QuantizedLinear.Workspace ws) {
        this.config = config;
        this.maxB = maxB;
        this.maxT = maxT;
        this.vocab = config.vocabSize();
        this.embd = config.nEmbd();
        this.inner = config.innerSize();
        this.nLayer = config.nLayer();
        this.nHead = config.nHead();
        this.eps = (float) config.layerNormEpsilon();
        this.wte = wte;
        this.wpe = wpe;
        this.lnfW = lnfW;
        this.lnfB = lnfB;
        this.blocks = blocks;
        this.head = head;
        this.workspace = ws;
    }

    // ------------------------------------------------------------------------------------------------
    // construction

    /**
     * This model with int8 activations ({@link QuantizedLinear#withInt8Activations()}: W4A8 for 4-bit formats, as
     * llama.cpp runs them; W8A8 for 8-bit ones, per token with per-channel weights, as in SmoothQuant) in every packed
     * layer that supports them, for the matrix-vector products of batch-1 decoding (fewer than
     * {@link QuantizedLinear#BATCHED_FROM} rows); batched forwards are unchanged. The weights, float parts and
     * workspace are shared with this model (no copy), so the two must not run at the same time.
     *
     * @throws IllegalArgumentException when no packed layer supports int8 activations
     *                                  ({@link QuantizedLinear#supportsInt8Activations}: inputs that are not whole
     *                                  kernel steps, groups that do not fit the kernel's step)
     */
    public PackedGpt withInt8Activations() {
        java.util.function.UnaryOperator<QuantizedLinear> a8 =
                q -> q == null || !QuantizedLinear.supportsInt8Activations(q.weight()) ? q : q.withInt8Activations();
        Block[] switched = new Block[nLayer];
        for (int l = 0; l < nLayer; l++) switched[l] = blocks[l].mapLayers((i, q) -> a8.apply(q));
        PackedGpt m = new PackedGpt(config, maxB, maxT, wte, wpe, lnfW, lnfB, switched, a8.apply(head), workspace);
        if (m.int8ActivationLayers() == 0) {
            throw new IllegalArgumentException("int8 activations: no packed layer of this model supports them (first: "
                    + blocks[0].attn().weight() + "); they need " + QuantizedLinear.INT8_ACTIVATION_REQUIREMENT);
        }
        return m;
    }

    /**
     * This model with the activation quantization of a SmoothQuant W8A8 model ({@code SmoothQuant.Result.activations()},
     * the quantizer the simulated model runs as its linear-input hook) on the W8A8 kernel ({@link Int8A8MatVec}): in
     * the matrix-vector products of batch-1 decoding, each block layer's input is rounded to int8 as the quantizer
     * rounds it and multiplied in integer lanes. Per token (dynamic): one scale per input row, so every layer must
     * have one weight group per row (per-channel INT8, as SmoothQuant's weights). Per tensor (static): each layer's
     * calibrated scale ({@link QuantizedLinear#withInt8Activations(float)}); a layer whose calibrated range is 0 keeps
     * float activations, as the quantizer leaves its input unchanged. Blocks the quantizer has switched off keep float
     * activations. The LM head keeps float activations (SmoothQuant does not quantize its input). Against the
     * simulated model the products differ only by fp32 accumulation order and by inputs that fall on a rounding tie
     * (the kernel rounds half up, the quantizer half to even). Weights, float parts and workspace are shared with this
     * model, as in {@link #withInt8Activations()}.
     *
     * @throws IllegalArgumentException when the quantizer is not 8-bit, is for another number of blocks, or a layer's
     *                                  weight does not fit (naming the layer)
     */
    public PackedGpt withInt8Activations(org.distillery.quant.ActivationQuantizer activations) {
        Objects.requireNonNull(activations, "activations");
        if (activations.bits() != 8) {
            throw new IllegalArgumentException("activations: " + activations.name() + " rounds to " + activations.bits()
                    + " bits; the integer kernel takes 8-bit activations");
        }
        if (activations.layers() != nLayer) {
            throw new IllegalArgumentException("activations: a quantizer for " + activations.layers() + " blocks; this model has "
                    + nLayer);
        }
        boolean perToken = activations.granularity() == org.distillery.quant.ActivationQuantizer.Granularity.PER_TOKEN;
        Block[] switched = new Block[nLayer];
        for (int l = 0; l < nLayer; l++) {
            if (!activations.isActive(l)) {
                switched[l] = blocks[l];
                continue;
            }
            int block = l;
            switched[l] = blocks[l].mapLayers((i, q) -> {
                String name = "h." + block + "." + LAYERS.get(i);
                PackedWeights w = q.weight();
                if (!Int8A8MatVec.supports(w)) {
                    throw new IllegalArgumentException("activations: layer " + name + ": the W8A8 kernel needs "
                            + Int8A8MatVec.REQUIREMENT + "; got " + w);
                }
                if (perToken) {
                    if (w.group() != w.in()) {
                        throw new IllegalArgumentException("activations: layer " + name + ": per-token activations on the"
                                + " kernel need one weight group per row (per-channel weights); got groups of " + w.group()
                                + " of " + w.in() + " columns");
                    }
                    return q.withInt8Activations();
                }
                float scale = org.distillery.quant.ActivationQuantizer.scale(activations.range(block, i), 8);
                return scale == 0 ? q : q.withInt8Activations(scale);
            });
        }
        return new PackedGpt(config, maxB, maxT, wte, wpe, lnfW, lnfB, switched, head, workspace);
    }

    /** Packed block layers whose matrix-vector products use int8 activations ({@link #withInt8Activations()}). */
    public int int8ActivationLayers() {
        int n = 0;
        for (Block b : blocks) for (int i = 0; i < LAYERS.size(); i++) if (b.layer(i).int8Activations()) n++;
        return n;
    }

    /** {@link #quantize(Gpt, PackedFormat, int, boolean)} with the float32 tied head. */
    public static PackedGpt quantize(Gpt gpt, PackedFormat format, int group) {
        return quantize(gpt, format, group, false);
    }

    /**
     * Packs the linear weights of {@code gpt} by round-to-nearest ({@link PackedWeights#quantize}) into
     * {@code format} with {@code group} input columns per scale; everything else is copied as float32. The
     * result has {@code gpt}'s maxB and maxT and does not share memory with it.
     *
     * @param group    columns per group: must divide n_embd and the inner size (and be 32 for Q8_0/Q4_0, even
     *                 for the 4-bit formats); {@link #PER_CHANNEL} for one group per output row of each layer
     * @param packHead also pack the tied LM head (wte [V, E], same format and group) for the head product; the
     *                 embedding lookup keeps the float32 wte
     * @throws IllegalArgumentException naming the layer whose width the group does not fit
     */
    public static PackedGpt quantize(Gpt gpt, PackedFormat format, int group, boolean packHead) {
        Objects.requireNonNull(gpt, "gpt");
        Objects.requireNonNull(format, "format");
        Gpt2Config cfg = gpt.config();
        Map<String, FloatTensor> params = gpt.parameters();
        QuantizedLinear.Workspace ws = new QuantizedLinear.Workspace();
        Map<String, QuantizedLinear> linears = new LinkedHashMap<>();
        for (int l = 0; l < cfg.nLayer(); l++) {
            for (String layer : LAYERS) {
                String name = "h." + l + "." + layer;
                FloatTensor w = params.get(name + ".weight");                 // [out, in]
                int out = w.dim(0), in = w.dim(1);
                linears.put(name, new QuantizedLinear(pack(name, w.toFloatArray(), out, in, format, group),
                        params.get(name + ".bias").toFloatArray(), ws));
            }
        }
        QuantizedLinear head = null;
        if (packHead) {
            FloatTensor w = params.get("wte.weight");                          // [V, E]
            head = new QuantizedLinear(pack("lm_head (wte)", w.toFloatArray(), w.dim(0), w.dim(1), format, group),
                    null, ws);
        }
        return new PackedGpt(cfg, gpt.maxBatch(), gpt.maxSequenceLength(), floatParts(gpt), linears, head, ws);
    }

    /** Copies of {@code gpt}'s parameters that stay float32 (embeddings, LayerNorms), by name. */
    private static Map<String, FloatTensor> floatParts(Gpt gpt) {
        Map<String, FloatTensor> floats = new HashMap<>();
        for (Map.Entry<String, FloatTensor> e : gpt.parameters().entrySet()) {
            if (!isPackedParameter(e.getKey())) floats.put(e.getKey(), copy(e.getValue()));
        }
        return floats;
    }

    /**
     * A quantized model as it is, packed exactly: the codes and scales that a quantization method chose
     * ({@code tensors}, as {@code Rtn}, {@code Gptq}, {@code Awq} and {@code SmoothQuant} return them) become the
     * packed layers ({@link PackedLayers#pack}, which checks every packed value against the dequantized one), with
     * {@code gpt}'s biases, embeddings and LayerNorms (copied; for SmoothQuant the smoothed LayerNorms). So a SmoothQuant
     * W8A8 model (INT8 symmetric per-channel weights) runs its per-token int8 activations on the integer kernel with
     * {@link #withInt8Activations()}. A {@code Gpt.LinearInputHook} installed on {@code gpt} is not carried over. The
     * result has {@code gpt}'s maxB and maxT and shares no memory with it.
     *
     * @param tensors the quantized weights of every block's four linear layers (no others), by weight name
     *                ({@code h.N.attn.c_attn.weight}, ...)
     * @throws IllegalArgumentException when the tensors do not pack exactly ({@link PackedLayers#packReason}: not 8 or
     *                                  4 bits, act-order groups, scales that are not fp16) or are not exactly the
     *                                  block layers of {@code gpt}
     */
    public static PackedGpt of(Gpt gpt, Map<String, org.distillery.quant.QuantizedTensor> tensors) {
        Objects.requireNonNull(gpt, "gpt");
        Objects.requireNonNull(tensors, "tensors");
        Gpt2Config cfg = gpt.config();
        java.util.Set<String> expected = new java.util.LinkedHashSet<>();
        for (int l = 0; l < cfg.nLayer(); l++) for (String layer : LAYERS) expected.add("h." + l + "." + layer + ".weight");
        if (!tensors.keySet().equals(expected)) {
            java.util.Set<String> missing = new java.util.TreeSet<>(expected), extra = new java.util.TreeSet<>(tensors.keySet());
            missing.removeAll(tensors.keySet());
            extra.removeAll(expected);
            throw new IllegalArgumentException("tensors: need the " + expected.size() + " block linear weights of this "
                    + cfg.nLayer() + "-layer GPT-2 (" + LAYERS + " per block); missing " + missing + ", not block layers "
                    + extra);
        }
        QuantizedLinear.Workspace ws = new QuantizedLinear.Workspace();
        Map<String, QuantizedLinear> linears = PackedLayers.pack(tensors, gpt, ws);     // throws when not exact
        return new PackedGpt(cfg, gpt.maxBatch(), gpt.maxSequenceLength(), floatParts(gpt), linears, null, ws);
    }

    private static PackedWeights pack(String name, float[] w, int out, int in, PackedFormat format, int groupArg) {
        int group = groupArg == PER_CHANNEL ? in : groupArg;
        try {
            format.checkGroup(group, in);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("group: layer " + name + " [" + out + ", " + in + "]: " + e.getMessage(), e);
        }
        return PackedWeights.quantize(w, out, in, format, group);
    }

    /** Whether a {@code Gpt} parameter is held packed (a linear weight or bias of a block). */
    private static boolean isPackedParameter(String name) {
        return name.startsWith("h.") && (name.contains(".attn.c_") || name.contains(".mlp.c_"));
    }

    private static FloatTensor copy(FloatTensor t) {
        return FloatTensor.zeros(t.shape()).copyFrom(t.toFloatArray());
    }

    /**
     * Loads a quantized model directory written by {@code ./lab quantize}: {@code config.json}, the packed linear
     * layers (weights and biases) from {@code quantized.safetensors} ({@link PackedSafetensors}), the embeddings and
     * LayerNorms from {@code model.safetensors} (its dequantized linear weights are not read). Strict: every
     * packed layer of every block must be there with the shape the config implies and a bias, and no other.
     *
     * @param dir  the model directory
     * @param maxB largest batch size, &gt;= 1
     * @param maxT largest sequence length, in [1, n_positions]
     * @throws CheckpointFormatException naming the file and what is missing or wrong
     */
    public static PackedGpt load(Path dir, int maxB, int maxT) {
        Objects.requireNonNull(dir, "dir");
        Path configFile = dir.resolve(HfCheckpoint.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new CheckpointFormatException(dir + ": no " + HfCheckpoint.CONFIG_FILE + " (not a model directory)");
        }
        Path packedFile = dir.resolve(PACKED_FILE);
        if (!Files.isRegularFile(packedFile)) {
            throw new CheckpointFormatException(dir + ": no " + PACKED_FILE + ": not a packed quantized model directory"
                    + " (./lab quantize writes it for 8- and 4-bit layouts that pack exactly; see its quantization.json,"
                    + " \"not_packed_because\")");
        }
        HfConfig hc = HfConfig.read(configFile);
        if (!(hc instanceof Gpt2Config cfg)) {
            throw new CheckpointFormatException(configFile + ": model_type is " + hc.modelType() + "; need "
                    + Gpt2Config.MODEL_TYPE);
        }
        checkConfig(cfg, configFile);
        checkCapacity(cfg, maxB, maxT);
        // packed layers: exactly the 4 * n_layer expected, each of the expected shape, with a bias
        Map<String, QuantizedLinear> stored = PackedSafetensors.load(packedFile);
        QuantizedLinear.Workspace ws = new QuantizedLinear.Workspace();
        Map<String, QuantizedLinear> linears = new LinkedHashMap<>();
        for (int l = 0; l < cfg.nLayer(); l++) {
            for (String layer : LAYERS) {
                String name = "h." + l + "." + layer;
                QuantizedLinear q = stored.get(name);
                if (q == null) {
                    throw new CheckpointFormatException(packedFile + ": missing packed layer \"" + name + "\" (expected "
                            + 4 * cfg.nLayer() + " layers: h.0-" + (cfg.nLayer() - 1) + " x " + LAYERS + ")");
                }
                int[] shape = expectedShape(cfg, layer);
                if (q.out() != shape[0] || q.in() != shape[1]) {
                    throw new CheckpointFormatException(packedFile + ": layer \"" + name + "\" has W [" + q.out() + ", "
                            + q.in() + "] but config.json (n_embd " + cfg.nEmbd() + ", inner " + cfg.innerSize()
                            + ") needs [" + shape[0] + ", " + shape[1] + "]");
                }
                float[] bias = q.bias();
                if (bias == null) {
                    throw new CheckpointFormatException(packedFile + ": layer \"" + name + "\" has no bias tensor \""
                            + name + ".bias\" (GPT-2's linear layers all have one)");
                }
                linears.put(name, new QuantizedLinear(q.weight(), bias, ws));
            }
        }
        for (String name : stored.keySet()) {
            if (!linears.containsKey(name)) {
                throw new CheckpointFormatException(packedFile + ": unexpected packed layer \"" + name + "\": not a linear"
                        + " layer of this " + cfg.nLayer() + "-layer GPT-2 (" + LAYERS + " per block)");
            }
        }
        // float parts: embeddings and LayerNorms, read by name (the dequantized linear weights stay on disk)
        Map<String, FloatTensor> floats = new HashMap<>();
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(HfCheckpoint.WEIGHTS_FILE))) {
            String prefix = HfCheckpoint.check(cfg, r.header(), r.path().toString()).prefix();
            List<String> names = new ArrayList<>(List.of("wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"));
            for (int l = 0; l < cfg.nLayer(); l++) {
                for (String p : List.of("ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias")) names.add("h." + l + "." + p);
            }
            for (String name : names) {
                var t = r.read(prefix + name);
                floats.put(name, FloatTensor.zeros(t.shape()).copyFrom(t.data()));
            }
            if (r.header().find("lm_head.weight").isPresent()
                    && !Arrays.equals(r.read("lm_head.weight").data(), floats.get("wte.weight").toFloatArray())) {
                throw new CheckpointFormatException(r.path() + ": lm_head.weight differs from wte.weight; only tied heads"
                        + " are supported");
            }
        }
        return new PackedGpt(cfg, maxB, maxT, floats, linears, null, ws);
    }

    /** W [out, in] of a block's linear layer under {@code cfg}. */
    private static int[] expectedShape(Gpt2Config cfg, String layer) {
        int e = cfg.nEmbd(), i = cfg.innerSize();
        return switch (layer) {
            case "attn.c_attn" -> new int[] {3 * e, e};
            case "attn.c_proj" -> new int[] {e, e};
            case "mlp.c_fc" -> new int[] {i, e};
            default -> new int[] {e, i};
        };
    }

    /** The architecture {@code Gpt} supports: tied head, tanh GELU. */
    private static void checkConfig(Gpt2Config cfg, Path file) {
        if (!cfg.tieWordEmbeddings()) {
            throw new CheckpointFormatException(file + ": tie_word_embeddings = false is not supported (the LM head is wte)");
        }
        String act = cfg.activationFunction();
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh") && !act.equals("gelu_fast")) {
            throw new CheckpointFormatException(file + ": activation_function = " + act + " is not supported; need the"
                    + " tanh GELU (gelu_new, gelu_pytorch_tanh or gelu_fast)");
        }
    }

    private static void checkCapacity(Gpt2Config cfg, int maxB, int maxT) {
        if (maxB < 1) throw new IllegalArgumentException("maxB: batch size must be >= 1 but was " + maxB);
        if (maxT < 1 || maxT > cfg.nPositions()) {
            throw new IllegalArgumentException("maxT: sequence length " + maxT + " is outside [1, n_positions = "
                    + cfg.nPositions() + "]");
        }
    }

    // ------------------------------------------------------------------------------------------------
    // forward

    /**
     * The logits of B sequences of T tokens (token j of sequence i is {@code ids[i*T + j]}).
     *
     * @param ids token ids, length B*T, each in [0, vocab_size)
     * @param b   batch size, in [1, maxB]
     * @param t   sequence length, in [1, maxT]
     * @return logits [B*T, V], a live buffer of this shape, overwritten by the next forward of the same shape
     */
    @Override
    public FloatTensor logits(int[] ids, int b, int t) {
        checkBatch(ids, b, t);
        Buffers a = last != null && last.b == b && last.t == t ? last
                : byShape.computeIfAbsent(((long) b << 32) | t, k -> new Buffers(b, t));
        last = a;
        System.arraycopy(ids, 0, a.ids, 0, a.n);
        EmbeddingKernel.forward(a.ids, t, wte, wpe, a.x);                           // [N, E]
        for (Block w : blocks) {
            LayerNormKernel.forward(a.x, w.ln1W, w.ln1B, eps, a.ln, a.mean, a.rstd);
            w.attn.forward(a.ln, a.qkv);                                            // [N, 3E]
            a.attention.forward(a.qkv, null, a.atty);                               // [N, E]
            w.proj.forward(a.atty, a.branch);                                       // [N, E]
            AddKernels.residualAdd(a.x, a.branch, a.x);
            LayerNormKernel.forward(a.x, w.ln2W, w.ln2B, eps, a.ln, a.mean, a.rstd);
            w.fc.forward(a.ln, a.fch);                                              // [N, I]
            GeluKernel.forward(a.fch, a.fch);                                       // [N, I] in place
            w.mlpProj.forward(a.fch, a.branch);                                     // [N, E]
            AddKernels.residualAdd(a.x, a.branch, a.x);
        }
        LayerNormKernel.forward(a.x, lnfW, lnfB, eps, a.ln, a.mean, a.rstd);         // h [N, E]
        if (head == null) LinearKernel.forward(a.ln, wte, null, a.logits);         // [N, V] = h wte^T
        else head.forward(a.ln, a.logits);
        return a.logits;
    }

    /** The logits of the last forward, [B*T, V] (a live buffer). */
    public FloatTensor logits() {
        if (last == null) throw new IllegalStateException("logits: no forward has run yet");
        return last.logits;
    }

    /** The last hidden state of the last forward, h = ln_f(x) [B*T, E] (the head's input; a live buffer). */
    public FloatTensor lastHiddenState() {
        if (last == null) throw new IllegalStateException("lastHiddenState: no forward has run yet");
        return last.ln;
    }

    private void checkBatch(int[] ids, int b, int t) {
        if (b < 1 || b > maxB) throw new IllegalArgumentException("b: batch size " + b + " is outside [1, maxB = " + maxB + "]");
        if (t < 1 || t > maxT) throw new IllegalArgumentException("t: sequence length " + t + " is outside [1, maxT = " + maxT + "]");
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        if (ids.length != b * t) {
            throw new IllegalArgumentException("ids: length " + ids.length + " but b*t = " + b + "*" + t + " = " + b * t);
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("ids: token id " + ids[i] + " at position " + i + " is out of range [0, "
                        + vocab + ") for vocab_size " + vocab);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // memory

    /**
     * Bytes held by the weights.
     *
     * @param packedBytes   the packed linear weights as held ({@link PackedWeights#memoryBytes()}: codes, float scales,
     *                      uint8 zeros, float per-group offsets), packed head included, and with int8 activations
     *                      the W4A8 kernel's copies of the codes and scales
     *                      ({@link QuantizedLinear#int8ActivationCopyBytes()})
     * @param floatBytes    float32 parameters: embeddings, LayerNorms, linear biases
     * @param totalBytes    packedBytes + floatBytes
     * @param float32Bytes  the same model in float32 ({@code Gpt}): 4 bytes per parameter, wte counted once
     */
    public record Memory(long packedBytes, long floatBytes, long totalBytes, long float32Bytes) {
        /** float32Bytes / totalBytes. */
        public double ratio() { return (double) float32Bytes / totalBytes; }
    }

    /** The bytes the weights hold, beside the float32 model's (see {@link Memory}). */
    public Memory memory() {
        long packed = 0, floats = 0, params = 0;
        for (FloatTensor t : new FloatTensor[] {wte, wpe, lnfW, lnfB}) floats += 4L * t.size();
        params += floats / 4;
        for (Block w : blocks) {
            for (FloatTensor t : new FloatTensor[] {w.ln1W, w.ln1B, w.ln2W, w.ln2B}) floats += 4L * t.size();
            params += 4L * embd;
            for (int i = 0; i < 4; i++) {
                QuantizedLinear q = w.layer(i);
                packed += q.weight().memoryBytes() + q.int8ActivationCopyBytes();
                floats += q.biasBytes();
                params += (long) q.out() * q.in() + q.out();
            }
        }
        if (head != null) packed += head.weight().memoryBytes() + head.int8ActivationCopyBytes();
        return new Memory(packed, floats, packed + floats, 4L * params);
    }

    /** {@code memory().totalBytes()}: bytes held by the weights. */
    public long memoryBytes() {
        return memory().totalBytes();
    }

    /** Bytes of the activation buffers allocated so far and of the packed layers' shared scratch. */
    public long bufferBytes() {
        long s = workspace.bytes();
        for (Buffers b : byShape.values()) s += b.bytes();
        return s;
    }

    // ------------------------------------------------------------------------------------------------
    // accessors

    /**
     * A float {@link Gpt} with this model's parameters, the linear weights being the dequantized packed weights
     * (exact in float): the reference this model's logits are compared with. A packed head is not represented
     * (the float model's head is its float wte).
     */
    public Gpt dequantizedGpt(int maxBatch, int maxSeq) {
        Gpt g = new Gpt(config, maxBatch, maxSeq, 0L);
        Map<String, FloatTensor> p = g.parameters();
        p.get("wte.weight").copyFrom(wte.toFloatArray());
        p.get("wpe.weight").copyFrom(wpe.toFloatArray());
        p.get("ln_f.weight").copyFrom(lnfW.toFloatArray());
        p.get("ln_f.bias").copyFrom(lnfB.toFloatArray());
        for (int l = 0; l < nLayer; l++) {
            String h = "h." + l + ".";
            Block w = blocks[l];
            p.get(h + "ln_1.weight").copyFrom(w.ln1W.toFloatArray());
            p.get(h + "ln_1.bias").copyFrom(w.ln1B.toFloatArray());
            p.get(h + "ln_2.weight").copyFrom(w.ln2W.toFloatArray());
            p.get(h + "ln_2.bias").copyFrom(w.ln2B.toFloatArray());
            for (int i = 0; i < 4; i++) {
                QuantizedLinear q = w.layer(i);
                p.get(h + LAYERS.get(i) + ".weight").copyFrom(q.weight().dequantize());
                p.get(h + LAYERS.get(i) + ".bias").copyFrom(q.bias());
            }
        }
        return g;
    }

    /** The packed layer {@code h.N.attn.c_attn} etc. (see {@link #LAYERS}). */
    public QuantizedLinear layer(int block, String name) {
        if (block < 0 || block >= nLayer) {
            throw new IllegalArgumentException("block: " + block + " is outside [0, n_layer = " + nLayer + ")");
        }
        int i = LAYERS.indexOf(name);
        if (i < 0) throw new IllegalArgumentException("name: " + name + " is not one of " + LAYERS);
        return blocks[block].layer(i);
    }

    /**
     * The packed layers by their names in {@code quantized.safetensors} ({@code h.N.attn.c_attn}, ...), block by block
     * (what {@link PackedSafetensors#save} writes); the head is not among them.
     */
    public Map<String, QuantizedLinear> packedLayers() {
        Map<String, QuantizedLinear> m = new LinkedHashMap<>();
        for (int l = 0; l < nLayer; l++) {
            for (int i = 0; i < 4; i++) m.put("h." + l + "." + LAYERS.get(i), blocks[l].layer(i));
        }
        return m;
    }

    /** The packed LM head, or null when the head is the float32 wte (the default). */
    public QuantizedLinear packedHead() { return head; }

    public Gpt2Config config() { return config; }

    @Override
    public int maxBatch() { return maxB; }

    @Override
    public int maxSequenceLength() { return maxT; }

    @Override
    public int vocabSize() { return vocab; }

    @Override
    public String toString() {
        PackedWeights w = blocks[0].attn.weight();
        return "PackedGpt[" + nLayer + " x " + embd + ", " + w.format().id() + " g" + w.group()
                + (head == null ? ", float32 head" : ", packed head") + "]";
    }
}
