package org.distillery.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.data.BrownCorpus;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.model.ModelTokenizer;
import org.distillery.quant.ActivationQuantizer;
import org.distillery.quant.Awq;
import org.distillery.quant.BlockQuantizer;
import org.distillery.quant.Gptq;
import org.distillery.quant.LayerReport;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.NormTweak;
import org.distillery.quant.Qat;
import org.distillery.quant.QuantizationMethod;
import org.distillery.quant.QuantizationReport;
import org.distillery.quant.QuantizedTensor;
import org.distillery.quant.Quantizer;
import org.distillery.quant.SelfGeneratedCalibration;
import org.distillery.quant.SmoothQuant;
import org.distillery.quant.packed.PackedFormat;
import org.distillery.quant.packed.PackedLayers;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.quant.packed.PackedWeights;
import org.distillery.quant.packed.QuantizedCodes;
import org.distillery.quant.packed.QuantizedLinear;
import org.distillery.report.Provenance;
import org.distillery.tokenize.Tokenizer;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab quantize --model DIR --method M --bits B [--group G] [--sym|--no-sym] [--act-order] [--clip]
 * [--calib FILE | --calib-brown N | --self-generated N] [--seed S] [--alpha A] [--act per-token|per-tensor]
 * [--act-bits A] [--nt-lr LR] [--nt-epochs E] [--qat-steps N] --out DIR}: quantizes every linear layer of a GPT
 * model directory and writes a new model directory (under a temporary name, renamed when complete; removed on
 * any error):
 * <ul>
 *   <li>{@code config.json} + {@code model.safetensors}: the dequantized weights (and the LayerNorms as the method
 *   left them: smoothed, tweaked), exactly the values the quantized model computes with (so {@code Gpt.load} and
 *   {@code ./lab eval} work on it), and the source's tokenizer files;</li>
 *   <li>{@code quantized.safetensors}: the packed weights ({@code quant.packed} layout) when every layer can be
 *   packed exactly: 8 or 4 bits, contiguous groups (act-order with groups cannot: its groups follow the
 *   permuted order), an even group for 4 bits. Scales are always rounded to fp16 ({@link
 *   Quantizer#fp16Scales()}), the packed files' type, so that the packed values equal the dequantized ones
 *   bit for bit;</li>
 *   <li>{@code quantization.json}: options, calibration, per-layer errors, sizes, provenance, and
 *   {@code activation_quantization} (null, or for SmoothQuant's W8A8 the activation quantizer: bits, per-token or
 *   per-tensor with its calibrated ranges), which {@code ./lab eval} applies ({@link #activationQuantizer}).</li>
 * </ul>
 * Methods: {@code rtn} (optionally followed by {@code --qat-steps} of quantization-aware training on the Brown
 * training split, {@link Qat}), {@code gptq}, {@code smoothquant} (smoothing at alpha, weights by RTN, symmetric by
 * default, activations fake-quantized), {@code awq}, and {@code normtweak+rtn|+gptq|+smoothquant|+awq} (Norm
 * Tweaking on top of that block quantizer; {@code normtweak} alone is {@code normtweak+gptq}, the paper's main
 * setting).
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantizes every linear layer of a GPT model directory (RTN [+ QAT], GPTQ, SmoothQuant W8A8, AWQ, "
                + "or Norm Tweaking on top of one of them) and writes a new model directory: model.safetensors with "
                + "the dequantized weights (./lab eval works on it), the tokenizer files, quantized.safetensors with "
                + "the packed int8/int4 weights when the layout packs exactly (8 or 4 bits, no act-order with groups), "
                + "and quantization.json (with SmoothQuant's activation quantization, which ./lab eval applies). "
                + "Scales are rounded to fp16. DIR must not exist."})
final class QuantizeCommand implements Callable<Integer> {
    /** The methods this command runs ({@code normtweak} alone means {@code normtweak+gptq}). */
    static final List<String> METHODS = QuantizationMethod.IDS;
    /** The file of the packed weights in the output directory. */
    static final String PACKED_FILE = "quantized.safetensors";
    /** The report file in the output directory. */
    static final String REPORT_FILE = QuantizationReport.FILE;
    /** The key of the activation quantization in {@link #REPORT_FILE} (null: weights only). */
    static final String ACTIVATION_KEY = QuantizationReport.ACTIVATION_KEY;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "GPT model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "M", description = "rtn, gptq, smoothquant, awq, normtweak "
            + "(= normtweak+gptq), normtweak+rtn, normtweak+gptq, normtweak+smoothquant or normtweak+awq")
    String method;

    @Option(names = "--bits", required = true, paramLabel = "B", description = "bits of the weights' integer grid, 2 to 8")
    int bits;

    @Option(names = "--group", paramLabel = "G", description = "group size along the input dimension (default: one group per output channel)")
    Integer group;

    @Option(names = "--sym", negatable = true, description = "symmetric weight codes (zero point 0); default: symmetric for"
            + " smoothquant, asymmetric with a zero point per group otherwise")
    Boolean sym;

    @Option(names = "--act-order", description = "gptq, normtweak+gptq: process columns by descending Hessian diagonal")
    boolean actOrder;

    @Option(names = "--keep-zeros", description = "gptq, normtweak+gptq: weights that are exactly 0 (a pruned model) stay 0"
            + " (RTN, AWQ and SmoothQuant keep them anyway: every range holds 0)")
    boolean keepZeros;

    @Option(names = "--true-sequential", description = "gptq, normtweak+gptq: quantize the four linear layers of a block one after the other")
    boolean trueSequential;

    @Option(names = "--damp", defaultValue = "0.01", paramLabel = "P", description = "gptq, normtweak+gptq: dampening, fraction of mean(diag H) (default: ${DEFAULT-VALUE})")
    double damp;

    @Option(names = "--clip", description = "MSE-optimal clipping search for the ranges")
    boolean clip;

    @Option(names = "--calib", paramLabel = "FILE", description = "calibration text, tokenized with the model's tokenizer, cut into consecutive windows of the context")
    Path calib;

    @Option(names = "--calib-brown", paramLabel = "N", description = "N random windows of the context from the Brown training split (the default, N = 128)")
    Integer calibBrown;

    @Option(names = "--self-generated", paramLabel = "N", description = "N windows of the context generated by the float model itself (a random start token, 3 greedy tokens, then sampling at temperature 1; seed S)")
    Integer selfGenerated;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "seed of the --calib-brown window offsets, the --self-generated text and the --qat-steps batches (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--alpha", paramLabel = "A", description = "smoothquant: migration strength in [0, 1] (default 0.5); awq: a fixed alpha in [0, 1] instead of the grid search")
    Double alpha;

    @Option(names = "--act", paramLabel = "G", description = "smoothquant: activation quantization per-token (dynamic, the default) or per-tensor (static, max|X| over the calibration set)")
    String act;

    @Option(names = "--act-bits", paramLabel = "A", description = "smoothquant: activation bits, 2 to 8 (default 8)")
    Integer actBits;

    @Option(names = "--nt-lr", paramLabel = "LR", description = "normtweak: learning rate of block 0 (default 1e-2)")
    Double ntLr;

    @Option(names = "--nt-lr-scale", paramLabel = "S", description = "normtweak: lr_l = lr (1 + S l / L) (default 1.0)")
    Double ntLrScale;

    @Option(names = "--nt-epochs", paramLabel = "E", description = "normtweak: passes over the calibration windows per block (default 1)")
    Integer ntEpochs;

    @Option(names = "--qat-steps", paramLabel = "N", description = "rtn: then N steps of quantization-aware training on the Brown training split (batch --batch, the model's context, AdamW)")
    Integer qatSteps;

    @Option(names = "--qat-lr", paramLabel = "LR", description = "rtn --qat-steps: peak learning rate, cosine to a tenth (default 1e-3)")
    Double qatLr;

    @Option(names = "--eval", paramLabel = "N", description = "also report validation perplexity before/after on the first N Brown validation tokens")
    Integer eval;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "windows per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--out", paramLabel = "DIR", description = "also write the model directory here (default: only the run folder's model/)")
    Path out;

    @picocli.CommandLine.Mixin
    RunOptions runs = new RunOptions();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The calibration windows and where they came from. */
    record Calibration(String source, List<int[]> windows, Long seed) {
        /** SHA-256 of the windows' token ids, in order, each as a little-endian int32. */
        String sha256() {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (int[] w : windows) {
                    ByteBuffer b = ByteBuffer.allocate(4 * w.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (int id : w) b.putInt(id);
                    md.update(b.array());
                }
                return HexFormat.of().formatHex(md.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        return runs.record(spec, out, true, (target, resuming) -> {
            out = target;
            quantize();
            return null;
        });
    }

    /** The work: checks the arguments, quantizes, writes {@link #out}. */
    private int quantize() throws IOException {
        // ---- arguments that need no files
        QuantizationMethod plan = QuantizationMethod.parse(method, "--method");
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("--bits " + bits + " is out of range: accepted 2 to 8");
        }
        if (group != null && group < 1) {
            throw new IllegalArgumentException("--group " + group + " is not accepted: use a group size >= 1 that divides"
                    + " every layer's input width (or leave it out: one group per output channel)");
        }
        if (batch < 1) throw new IllegalArgumentException("--batch " + batch + " is not accepted: use 1 or more");
        if (eval != null && eval < 2) {
            throw new IllegalArgumentException("--eval " + eval + " is not accepted: use 2 or more validation tokens");
        }
        if (!plan.gptq()) {
            if (actOrder) throw new IllegalArgumentException("--act-order: only for --method gptq or normtweak+gptq (" + plan.id() + " has no column order)");
            if (trueSequential) throw new IllegalArgumentException("--true-sequential: only for --method gptq or normtweak+gptq");
            if (keepZeros) {
                throw new IllegalArgumentException("--keep-zeros: only for --method gptq or normtweak+gptq (" + plan.id()
                        + " keeps exact zeros anyway)");
            }
        }
        if (!plan.calibrated() && (calib != null || calibBrown != null || selfGenerated != null)) {
            throw new IllegalArgumentException("--calib/--calib-brown/--self-generated: rtn uses no calibration data; use"
                    + " --method gptq, smoothquant, awq or normtweak");
        }
        if (calib != null && calibBrown != null) {
            throw new IllegalArgumentException("--calib " + calib + " and --calib-brown " + calibBrown + ": choose one");
        }
        if (selfGenerated != null && (calib != null || calibBrown != null)) {
            throw new IllegalArgumentException("--self-generated " + selfGenerated + " and " + (calib != null ? "--calib " + calib
                    : "--calib-brown " + calibBrown) + ": choose one calibration source");
        }
        if (calibBrown != null && calibBrown < 1) {
            throw new IllegalArgumentException("--calib-brown " + calibBrown + ": the calibration set is empty; use 1 or more windows");
        }
        if (selfGenerated != null && selfGenerated < 1) {
            throw new IllegalArgumentException("--self-generated " + selfGenerated + " is not accepted: use 1 or more windows");
        }
        if (!(damp >= 0) || Double.isInfinite(damp)) {
            throw new IllegalArgumentException("--damp " + damp + " is not accepted: use a finite number >= 0 (default 0.01)");
        }
        if (alpha != null) {
            if (!plan.smooth() && !plan.awq()) {
                throw new IllegalArgumentException("--alpha: only for --method smoothquant, awq, normtweak+smoothquant or normtweak+awq");
            }
            if (!(alpha >= 0 && alpha <= 1)) {
                throw new IllegalArgumentException("--alpha " + alpha + " is out of range: accepted 0 to 1");
            }
        }
        if (!plan.smooth() && (act != null || actBits != null)) {
            throw new IllegalArgumentException("--act/--act-bits: only for --method smoothquant or normtweak+smoothquant"
                    + " (the others quantize weights only)");
        }
        ActivationQuantizer.Granularity actGranularity = ActivationQuantizer.Granularity.PER_TOKEN;
        if (act != null) {
            try {
                actGranularity = ActivationQuantizer.Granularity.ofLabel(act.toLowerCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--act " + act + " is not accepted: use per-token or per-tensor", e);
            }
        }
        int aBits = actBits == null ? 8 : actBits;
        if (aBits < 2 || aBits > 8) throw new IllegalArgumentException("--act-bits " + aBits + " is out of range: accepted 2 to 8");
        if (!plan.normTweak() && (ntLr != null || ntLrScale != null || ntEpochs != null)) {
            throw new IllegalArgumentException("--nt-lr/--nt-lr-scale/--nt-epochs: only for --method normtweak[+rtn|+gptq|+smoothquant|+awq]");
        }
        double lr0 = ntLr == null ? 1e-2 : ntLr, lrScale = ntLrScale == null ? 1.0 : ntLrScale;
        int epochs = ntEpochs == null ? 1 : ntEpochs;
        if (!(lr0 >= 0) || Double.isInfinite(lr0)) throw new IllegalArgumentException("--nt-lr " + lr0 + " is not accepted: use a finite number >= 0");
        if (!(lrScale >= 0) || Double.isInfinite(lrScale)) {
            throw new IllegalArgumentException("--nt-lr-scale " + lrScale + " is not accepted: use a finite number >= 0");
        }
        if (epochs < 0) throw new IllegalArgumentException("--nt-epochs " + epochs + " is not accepted: use 0 or more");
        if ((qatSteps != null || qatLr != null) && !plan.id().equals("rtn")) {
            throw new IllegalArgumentException("--qat-steps/--qat-lr: only for --method rtn (QAT fine-tunes on RTN's grid)");
        }
        if (qatSteps != null && qatSteps < 1) {
            throw new IllegalArgumentException("--qat-steps " + qatSteps + " is not accepted: use 1 or more steps");
        }
        double qatPeak = qatLr == null ? 1e-3 : qatLr;
        if (!(qatPeak > 0) || Double.isInfinite(qatPeak)) {
            throw new IllegalArgumentException("--qat-lr " + qatPeak + " is not accepted: use a finite number > 0");
        }
        boolean symmetric = sym != null ? sym : plan.smooth();
        // ---- files
        Gpt2Config cfg = ModelOutput.gptConfig(model);
        Path parent = ModelOutput.newOutParent(out);
        ModelOutput.checkCalibFile(calib);
        int context = cfg.nPositions();
        Gpt gpt = Gpt.load(model, batch, context);
        checkFinite(gpt, model);
        List<String> names = LinearLayers.names(gpt);
        if (group != null) {
            for (String n : names) {
                int width = gpt.parameters().get(n).dim(1);
                if (width % group != 0) {
                    throw new IllegalArgumentException("--group " + group + " does not divide the input width " + width
                            + " of layer " + n + "; use a divisor of every layer's input width");
                }
            }
        }
        Quantizer quantizer = quantizer(bits, symmetric, group, clip);
        Tokenizer tokenizer = ((plan.calibrated() && selfGenerated == null) || eval != null || qatSteps != null)
                ? ModelTokenizer.of(model, cfg.vocabSize()) : null;
        Calibration cal = plan.calibrated() ? calibration(tokenizer, context, gpt) : null;
        int[] validation = ModelOutput.validation(tokenizer, eval);
        Perplexity.Result before = validation == null ? null
                : Perplexity.evaluate(gpt, validation, Math.min(context, validation.length), batch);
        long floatBytes = Files.size(model.resolve("model.safetensors"));

        // ---- quantize (the model's weights become the dequantized values)
        Map<String, QuantizedTensor> tensors = new LinkedHashMap<>();
        Map<String, Object> details = new LinkedHashMap<>();              // the method's own section of the report
        List<LayerReport> layers;
        Gptq.Options gptqOptions = Gptq.Options.defaults(quantizer).withActOrder(actOrder).withPercDamp(damp)
                .withKeepZeros(keepZeros);
        SmoothQuant.Options sqOptions = new SmoothQuant.Options(alpha == null ? 0.5 : alpha, true, quantizer, actGranularity,
                aBits, batch);
        double awqAlpha = alpha == null ? Double.NaN : alpha;
        NormTweak.Options nt = NormTweak.Options.of(lr0, lrScale, epochs, batch);
        QuantizationMethod.Settings settings = new QuantizationMethod.Settings(quantizer, gptqOptions, trueSequential, sqOptions,
                awqAlpha, nt, batch);
        try {
            if (qatSteps != null) {
                layers = qat(gpt, tokenizer, context, quantizer, qatPeak, tensors, details);
            } else {
                QuantizationMethod.Result r = plan.apply(gpt, cal == null ? null : cal.windows(), settings);
                tensors.putAll(r.tensors());
                layers = r.layers();
                if (plan.smooth()) details.put("smoothquant", smoothReport(sqOptions.alpha(), r.smoothing()));
                if (plan.awq()) details.put("awq", awqReport(awqAlpha, r.awqScales()));
                if (plan.normTweak()) details.put("norm_tweak", normTweakReport(nt, r.normTweak()));
            }
        } catch (IllegalStateException e) {      // GPTQ: Hessian not positive definite after dampening
            if (!plan.gptq()) throw e;
            throw new IllegalArgumentException(e.getMessage() + " (--damp " + damp + ", "
                    + cal.windows().size() + " calibration windows of " + context + " tokens)", e);
        }
        ActivationQuantizer activations = gpt.linearInputHook() instanceof ActivationQuantizer a ? a : null;
        Perplexity.Result after = eval == null ? null
                : Perplexity.evaluate(gpt, validation, Math.min(context, validation.length), batch);
        String notPacked = PackedLayers.packReason(tensors);

        // ---- write under a temporary name, rename when complete
        Path tmp = ModelOutput.partial(parent, out);
        try {
            gpt.save(tmp);
            ModelOutput.copyTokenizer(model, tmp);
            Long packedBytes = null;
            long linearElements = 0, linearStorage = 0;
            for (QuantizedTensor q : tensors.values()) linearElements += (long) q.rows() * q.cols();
            if (notPacked == null) {
                Map<String, QuantizedLinear> packed = PackedLayers.pack(tensors, gpt);
                PackedSafetensors.save(tmp.resolve(PACKED_FILE), packed);
                packedBytes = Files.size(tmp.resolve(PACKED_FILE));
                for (QuantizedLinear l : packed.values()) linearStorage += l.weight().storageBytes();
            }
            double bitsPerWeight = notPacked == null ? 8.0 * linearStorage / linearElements : PackedLayers.nominalBitsPerWeight(tensors);
            long otherParams = gpt.parameterCount() - linearElements;
            for (String n : names) {                    // biases are in the packed file
                FloatTensor b = gpt.parameters().get(n.substring(0, n.length() - ".weight".length()) + ".bias");
                if (b != null) otherParams -= b.size();
            }
            Map<String, Object> report = report(plan, quantizer, cal, layers, floatBytes, packedBytes, notPacked, bitsPerWeight,
                    before, after, validation, gpt, linearElements, details, activations);
            Files.writeString(tmp.resolve(REPORT_FILE),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            Files.move(tmp, out);
            String what = plan.id().toUpperCase(Locale.ROOT) + " " + quantizer.name() + (actOrder ? " act-order" : "")
                    + (activations != null ? " + " + activations.name() : "")
                    + (qatSteps != null ? " + " + qatSteps + " QAT steps" : "");
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "quantized %s: %d linear layers, %s, %.3f bits/weight%s; float32 %,d bytes, ",
                    out, layers.size(), what, bitsPerWeight, notPacked == null ? "" : " (nominal)", floatBytes));
            if (packedBytes != null) {
                line.append(String.format(Locale.ROOT, "packed %,d bytes (+ %,d bytes of float32 embeddings/norms)",
                        packedBytes, 4L * otherParams));
            } else {
                line.append("no packed file: ").append(notPacked);
            }
            if (before != null) {
                line.append(String.format(Locale.ROOT, "; validation perplexity %.4f -> %.4f over %,d tokens",
                        before.perplexity(), after.perplexity(), after.tokensPredicted()));
            }
            System.out.println(line);
            return 0;
        } catch (IOException | RuntimeException | Error e) {
            FileTrees.delete(tmp);
            throw e;
        }
    }

    /** RTN's grid, then {@code --qat-steps} of QAT (refitted ranges) on the Brown training split. */
    private List<LayerReport> qat(Gpt gpt, Tokenizer tokenizer, int context, Quantizer quantizer, double lr,
                                  Map<String, QuantizedTensor> tensors, Map<String, Object> details) {
        int[] train = tokenizer.encode(BrownCorpus.load().text(BrownCorpus.Split.TRAIN));
        if (train.length < context + 1) {
            throw new IllegalArgumentException("--qat-steps " + qatSteps + ": the Brown training split has " + train.length
                    + " tokens, fewer than one window of the context + 1 (" + (context + 1) + ")");
        }
        TrainConfig tc = TrainConfig.defaults(gpt.config()).withBatch(batch, context).withSteps(qatSteps, 0)
                .withLr(lr, lr / 10).withEval(0, 1).withSeed(seed).withCheckpoints(0, 1);
        Qat qat = new Qat(new CausalLmObjective(tc, train, null, gpt), quantizer, Qat.Ranges.REFIT);
        List<Trainer.StepRecord> steps = new Trainer(tc.loop(), qat).showProgress(false).run();
        tensors.putAll(qat.finish());
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("steps", qatSteps);
        q.put("ranges", "refit every forward (min-max)");
        q.put("lr_max", lr);
        q.put("lr_min", lr / 10);
        q.put("batch", batch);
        q.put("seq_len", context);
        q.put("seed", seed);
        q.put("data", "brown train");
        q.put("weight_decay", tc.weightDecay());
        q.put("grad_clip", tc.gradClip());
        q.put("train_loss_first", steps.get(0).loss());
        q.put("train_loss_last", steps.get(steps.size() - 1).loss());
        details.put("qat", q);
        return qat.layers();
    }

    private static Map<String, Object> smoothReport(double alpha, List<SmoothQuant.LayerSmoothing> rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alpha", alpha);
        List<Map<String, Object>> layers = new ArrayList<>();
        for (SmoothQuant.LayerSmoothing s : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", s.name());
            row.put("outlier_ratio_before", s.outlierBefore());
            row.put("outlier_ratio_after", s.outlierAfter());
            layers.add(row);
        }
        m.put("smoothed_layers", layers);
        return m;
    }

    private static Map<String, Object> awqReport(double alpha, List<Awq.LayerScale> scales) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alpha", Double.isNaN(alpha) ? "grid search, 20 points" : alpha);
        List<Map<String, Object>> layers = new ArrayList<>();
        for (Awq.LayerScale s : scales) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", s.name());
            row.put("alpha", s.alpha());
            row.put("relative_output_mse_rtn", s.mseRtn() / s.meanSquare());
            row.put("relative_output_mse_awq", s.mseAwq() / s.meanSquare());
            layers.add(row);
        }
        m.put("scaled_layers", layers);
        return m;
    }

    private static Map<String, Object> normTweakReport(NormTweak.Options o, NormTweak.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", o.lr());
        m.put("lr_scale", o.lrScale());
        m.put("epochs", o.epochs());
        m.put("batch", o.batchSize());
        m.put("loss", o.loss().name().toLowerCase(Locale.ROOT));
        List<Map<String, Object>> blocks = new ArrayList<>();
        for (NormTweak.BlockReport b : r.blocks()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("block", b.block());
            row.put("lr", b.lr());
            row.put("steps", b.steps());
            row.put("dist_before", b.distBefore());
            row.put("dist_after", b.distAfter());
            blocks.add(row);
        }
        m.put("blocks", blocks);
        return m;
    }

    /** The spec the command quantizes with: per-channel or group-wise, fp16 scales, optional clipping search. */
    static Quantizer quantizer(int bits, boolean symmetric, Integer group, boolean clip) {
        Quantizer q = group == null ? Quantizer.perChannel(bits, symmetric) : Quantizer.grouped(bits, symmetric, group);
        return q.withClipSearch(clip).withFp16Scales(true);
    }

    /** Rejects a model with a NaN or infinite parameter, naming the tensor and the element. */
    static void checkFinite(Gpt gpt, Path dir) {
        checkFinite(gpt, dir, "quantize");
    }

    /** As {@link #checkFinite(Gpt, Path)}, for the command that cannot handle them ({@code verb}: quantize, prune). */
    static void checkFinite(Gpt gpt, Path dir, String verb) {
        for (Map.Entry<String, FloatTensor> e : gpt.parameters().entrySet()) {
            float[] v = e.getValue().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    throw new IllegalArgumentException("--model " + dir + ": tensor " + e.getKey() + " has a non-finite weight " + v[i]
                            + " at flat index " + i + ": cannot " + verb + " NaN/Inf weights");
                }
            }
        }
    }

    private Calibration calibration(Tokenizer tokenizer, int context, Gpt gpt) throws IOException {
        if (selfGenerated != null) {
            if (context < 2) {
                throw new IllegalArgumentException("--self-generated " + selfGenerated + ": the model's context of " + context
                        + " token is too short for generated windows (a start token and a continuation)");
            }
            SelfGeneratedCalibration g = SelfGeneratedCalibration.of(selfGenerated, context, seed);
            return new Calibration("self-generated by the float model (" + g.greedyTokens() + " greedy tokens after a random"
                    + " start token, then sampling at temperature " + g.temperature() + ", all tokens)", g.generate(gpt), seed);
        }
        return calibration(calib, calibBrown, seed, tokenizer, context);
    }

    /**
     * The calibration windows of {@code --calib FILE} (consecutive windows of the context) or {@code --calib-brown N}
     * (N random windows of the Brown training split, default 128, seed {@code seed}); shared with {@code prune}.
     */
    static Calibration calibration(Path calib, Integer calibBrown, long seed, Tokenizer tokenizer, int context)
            throws IOException {
        if (calib != null) {
            String text;
            try {
                text = Files.readString(calib, StandardCharsets.UTF_8);
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new IllegalArgumentException("--calib " + calib + ": not UTF-8 text", e);
            }
            int[] ids = tokenizer.encode(text);
            if (ids.length == 0) {
                throw new IllegalArgumentException("--calib " + calib + ": the calibration set is empty (no tokens)");
            }
            if (ids.length < context) {
                throw new IllegalArgumentException("--calib " + calib + ": the calibration text has " + ids.length
                        + " tokens, shorter than the model's context of " + context + " tokens; use more text");
            }
            List<int[]> windows = new ArrayList<>();
            for (int s = 0; s + context <= ids.length; s += context) windows.add(Arrays.copyOfRange(ids, s, s + context));
            return new Calibration("file " + calib.toAbsolutePath(), windows, null);
        }
        int n = calibBrown == null ? 128 : calibBrown;
        int[] ids = tokenizer.encode(BrownCorpus.load().text(BrownCorpus.Split.TRAIN));
        if (ids.length < context) {
            throw new IllegalArgumentException("--calib-brown " + n + ": the Brown training split has " + ids.length
                    + " tokens, shorter than the model's context of " + context);
        }
        return new Calibration("brown train", Gptq.calibrationWindows(ids, n, context, seed), seed);
    }

    private Map<String, Object> report(QuantizationMethod plan, Quantizer quantizer, Calibration cal, List<LayerReport> layers, long floatBytes,
                                       Long packedBytes, String notPacked, double bitsPerWeight, Perplexity.Result before,
                                       Perplexity.Result after, int[] validation, Gpt gpt, long linearElements,
                                       Map<String, Object> details, ActivationQuantizer activations) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("method", plan.id());
        r.put("bits", bits);
        r.put("group", group);
        r.put("granularity", group == null ? "per-channel" : "group");
        r.put("sym", quantizer.symmetric());
        r.put("act_order", actOrder);
        r.put("keep_zeros", keepZeros);
        r.put("clip", clip);
        r.put("scales", "fp16");
        r.put("quantizer", quantizer.name());
        if (plan.gptq()) {
            r.put("true_sequential", trueSequential);
            r.put("damp", damp);
            r.put("block_size", 128);
        }
        r.putAll(details);
        r.put(ACTIVATION_KEY, activations == null ? null : QuantizationReport.activationSection(activations, gpt.config().nLayer()));
        r.put("model", model.toAbsolutePath().toString());
        if (cal != null) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("source", cal.source());
            c.put("windows", cal.windows().size());
            c.put("window_tokens", cal.windows().get(0).length);
            c.put("seed", cal.seed());
            c.put("token_ids_sha256", cal.sha256());
            r.put("calibration", c);
        } else {
            r.put("calibration", null);
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (LayerReport l : layers) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", l.name());
            row.put("shape", List.of(l.rows(), l.cols()));
            row.put("weight_mse", l.weightMse());
            row.put("max_abs_error", l.maxAbsError());
            row.put("relative_output_error", Double.isNaN(l.outputError()) ? null : l.outputError());
            row.put("seconds", l.seconds());
            rows.add(row);
        }
        r.put("layers", rows);
        Map<String, Object> sizes = new LinkedHashMap<>();
        sizes.put("float32_model_bytes", floatBytes);
        sizes.put("float32_linear_bytes", 4 * linearElements);
        sizes.put("packed_file", packedBytes == null ? null : PACKED_FILE);
        sizes.put("packed_file_bytes", packedBytes);
        sizes.put("not_packed_because", notPacked);
        sizes.put("bits_per_weight", bitsPerWeight);
        sizes.put("bits_per_weight_basis", notPacked == null ? "packed storage of the linear weights (codes, fp16 scales,"
                + " uint8 zeros)" : "nominal: b-bit codes, fp16 scale and b-bit zero per group");
        sizes.put("parameters", gpt.parameterCount());
        sizes.put("quantized_weights", linearElements);
        r.put("sizes", sizes);
        if (before != null) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("split", "brown validation");
            e.put("tokens", validation.length);
            e.put("tokens_predicted", after.tokensPredicted());
            e.put("perplexity_before", before.perplexity());
            e.put("perplexity_after", after.perplexity());
            r.put("validation", e);
        }
        r.put("provenance", Provenance.capture(ProjectPaths.root()).asMap());
        return r;
    }
}
