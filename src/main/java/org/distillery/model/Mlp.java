package org.distillery.model;

import org.distillery.util.Seeds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.DropoutKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.engine.kernels.ReluKernel;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.util.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A multilayer perceptron classifier with ReLU hidden layers and dropout, as the MNIST teacher and
 * student nets of Hinton, Vinyals and Dean (2015, "Distilling the Knowledge in a Neural Network",
 * section 3: 784-1200-1200-10, dropout, jittered inputs), on the hand-written kernels of
 * {@code org.distillery.engine.kernels}. With layer sizes s_0 (input), ..., s_L (classes):
 * <pre>
 *   h_0 = drop_in(x)                                   [B, s_0]
 *   for i = 0 .. L-1:
 *     z_i = h_i W_i^T + b_i                            [B, s_{i+1}]   W_i [s_{i+1}, s_i] ("layers.i.weight")
 *     h_{i+1} = drop_hidden(relu(z_i))  (i &lt; L-1)
 *   logits = z_{L-1}                                   [B, classes]
 *   loss   = mean over the batch of cross-entropy(logits, label)
 * </pre>
 * Dropout is inverted dropout ({@link DropoutKernel}) with probability {@code pIn} on the input and
 * {@code pHidden} on every hidden layer's output (Hinton et al.'s teacher: 0.2 and 0.5), active only in
 * training mode ({@link #train()}, the default after construction; {@link #eval()} switches it off).
 * Masks are a pure function of (dropout seed, number of training forwards with dropout, layer), so a
 * run is reproducible from its seeds; {@link #setDropout} resets the count (which also fixes the masks
 * for a gradient check).
 *
 * <p>Parameters live in a {@link LinkedHashMap} under {@code layers.{i}.weight} {@code [out, in]} and
 * {@code layers.{i}.bias} {@code [out]} (PyTorch {@code nn.Linear} layout; the names of a
 * {@code nn.ModuleList} called {@code layers}), with a gradient map of the same names and shapes.
 *
 * <p>Activations and gradient buffers are allocated per batch size: {@code maxB} at construction, any
 * other size b &lt;= maxB at its first forward, then reused. Forward and backward allocate no tensors.
 * Not thread-safe: one forward/backward at a time.
 */
public final class Mlp implements TrainableModel {
    /** {@code model_type} written to and required in {@code config.json}. */
    public static final String MODEL_TYPE = "distillery-mlp";
    /** Configuration file of a saved model. */
    public static final String CONFIG_FILE = "config.json";
    /** Weights file of a saved model. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int IGNORE = CrossEntropyKernel.DEFAULT_IGNORE_INDEX;   // never used by labels

    private final int[] sizes;
    private final int nLayers, inputs, classes, maxB;
    private final FloatTensor[] w, b, dw, db;                // per layer

    private final NamedParameters named = new NamedParameters();

    private final Map<Integer, Activations> byBatch = new HashMap<>();
    private Activations acts;
    private boolean hasForward, hasLoss;

    private double pIn, pHidden;
    private long dropoutSeed, forwardCount, stepSeed;
    private boolean training = true;
    private boolean dropped;                                 // whether the last forward applied dropout

    /**
     * A model with PyTorch's default {@code nn.Linear} initialisation: every weight and bias uniform on
     * [-1/sqrt(fan_in), 1/sqrt(fan_in)] (that is {@code kaiming_uniform_(a=sqrt(5))} for the weight, whose
     * bound gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + 5)) is 1/sqrt(fan_in), and the same bound
     * for the bias), drawn as {@code (2 u - 1) bound} with u from {@code new Random(seed).nextDouble()},
     * layer by layer, weight (row-major) then bias. Dropout masks are seeded from {@code seed} too.
     *
     * @param layerSizes s_0 (input width), hidden widths..., s_L (classes); at least 2 entries, each &gt;= 1
     * @param pIn        input dropout probability, in [0, 1)
     * @param pHidden    hidden-layer dropout probability, in [0, 1)
     * @param maxB       largest batch size, &gt;= 1
     * @param seed       initialisation (and dropout) seed
     */
    public Mlp(List<Integer> layerSizes, double pIn, double pHidden, int maxB, long seed) {
        this(layerSizes, maxB);
        setDropout(pIn, pHidden, Seeds.mix(seed, 0x6D6C70L));
        Random rnd = new Random(seed);
        for (int i = 0; i < nLayers; i++) {
            double bound = 1.0 / Math.sqrt(sizes[i]);
            for (FloatTensor p : new FloatTensor[] {w[i], b[i]}) {
                for (int k = 0; k < p.size(); k++) p.set(k, (float) ((2 * rnd.nextDouble() - 1) * bound));
            }
        }
    }

    /** A model without dropout: {@code Mlp(layerSizes, 0, 0, maxB, seed)}. */
    public Mlp(List<Integer> layerSizes, int maxB, long seed) {
        this(layerSizes, 0, 0, maxB, seed);
    }

    /** Allocates parameters (zero), gradients and the maxB activations. */
    private Mlp(List<Integer> layerSizes, int maxB) {
        this.sizes = checkSizes(layerSizes);
        if (maxB < 1) throw new IllegalArgumentException("maxB: batch size must be >= 1 but was " + maxB);
        this.maxB = maxB;
        this.nLayers = sizes.length - 1;
        this.inputs = sizes[0];
        this.classes = sizes[nLayers];
        w = new FloatTensor[nLayers];
        b = new FloatTensor[nLayers];
        dw = new FloatTensor[nLayers];
        db = new FloatTensor[nLayers];
        for (int i = 0; i < nLayers; i++) {
            w[i] = param("layers." + i + ".weight", sizes[i + 1], sizes[i]);
            dw[i] = named.grad("layers." + i + ".weight");
            b[i] = param("layers." + i + ".bias", sizes[i + 1]);
            db[i] = named.grad("layers." + i + ".bias");
        }
        acts = activations(maxB);
    }

    private static int[] checkSizes(List<Integer> layerSizes) {
        if (layerSizes == null) throw new IllegalArgumentException("layerSizes: must not be null");
        if (layerSizes.size() < 2) {
            throw new IllegalArgumentException("layerSizes: need at least 2 entries (input width and classes) but got "
                    + layerSizes);
        }
        int[] s = new int[layerSizes.size()];
        for (int i = 0; i < s.length; i++) {
            Integer v = layerSizes.get(i);
            if (v == null || v < 1) {
                throw new IllegalArgumentException("layerSizes: entry " + i + " is " + v + " in " + layerSizes
                        + "; every layer size must be >= 1");
            }
            s[i] = v;
        }
        return s;
    }

    private FloatTensor param(String name, int... shape) {
        return named.add(name, shape);
    }

    // ------------------------------------------------------------------------------------------------
    // activations

    /** Every buffer of one batch size B. */
    private final class Activations {
        final int n;
        final int[] labels;            // [B]
        final FloatTensor[] h;         // h[i]: input of layer i, [B, s_i]; h[0] the (dropped-out) input
        final FloatTensor[] z;         // z[i]: output of layer i, [B, s_{i+1}]; z[L-1] the logits
        final FloatTensor dlogits;     // [B, classes], filled by a forward with labels
        final FloatTensor[] dh;        // dh[i], i >= 1: gradient of h[i], [B, s_i] (dh[0] unused: null)
        final FloatTensor[] dz;        // dz[i], i < L-1: gradient of z[i], [B, s_{i+1}]

        Activations(int n) {
            this.n = n;
            labels = new int[n];
            h = new FloatTensor[nLayers];
            z = new FloatTensor[nLayers];
            dh = new FloatTensor[nLayers];
            dz = new FloatTensor[nLayers];
            for (int i = 0; i < nLayers; i++) {
                h[i] = FloatTensor.zeros(n, sizes[i]);
                z[i] = FloatTensor.zeros(n, sizes[i + 1]);
                if (i > 0) dh[i] = FloatTensor.zeros(n, sizes[i]);
                if (i < nLayers - 1) dz[i] = FloatTensor.zeros(n, sizes[i + 1]);
            }
            dlogits = FloatTensor.zeros(n, classes);
        }
    }

    private Activations activations(int n) {
        return byBatch.computeIfAbsent(n, Activations::new);
    }

    // ------------------------------------------------------------------------------------------------
    // forward / backward

    /**
     * Forward pass over a batch. Keeps the activations for {@link #backward()} /
     * {@link #backwardFromLogits} and the logits for {@link #logits()}. In training mode with a
     * dropout probability &gt; 0 every call draws new masks.
     *
     * @param x      inputs, row-major [B, s_0], exactly B*s_0 floats
     * @param labels class labels, length B, each in [0, classes); or null for logits only
     * @param bsz    batch size B, in [1, maxB]
     * @return the mean cross-entropy over the batch (nats), or NaN when {@code labels} is null
     */
    public double forward(float[] x, int[] labels, int bsz) {
        checkBatch(x, labels, bsz);
        if (acts.n != bsz) acts = activations(bsz);
        Activations a = acts;
        FloatTensor in = a.h[0];
        for (int k = 0, n = bsz * inputs; k < n; k++) in.set(k, x[k]);
        dropped = training && (pIn > 0 || pHidden > 0);
        if (dropped) {
            stepSeed = Seeds.mix(dropoutSeed, ++forwardCount);
            if (pIn > 0) DropoutKernel.forward(in, in, pIn, siteSeed(0));
        }
        for (int i = 0; i < nLayers; i++) {
            LinearKernel.forward(a.h[i], w[i], b[i], a.z[i]);
            if (i < nLayers - 1) {
                ReluKernel.forward(a.z[i], a.h[i + 1]);
                if (dropped && pHidden > 0) DropoutKernel.forward(a.h[i + 1], a.h[i + 1], pHidden, siteSeed(i + 1));
            }
        }
        hasForward = true;
        hasLoss = labels != null;
        if (!hasLoss) return Double.NaN;
        System.arraycopy(labels, 0, a.labels, 0, bsz);
        return CrossEntropyKernel.forwardBackward(a.z[nLayers - 1], a.labels, IGNORE, a.dlogits);
    }

    /**
     * Backward pass of the last {@link #forward} (which must have had labels) for its mean
     * cross-entropy: accumulates d loss / d parameter into {@link #gradients()}. Call {@link #zeroGrad()}
     * once per step before.
     */
    public void backward() {
        if (!hasLoss) throw new IllegalStateException("backward: the last forward had no labels (or there was none)");
        backpropagate(acts.dlogits);
    }

    /**
     * Backward pass of the last {@link #forward} from a gradient with respect to its logits, for a loss
     * computed outside the model (e.g. a distillation loss against a teacher's softened outputs):
     * accumulates {@code sum_{r,c} dlogits[r,c] * d logits[r,c] / d parameter} into {@link #gradients()}.
     * {@code dlogits} must be the gradient of the whole scalar loss, including any 1/B of a batch mean
     * (and, for Hinton et al.'s soft targets at temperature T, their T^2 factor). The dropout masks are
     * those of the forward. With {@code dlogits = (softmax(logits) - onehot(labels)) / B} this is
     * {@link #backward()}. {@code dlogits} is read, not modified, and may be {@link #logits()}-sized
     * scratch of the caller's; the last forward need not have had labels.
     *
     * @param dlogits d loss / d logits, [B, classes] with B the last forward's batch size
     */
    public void backwardFromLogits(FloatTensor dlogits) {
        if (!hasForward) throw new IllegalStateException("backwardFromLogits: no forward to differentiate");
        if (dlogits == null) throw new IllegalArgumentException("dlogits: must not be null");
        if (dlogits.rank() != 2 || dlogits.dim(0) != acts.n || dlogits.dim(1) != classes) {
            throw new IllegalArgumentException("dlogits: expected shape [" + acts.n + ", " + classes
                    + "] (last batch size, classes) but got " + dlogits.shapeString());
        }
        backpropagate(dlogits);
    }

    private void backpropagate(FloatTensor dlogits) {
        Activations a = acts;
        FloatTensor dy = dlogits;
        for (int i = nLayers - 1; i >= 0; i--) {
            FloatTensor dIn = i > 0 ? a.dh[i] : null;                       // no gradient for the input
            LinearKernel.backward(dy, a.h[i], w[i], dIn, dw[i], db[i]);
            if (i > 0) {
                if (dropped && pHidden > 0) DropoutKernel.backward(dIn, dIn, pHidden, siteSeed(i));
                ReluKernel.backward(dIn, a.z[i - 1], a.dz[i - 1]);
                dy = a.dz[i - 1];
            }
        }
    }

    /** Sets every gradient to 0. */
    public void zeroGrad() {
        named.zeroGrad();
    }

    /** Training mode: dropout on (with the probabilities of {@link #setDropout}). The default. */
    public Mlp train() {
        training = true;
        return this;
    }

    /** Evaluation mode: dropout off (inverted dropout needs no rescaling at test time). */
    public Mlp eval() {
        training = false;
        return this;
    }

    public boolean isTraining() { return training; }

    /**
     * Sets the dropout probabilities and the mask seed, and resets the count of dropout forwards (so the
     * next forward draws the same masks as the first one after the previous call with the same seed).
     *
     * @param pIn     input dropout probability, in [0, 1)
     * @param pHidden hidden-layer dropout probability, in [0, 1)
     * @param seed    mask seed
     */
    public void setDropout(double pIn, double pHidden, long seed) {
        checkP("pIn", pIn);
        checkP("pHidden", pHidden);
        this.pIn = pIn;
        this.pHidden = pHidden;
        this.dropoutSeed = seed;
        this.forwardCount = 0;
    }

    private static void checkP(String name, double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException(name + ": dropout probability must be in [0, 1) but was " + p);
    }

    public double inputDropout() { return pIn; }

    public double hiddenDropout() { return pHidden; }

    private long siteSeed(int site) {
        return Seeds.mix(stepSeed, site);
    }


    private void checkBatch(float[] x, int[] labels, int bsz) {
        if (bsz < 1 || bsz > maxB) throw new IllegalArgumentException("bsz: batch size " + bsz + " is outside [1, maxB = " + maxB + "]");
        if (x == null) throw new IllegalArgumentException("x: must not be null");
        if (x.length != (long) bsz * inputs) {
            String perRow = x.length % bsz == 0 ? x.length / bsz + " per row" : "not a whole number per row";
            throw new IllegalArgumentException("x: length " + x.length + " for batch size " + bsz + " is " + perRow
                    + ", but the model's input width is " + inputs + " (need bsz * " + inputs + " = "
                    + (long) bsz * inputs + " floats)");
        }
        if (labels == null) return;
        if (labels.length != bsz) {
            throw new IllegalArgumentException("labels: length " + labels.length + " but batch size is " + bsz);
        }
        for (int i = 0; i < bsz; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("labels: label " + labels[i] + " at row " + i
                        + " is out of range [0, " + classes + ") for " + classes + " classes");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // accessors

    /** The logits of the last forward, [B, classes] (a live buffer, overwritten by the next forward of that B). */
    public FloatTensor logits() { return acts.z[nLayers - 1]; }

    /** The output of layer {@code i} of the last forward before ReLU, [B, s_{i+1}] (for tests: kinks). */
    FloatTensor preActivation(int i) { return acts.z[i]; }

    /** The class with the largest logit in row {@code row} of {@code logits} (the first one on ties). */
    public static int argmax(FloatTensor logits, int row) {
        int c = logits.cols(), o = row * c, best = 0;
        float m = logits.get(o);
        for (int j = 1; j < c; j++) {
            float v = logits.get(o + j);
            if (v > m) {
                m = v;
                best = j;
            }
        }
        return best;
    }

    /** The parameters, {@code layers.{i}.weight} [out, in] and {@code layers.{i}.bias} [out], in layer order. */
    public Map<String, FloatTensor> parameters() { return named.parameters(); }

    /** The gradients, same names and shapes as {@link #parameters()}. */
    public Map<String, FloatTensor> gradients() { return named.gradients(); }

    /** The layer sizes s_0 (input), ..., s_L (classes). */
    public List<Integer> layerSizes() {
        List<Integer> l = new ArrayList<>(sizes.length);
        for (int s : sizes) l.add(s);
        return List.copyOf(l);
    }

    public int inputWidth() { return inputs; }

    public int classes() { return classes; }

    public int maxBatch() { return maxB; }

    /** Total number of parameter elements. */
    public long parameterCount() {
        return named.count();
    }

    // ------------------------------------------------------------------------------------------------
    // checkpoints

    /**
     * Writes {@code dir/model.safetensors} (F32, the parameter names, metadata {@code format: pt}) and
     * then {@code dir/config.json} ({@code model_type}, {@code layer_sizes}, {@code dropout_input},
     * {@code dropout_hidden}), each atomically (temporary file and rename, {@link AtomicFiles}), so a
     * reader never sees a half-written file; {@link #load} checks the two files against each other.
     */
    public void save(Path dir) {
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : named.parameters().entrySet()) {
            out.add(NamedTensor.f32(e.getKey(), e.getValue().shape(), e.getValue().toFloatArray()));
        }
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("model_type", MODEL_TYPE);
        ArrayNode s = cfg.putArray("layer_sizes");
        for (int v : sizes) s.add(v);
        cfg.put("dropout_input", pIn);
        cfg.put("dropout_hidden", pHidden);
        String text;
        try {
            text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Safetensors.write(dir.resolve(WEIGHTS_FILE), out, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), text);
    }

    /**
     * Loads a model written by {@link #save}: layer sizes and dropout probabilities from
     * {@code config.json}, parameters from {@code model.safetensors} (every tensor must be present with
     * the shape the layer sizes imply, and no other). The dropout mask seed is {@code seed}; the model
     * starts in training mode.
     *
     * @param dir  the checkpoint directory
     * @param maxB largest batch size
     * @param seed dropout mask seed
     */
    public static Mlp load(Path dir, int maxB, long seed) {
        Path cfgPath = dir.resolve(CONFIG_FILE);
        JsonNode cfg;
        try {
            cfg = JSON.readTree(Files.readString(cfgPath));
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(cfgPath + ": no such file");
        } catch (IOException e) {
            throw new CheckpointFormatException(cfgPath + ": cannot read or parse: " + e.getMessage());
        }
        if (cfg == null || !cfg.isObject() || !MODEL_TYPE.equals(cfg.path("model_type").asText(null))) {
            throw new CheckpointFormatException(cfgPath + ": model_type must be \"" + MODEL_TYPE + "\"");
        }
        JsonNode ls = cfg.path("layer_sizes");
        if (!ls.isArray()) throw new CheckpointFormatException(cfgPath + ": layer_sizes must be an array of integers");
        List<Integer> sizes = new ArrayList<>();
        for (JsonNode n : ls) {
            if (!n.isInt()) throw new CheckpointFormatException(cfgPath + ": layer_sizes entry " + n + " is not an integer");
            sizes.add(n.asInt());
        }
        double pIn = cfg.path("dropout_input").asDouble(0), pHidden = cfg.path("dropout_hidden").asDouble(0);
        Mlp m;
        try {
            m = new Mlp(sizes, maxB);
            m.setDropout(pIn, pHidden, seed);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(cfgPath + ": " + e.getMessage());
        }
        Path wPath = dir.resolve(WEIGHTS_FILE);
        Map<String, NamedTensor> tensors = Safetensors.readAll(wPath);
        for (Map.Entry<String, FloatTensor> e : m.named.parameters().entrySet()) {
            NamedTensor t = tensors.get(e.getKey());
            FloatTensor dst = e.getValue();
            if (t == null) throw new CheckpointFormatException(wPath + ": missing tensor " + e.getKey());
            if (!java.util.Arrays.equals(dst.shape(), t.shape())) {
                throw new CheckpointFormatException(wPath + ": tensor " + e.getKey() + " has shape "
                        + java.util.Arrays.toString(t.shape()) + " but layer sizes " + sizes + " need " + dst.shapeString());
            }
            dst.copyFrom(t.data());
        }
        for (String name : tensors.keySet()) {
            if (!m.named.parameters().containsKey(name)) {
                throw new CheckpointFormatException(wPath + ": unexpected tensor " + name + " for layer sizes " + sizes);
            }
        }
        return m;
    }
}
