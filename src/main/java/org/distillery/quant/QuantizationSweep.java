package org.distillery.quant;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.eval.CausalLm;
import org.distillery.eval.MemoizedCausalLm;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.quant.packed.Int8ActivationQuality;
import org.distillery.quant.packed.PackedGpt;
import org.distillery.quant.packed.PackedLayers;
import org.distillery.quant.packed.QuantizedLinear;

/**
 * The bit-width sweep of notebook {@code 20-quantization-sweep}: one float GPT quantized by each {@link Scheme} at
 * each bit width, with and without Norm Tweaking, each result scored against the float model on the same
 * validation windows ({@link Perplexity#compare}: perplexity and the mean KL of the next-token distributions) and
 * sized in bytes.
 *
 * <p><b>Calibration.</b> Every calibrated method of one seed gets the same windows: {@link SelfGeneratedCalibration}
 * of the float model (the first tokens greedy after a start token drawn from {@code startTokens}, then sampling),
 * as Norm Tweaking prescribes, so that a method with and without Norm Tweaking differs only by the tweak.
 *
 * <p><b>Grids.</b> All integer grids are asymmetric min-max (GPTQ's default) with fp16 scales (the packed files'
 * type). "g128" is the largest group of at most 128 columns that divides every linear layer's input width.
 *
 * <p><b>Size.</b> Linear layers: the packed layers' real storage when the codes pack exactly (8 and 4 bits:
 * codes, fp16 scales, zero-points), else the bit-packed size ({@link PackedLayers#nominalBitsPerWeight}); the
 * rest of the model (embeddings, positions, LayerNorms, biases) stays float32.
 */
public final class QuantizationSweep {
    /** The weight-quantization schemes. */
    public enum Scheme {
        RTN_TENSOR("RTN per-tensor", "rtn", Quantizer.Granularity.PER_TENSOR),
        RTN_CHANNEL("RTN per-channel", "rtn", Quantizer.Granularity.PER_CHANNEL),
        RTN_GROUP("RTN g128", "rtn", Quantizer.Granularity.GROUP),
        GPTQ_CHANNEL("GPTQ per-channel", "gptq", Quantizer.Granularity.PER_CHANNEL),
        GPTQ_GROUP("GPTQ g128", "gptq", Quantizer.Granularity.GROUP),
        AWQ_GROUP("AWQ g128", "awq", Quantizer.Granularity.GROUP);

        private final String label, method;
        private final Quantizer.Granularity granularity;

        Scheme(String label, String method, Quantizer.Granularity granularity) {
            this.label = label;
            this.method = method;
            this.granularity = granularity;
        }

        public String label() { return label; }

        /** The {@link QuantizationMethod} id without Norm Tweaking. */
        public String method() { return method; }

        public Quantizer.Granularity granularity() { return granularity; }

        /** The grid at {@code bits} (asymmetric, fp16 scales), groups of {@code group} columns for the g128 schemes. */
        public Quantizer quantizer(int bits, int group) {
            Quantizer q = switch (granularity) {
                case PER_TENSOR -> Quantizer.perTensor(bits, false);
                case PER_CHANNEL -> Quantizer.perChannel(bits, false);
                case GROUP -> Quantizer.grouped(bits, false, group);
            };
            return q.withFp16Scales(true);
        }
    }

    /**
     * One quantized model.
     *
     * @param perplexity      its validation perplexity
     * @param floatPerplexity the float model's on the same positions
     * @param meanKl          mean KL(float || quantized) of the next-token distributions, nats per token
     * @param linearBytes     bytes of the linear layers' weights (see the class comment)
     * @param otherBytes      bytes of everything else, float32
     * @param bitsPerWeight   linear-layer bits per weight (8 * linearBytes / weights)
     * @param packed          whether linearBytes is a real packed layout (else the bit-packed size)
     * @param seconds         wall-clock time of the quantization
     */
    public record Point(Scheme scheme, boolean normTweak, int bits, long seed, double perplexity, double floatPerplexity,
                        double meanKl, long linearBytes, long otherBytes, double bitsPerWeight, boolean packed, double seconds) {
        public long totalBytes() { return linearBytes + otherBytes; }

        /** "GPTQ g128 + NT". */
        public String label() { return scheme.label() + (normTweak ? " + NT" : ""); }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s %d-bit seed %d: ppl %.4f (float %.4f), KL %.5f, %,d bytes (%.3f bits/weight%s)",
                    label(), bits, seed, perplexity, floatPerplexity, meanKl, totalBytes(), bitsPerWeight, packed ? ", packed" : "");
        }
    }

    private final Path floatDir;
    private final int batchSize, seqLen, calibrationWindows;
    private final int[] evalTokens, startTokens;
    private final NormTweak.Options normTweak;
    private final Gpt reference;
    /** The reference as every point scores it: its logits on the evaluation windows computed once, then reused. */
    private final MemoizedCausalLm referenceLm;
    private final Map<Long, List<int[]>> calibration = new HashMap<>();
    private final int group;

    /**
     * @param floatDir           the float model's directory
     * @param evalTokens         validation tokens (non-overlapping windows of the model's context)
     * @param calibrationWindows self-generated calibration windows per seed, of the model's context
     * @param startTokens        the ids a generated window may start with
     * @param normTweak          Norm Tweaking's options
     * @param batchSize          windows per forward pass
     */
    public QuantizationSweep(Path floatDir, int[] evalTokens, int calibrationWindows, int[] startTokens,
                             NormTweak.Options normTweak, int batchSize) {
        if (floatDir == null) throw new IllegalArgumentException("floatDir: must not be null");
        if (evalTokens == null || evalTokens.length < 2) throw new IllegalArgumentException("evalTokens: need at least 2 tokens");
        if (calibrationWindows < 1) {
            throw new IllegalArgumentException("calibrationWindows: must be >= 1 but was " + calibrationWindows);
        }
        if (normTweak == null) throw new IllegalArgumentException("normTweak: must not be null");
        if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
        this.floatDir = floatDir;
        this.batchSize = batchSize;
        this.calibrationWindows = calibrationWindows;
        this.evalTokens = evalTokens.clone();
        this.startTokens = startTokens == null ? null : startTokens.clone();
        this.normTweak = normTweak;
        this.seqLen = Gpt.load(floatDir, 1, 2).config().nPositions();
        this.reference = load();
        this.referenceLm = MemoizedCausalLm.of(CausalLm.of(reference));
        int g = 128;
        for (String n : LinearLayers.names(reference)) {
            int width = reference.parameters().get(n).dim(1);
            while (width % g != 0) g--;
        }
        this.group = g;
    }

    /** The float model, loaded afresh (for the batch size and context of the sweep). */
    public Gpt load() {
        return Gpt.load(floatDir, batchSize, seqLen);
    }

    /** The float model every point is compared with (do not modify it). */
    public Gpt reference() { return reference; }

    /** The group width of the g128 schemes: the largest g &lt;= 128 dividing every linear layer's input width. */
    public int group() { return group; }

    /** The model's context T (calibration windows and evaluation windows). */
    public int seqLen() { return seqLen; }

    /** Bytes of the float32 model (every parameter once; the tied LM head is the token embedding). */
    public long floatBytes() { return 4L * reference.parameterCount(); }

    /** The self-generated calibration windows of {@code seed} (generated once per seed). */
    public synchronized List<int[]> calibration(long seed) {
        return calibration.computeIfAbsent(seed, s -> {
            SelfGeneratedCalibration c = SelfGeneratedCalibration.of(calibrationWindows, seqLen, s);
            if (startTokens != null) c = c.withStartTokens(startTokens);
            return c.generate(reference);
        });
    }

    /** A quantized copy of the float model and what the method returned. */
    public record Quantized(Gpt model, QuantizationMethod.Result result, double seconds) {}

    /** Quantizes a fresh copy of the float model by {@code scheme} at {@code bits} (+ Norm Tweaking), calibration {@code seed}. */
    public Quantized quantize(Scheme scheme, int bits, boolean withNormTweak, long seed) {
        if (scheme == null) throw new IllegalArgumentException("scheme: must not be null");
        Quantizer q = scheme.quantizer(bits, group);
        QuantizationMethod method = QuantizationMethod.parse(withNormTweak ? "normtweak+" + scheme.method() : scheme.method(),
                "method");
        Gpt model = load();
        List<int[]> windows = method.calibrated() ? calibration(seed) : null;
        long t0 = System.nanoTime();
        QuantizationMethod.Result r = method.apply(model, windows, QuantizationMethod.Settings.defaults(q, batchSize)
                .withNormTweak(normTweak));
        return new Quantized(model, r, (System.nanoTime() - t0) / 1e9);
    }

    /** One point of the sweep: quantize, then score against the float model and size it. */
    public Point run(Scheme scheme, int bits, boolean withNormTweak, long seed) {
        Quantized qz = quantize(scheme, bits, withNormTweak, seed);
        Perplexity.Comparison c = Perplexity.compare(referenceLm, CausalLm.of(qz.model()), evalTokens, seqLen, batchSize);
        Map<String, QuantizedTensor> tensors = qz.result().tensors();
        long weights = 0;
        for (QuantizedTensor t : tensors.values()) weights += (long) t.rows() * t.cols();
        long linear = PackedLayers.storageBytes(tensors, qz.model());
        long other = 4L * (qz.model().parameterCount() - weights);
        return new Point(scheme, withNormTweak, bits, seed, c.model().perplexity(), c.reference().perplexity(), c.meanKl(),
                linear, other, 8.0 * linear / weights, PackedLayers.packReason(tensors) == null, qz.seconds());
    }

    /** Every scheme x bits, with and without Norm Tweaking, at one calibration seed. */
    public List<Point> grid(List<Scheme> schemes, List<Integer> bits, long seed, java.util.function.Consumer<Point> progress) {
        List<Point> out = new ArrayList<>();
        for (int b : bits) {
            for (Scheme s : schemes) {
                for (boolean nt : new boolean[] {false, true}) {
                    Point p = run(s, b, nt, seed);
                    out.add(p);
                    if (progress != null) progress.accept(p);
                }
            }
        }
        return out;
    }

    /**
     * A W8A8 SmoothQuant point.
     *
     * @param smoothing per layer: the outlier ratio (max / median of the per-channel max|X|) of its input before and
     *                  after smoothing (empty without smoothing)
     */
    public record SmoothPoint(boolean smooth, ActivationQuantizer.Granularity activations, double perplexity,
                              double floatPerplexity, double meanKl, List<SmoothQuant.LayerSmoothing> smoothing) {}

    /**
     * SmoothQuant W8A8 (INT8 symmetric per-channel weights with fp16 scales, as the packed files hold them; 8-bit
     * activations) with or without the smoothing, at alpha 0.5, calibration {@code seed}.
     */
    public SmoothPoint smoothQuant(boolean smooth, ActivationQuantizer.Granularity activations, long seed) {
        Gpt model = load();
        SmoothQuant.Result r = smoothQuant(model, smooth, activations, seed);
        Perplexity.Comparison c = Perplexity.compare(referenceLm, CausalLm.of(model), evalTokens, seqLen, batchSize);
        return new SmoothPoint(smooth, activations, c.model().perplexity(), c.reference().perplexity(), c.meanKl(), r.smoothing());
    }

    /** Quantizes {@code model} in place by SmoothQuant W8A8 ({@link #smoothQuant(boolean, ActivationQuantizer.Granularity, long)}). */
    private SmoothQuant.Result smoothQuant(Gpt model, boolean smooth, ActivationQuantizer.Granularity activations, long seed) {
        SmoothQuant.Options o = SmoothQuant.Options.defaults(batchSize).withSmoothing(smooth)
                .withWeights(Quantizer.perChannel(8, true).withFp16Scales(true)).withActivations(activations, 8);
        return SmoothQuant.apply(model, calibration(seed), o);
    }

    /**
     * One SmoothQuant W8A8 model on the integer kernel, on windows of {@link Int8ActivationQuality#WINDOW} tokens.
     *
     * @param kernelVsSimulated the model packed ({@link PackedGpt#of}) with its activation quantization on the W8A8
     *                          kernel ({@link PackedGpt#withInt8Activations(ActivationQuantizer)}) against the simulated
     *                          model (dequantized weights, fake-quantized activations): they should agree
     * @param kernelVsFloat     the same kernel model against the packed model with float activations: what rounding the
     *                          activations costs
     * @param kernel            the kernel model itself (for timing)
     */
    public record KernelPoint(boolean smooth, ActivationQuantizer.Granularity activations,
                              Int8ActivationQuality.Result kernelVsSimulated, Int8ActivationQuality.Result kernelVsFloat,
                              PackedGpt kernel) {}

    /**
     * The model of {@link #smoothQuant(boolean, ActivationQuantizer.Granularity, long)} run on real int8 arithmetic:
     * packed as it is and compared on {@code windows} windows of the evaluation tokens ({@link Int8ActivationQuality}).
     *
     * @throws IllegalArgumentException when the layers do not fit the W8A8 kernel (inputs that are not whole kernel
     *                                  steps, {@link QuantizedLinear#supportsInt8Activations})
     */
    public KernelPoint smoothQuantOnKernel(boolean smooth, ActivationQuantizer.Granularity activations, long seed, int windows) {
        Gpt model = load();
        SmoothQuant.Result r = smoothQuant(model, smooth, activations, seed);
        PackedGpt packed = PackedGpt.of(model, r.tensors());
        PackedGpt kernel = packed.withInt8Activations(r.activations());
        Int8ActivationQuality.Result vsSimulated = Int8ActivationQuality.compare(CausalLm.of(model), kernel, evalTokens, windows);
        Int8ActivationQuality.Result vsFloat = Int8ActivationQuality.compare(packed, kernel, evalTokens, windows);
        return new KernelPoint(smooth, activations, vsSimulated, vsFloat, kernel);
    }
}
