package org.distillery.quant;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.formats.IntFormat;
import org.distillery.model.TrainableModel;
import org.distillery.train.TrainingObjective;
import org.distillery.train.WrappingObjective;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Quantization-aware training (QAT; fake quantization with the straight-through estimator, Bengio et al. 2013,
 * as in Jacob et al. 2018 and LLM-QAT, Liu et al. 2023): fine-tunes a model whose linear weights are quantized in
 * the forward pass while float "latent" weights are kept and updated. A {@link TrainingObjective} that wraps any
 * objective (e.g. {@link org.distillery.train.CausalLmObjective} on a {@code Gpt}) for the existing
 * {@link org.distillery.train.Trainer}: for each linear weight W (found by {@link LinearLayers}), per micro-batch,
 * <pre>
 *   1. Q = quantizer(W_latent)           the model's weight is set to Q: the forward (and the loss) sees Q   [out, in]
 *   2. inner forward + backward          g = dL/dQ, accumulated into the model's gradient of W             [out, in]
 *   3. straight-through estimator        dL/dW_latent = g * 1[ qmin &lt;= rint(W_latent / scale) + zero &lt;= qmax ]
 *   4. the optimiser updates W_latent     (the trainer's AdamW sees the latent tensors under W's name)
 * </pre>
 * i.e. the gradient passes through the rounding unchanged and is 0 where the quantizer clamps (PyTorch's
 * {@code fake_quantize_per_channel_affine} backward): the gradient of the un-rounded surrogate
 * scale * (clamp(W / scale + zero, qmin, qmax) - zero) at the rounded point. The scales and zero points are treated
 * as constants in the backward ({@code detach}, as LLM-QAT's quantizer). They are either refitted to the latent
 * weights at every forward ({@link Ranges#REFIT}, the default: min-max, LLM-QAT's per-channel weight
 * quantizer; nothing is clamped unless the quantizer's clipping search shrinks the range) or fitted once to the
 * starting weights and kept ({@link Ranges#FIXED}: latent weights that leave the range get no gradient).
 * Everything else (embeddings, LayerNorms, biases) trains in float as usual.
 *
 * <p>{@link #finish()} quantizes the latent weights a last time and leaves the model's weights exactly on the grid
 * (the dequantized codes it returns). {@link #model()} is the view the optimiser trains: the model's parameters
 * with the latent tensors in place of the linear weights; its {@code save} writes the latent weights (a
 * checkpoint to continue from), not the quantized ones. Determinism: quantization is a pure function of the
 * latent weights, so a run is exactly as reproducible as the wrapped objective.
 */
public final class Qat implements WrappingObjective {

    /** Where the quantizer's ranges come from. */
    public enum Ranges {
        /** Refitted to the latent weights at every forward (scales and zero points detached). */
        REFIT,
        /** Fitted once to the starting weights and kept; latent weights outside the range get no gradient. */
        FIXED
    }

    private final TrainingObjective inner;
    private final TrainableModel model;
    private final Quantizer quantizer;
    private final Ranges ranges;
    private final List<String> names;                              // the linear weights
    private final Map<String, FloatTensor> latent = new LinkedHashMap<>();   // [out, in] each
    private final Map<String, QuantizedTensor> fixed = new LinkedHashMap<>(); // FIXED: the starting fit
    private final Map<String, QuantizedTensor> current = new LinkedHashMap<>(); // the last fake quantization
    private final Map<String, boolean[]> pass = new LinkedHashMap<>();       // [out * in] STE mask of the last one
    private final Map<String, FloatTensor> viewParameters = new LinkedHashMap<>();
    private final TrainableModel view;

    /**
     * Wraps {@code inner}; the latent weights start as the model's current linear weights.
     *
     * @param quantizer an integer grid (2-8 bits; any granularity; float formats are not supported)
     * @param ranges    {@link Ranges#REFIT} or {@link Ranges#FIXED}
     */
    public Qat(TrainingObjective inner, Quantizer quantizer, Ranges ranges) {
        if (inner == null || inner.model() == null) throw new IllegalArgumentException("inner: must not be null and must have a model");
        if (quantizer == null) throw new IllegalArgumentException("quantizer: must not be null");
        if (quantizer.isFloat()) {
            throw new IllegalArgumentException("quantizer: " + quantizer.name() + " is a float format; QAT needs an integer grid (2-8 bits)");
        }
        if (ranges == null) throw new IllegalArgumentException("ranges: must not be null");
        this.inner = inner;
        this.model = inner.model();
        this.quantizer = quantizer;
        this.ranges = ranges;
        this.names = LinearLayers.names(model);
        if (names.isEmpty()) throw new IllegalArgumentException("inner: the model has no linear weights to quantize");
        for (String n : names) {
            FloatTensor w = model.parameters().get(n);
            float[] x = w.toFloatArray();
            try {
                quantizer.groupWidth(w.dim(1));
                Quantizer.checkMatrix(x, w.dim(0), w.dim(1));   // NaN/Inf: refused before the model is touched
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(n + ": " + e.getMessage(), e);
            }
            FloatTensor copy = FloatTensor.zeros(w.shape());
            copy.copyFrom(x);
            latent.put(n, copy);
            if (ranges == Ranges.FIXED) fixed.put(n, quantizer.quantize(copy));
        }
        for (Map.Entry<String, FloatTensor> e : model.parameters().entrySet()) {
            viewParameters.put(e.getKey(), latent.getOrDefault(e.getKey(), e.getValue()));
        }
        this.view = new LatentView();
        fakeQuantize();
    }

    /** The optimiser's model: the wrapped model's parameters with the latent weights in place of the linear ones. */
    private final class LatentView implements TrainableModel {
        @Override
        public Map<String, FloatTensor> parameters() { return Collections.unmodifiableMap(viewParameters); }

        @Override
        public Map<String, FloatTensor> gradients() { return model.gradients(); }

        @Override
        public void zeroGrad() { model.zeroGrad(); }

        /** Writes the wrapped model with its latent (float) linear weights; the model keeps the quantized ones. */
        @Override
        public void save(Path dir) {
            for (String n : names) model.parameters().get(n).copyFrom(latent.get(n).toFloatArray());
            try {
                model.save(dir);
            } finally {
                for (String n : names) current.get(n).dequantizeInto(model.parameters().get(n));
            }
        }

        @Override
        public long parameterCount() { return model.parameterCount(); }
    }

    /** Step 1: Q = quantizer(W_latent) into the model's weights, and the STE masks. */
    private void fakeQuantize() {
        for (String n : names) {
            FloatTensor w = latent.get(n);
            int rows = w.dim(0), cols = w.dim(1);
            float[] x = w.toFloatArray();
            QuantizedTensor q = ranges == Ranges.REFIT ? quantizer.quantize(x, rows, cols) : onGrid(fixed.get(n), x);
            boolean[] m = pass.computeIfAbsent(n, k -> new boolean[rows * cols]);
            mask(q, x, m);
            current.put(n, q);
            q.dequantizeInto(model.parameters().get(n));
        }
    }

    /** x quantized with the scales and zero points of {@code grid}. */
    static QuantizedTensor onGrid(QuantizedTensor grid, float[] x) {
        IntFormat fmt = grid.quantizer().intFormat();
        int rows = grid.rows(), cols = grid.cols();
        int[] codes = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = grid.groupOf(c);
                codes[r * cols + c] = fmt.quantize(x[r * cols + c], grid.scale(r, k), grid.zero(r, k));
            }
        }
        return new QuantizedTensor(grid.quantizer(), rows, cols, grid.groupWidth(), grid.columnGroup(), codes,
                grid.scales().clone(), grid.zeros().clone());
    }

    /** m[i] = whether rint(x / scale) + zero lies in [qmin, qmax] (the gradient passes), with q's parameters. */
    static void mask(QuantizedTensor q, float[] x, boolean[] m) {
        IntFormat fmt = q.quantizer().intFormat();
        int cols = q.cols();
        for (int r = 0; r < q.rows(); r++) {
            for (int c = 0; c < cols; c++) {
                int k = q.groupOf(c);
                double code = Math.rint((double) x[r * cols + c] / q.scale(r, k)) + q.zero(r, k);
                m[r * cols + c] = code >= fmt.qmin() && code <= fmt.qmax();
            }
        }
    }

    /** Steps 1-3 for one micro-batch. */
    @Override
    public double forwardBackward(MicroBatch batch) {
        fakeQuantize();
        double loss = inner.forwardBackward(batch);
        for (String n : names) {                                       // step 3: dL/dW_latent = g * mask
            FloatTensor g = model.gradients().get(n);
            boolean[] m = pass.get(n);
            for (int i = 0; i < m.length; i++) if (!m[i]) g.set(i, 0f);
        }
        return loss;
    }

    /** The wrapped objective's validation loss with the current latent weights quantized. */
    @Override
    public double validationLoss() {
        fakeQuantize();
        return inner.validationLoss();
    }

    /**
     * Quantizes the latent weights a last time: the model's linear weights are then exactly the dequantized codes
     * returned (by weight name, in order; e.g. for packing).
     */
    public Map<String, QuantizedTensor> finish() {
        fakeQuantize();
        return Collections.unmodifiableMap(new LinkedHashMap<>(current));
    }

    /**
     * One report row per linear layer for the last fake quantization (e.g. after {@link #finish()}): the weight
     * errors of the quantized weights against the latent ones.
     */
    public List<LayerReport> layers() {
        List<LayerReport> rows = new java.util.ArrayList<>();
        for (String n : names) {
            QuantizedTensor q = current.get(n);
            double[] err = LayerReport.errors(latent.get(n).toFloatArray(), q.dequantize());
            rows.add(new LayerReport(n, q.rows(), q.cols(), "QAT " + quantizer.name() + " (" + ranges.name().toLowerCase(java.util.Locale.ROOT)
                    + " ranges)", err[0], err[1], Double.NaN, 0));
        }
        return rows;
    }

    /** The latent float weights by name (live tensors, [out, in]). */
    public Map<String, FloatTensor> latentWeights() {
        return Collections.unmodifiableMap(latent);
    }

    /**
     * The STE mask of the last fake quantization of weight {@code name}: true where the gradient passes (a copy,
     * [out * in] row-major).
     */
    public boolean[] gradientMask(String name) {
        boolean[] m = pass.get(name);
        if (m == null) throw new IllegalArgumentException("name: " + name + " is not a linear weight of the model " + names);
        return m.clone();
    }

    public Quantizer quantizer() { return quantizer; }

    public Ranges ranges() { return ranges; }

    @Override
    public TrainableModel model() { return view; }

    @Override
    public TrainingObjective inner() { return inner; }

    @Override
    public String kind() { return "qat-" + inner.kind(); }

    /** The wrapped objective's state plus the quantizer and the ranges. */
    @Override
    public ObjectNode state() {
        ObjectNode o = inner.state();
        ObjectNode q = o.putObject("qat");
        q.put("quantizer", quantizer.name());
        q.put("ranges", ranges.name());
        return o;
    }
}
