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
import org.distillery.io.HfConfig;
import org.distillery.model.Gpt;
import org.distillery.model.ModelTokenizer;
import org.distillery.quant.Gptq;
import org.distillery.quant.LayerReport;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.QuantizedTensor;
import org.distillery.quant.Quantizer;
import org.distillery.quant.Rtn;
import org.distillery.quant.packed.PackedFormat;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.quant.packed.PackedWeights;
import org.distillery.quant.packed.QuantizedCodes;
import org.distillery.quant.packed.QuantizedLinear;
import org.distillery.report.Provenance;
import org.distillery.tokenize.Tokenizer;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab quantize --model DIR --method rtn|gptq --bits B [--group G] [--sym] [--act-order] [--clip]
 * [--calib FILE | --calib-brown N] [--seed S] --out DIR}: quantizes every linear layer of a GPT model
 * directory and writes a new model directory (under a temporary name, renamed when complete; removed on
 * any error):
 * <ul>
 *   <li>{@code config.json} + {@code model.safetensors}: the dequantized weights, exactly the values the
 *   quantized model computes with (so {@code Gpt.load} and {@code ./lab eval} work on it), and the source's
 *   tokenizer files;</li>
 *   <li>{@code quantized.safetensors}: the packed weights ({@code quant.packed} layout) when every layer can be
 *   packed exactly: 8 or 4 bits, contiguous groups (act-order with groups cannot: its groups follow the
 *   permuted order), an even group for 4 bits. Scales are always rounded to fp16 ({@link
 *   Quantizer#fp16Scales()}), the packed files' type, so that the packed values equal the dequantized ones
 *   bit for bit;</li>
 *   <li>{@code quantization.json}: options, calibration, per-layer errors, sizes, provenance.</li>
 * </ul>
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantizes every linear layer of a GPT model directory (RTN, or GPTQ on calibration windows) "
                + "and writes a new model directory: model.safetensors with the dequantized weights (./lab eval "
                + "works on it), the tokenizer files, quantized.safetensors with the packed int8/int4 weights when "
                + "the layout packs exactly (8 or 4 bits, no act-order with groups), and quantization.json. "
                + "Scales are rounded to fp16. DIR must not exist."})
final class QuantizeCommand implements Callable<Integer> {
    /** The methods this command runs (others of issue 5 come later). */
    static final List<String> METHODS = List.of("rtn", "gptq");
    /** The tokenizer files copied from the source directory when present. */
    static final List<String> TOKENIZER_FILES = List.of("vocab.json", "merges.txt", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json");
    /** The file of the packed weights in the output directory. */
    static final String PACKED_FILE = "quantized.safetensors";
    /** The report file in the output directory. */
    static final String REPORT_FILE = "quantization.json";

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "GPT model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "M", description = "rtn or gptq")
    String method;

    @Option(names = "--bits", required = true, paramLabel = "B", description = "bits of the integer grid, 2 to 8")
    int bits;

    @Option(names = "--group", paramLabel = "G", description = "group size along the input dimension (default: one group per output channel)")
    Integer group;

    @Option(names = "--sym", description = "symmetric codes (zero point 0); default asymmetric with a zero point per group")
    boolean sym;

    @Option(names = "--act-order", description = "gptq: process columns by descending Hessian diagonal")
    boolean actOrder;

    @Option(names = "--true-sequential", description = "gptq: quantize the four linear layers of a block one after the other")
    boolean trueSequential;

    @Option(names = "--damp", defaultValue = "0.01", paramLabel = "P", description = "gptq: dampening, fraction of mean(diag H) (default: ${DEFAULT-VALUE})")
    double damp;

    @Option(names = "--clip", description = "MSE-optimal clipping search for the ranges")
    boolean clip;

    @Option(names = "--calib", paramLabel = "FILE", description = "gptq: calibration text, tokenized with the model's tokenizer, cut into consecutive windows of the context")
    Path calib;

    @Option(names = "--calib-brown", paramLabel = "N", description = "gptq: N random windows of the context from the Brown training split (default 128 when no --calib)")
    Integer calibBrown;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "seed of the --calib-brown window offsets (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--eval", paramLabel = "N", description = "also report validation perplexity before/after on the first N Brown validation tokens")
    Integer eval;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "windows per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "model directory to create")
    Path out;

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
    public Integer call() throws IOException {
        // ---- arguments that need no files
        String m = method.toLowerCase(Locale.ROOT);
        if (!METHODS.contains(m)) {
            throw new IllegalArgumentException("--method " + method + " is not accepted: use " + String.join(" or ", METHODS)
                    + " (smoothquant, awq and normtweak are not implemented yet)");
        }
        boolean gptq = m.equals("gptq");
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
        if (!gptq) {
            if (actOrder) throw new IllegalArgumentException("--act-order: only for --method gptq (rtn has no column order)");
            if (trueSequential) throw new IllegalArgumentException("--true-sequential: only for --method gptq");
            if (calib != null || calibBrown != null) {
                throw new IllegalArgumentException("--calib/--calib-brown: rtn uses no calibration data; use --method gptq");
            }
        }
        if (calib != null && calibBrown != null) {
            throw new IllegalArgumentException("--calib " + calib + " and --calib-brown " + calibBrown + ": choose one");
        }
        if (calibBrown != null && calibBrown < 1) {
            throw new IllegalArgumentException("--calib-brown " + calibBrown + ": the calibration set is empty; use 1 or more windows");
        }
        if (!(damp >= 0) || Double.isInfinite(damp)) {
            throw new IllegalArgumentException("--damp " + damp + " is not accepted: use a finite number >= 0 (default 0.01)");
        }
        // ---- files
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + ": no config.json there");
        }
        if (!(HfConfig.read(model.resolve("config.json")) instanceof Gpt2Config cfg)) {
            throw new IllegalArgumentException("--model " + model + ": config.json is not a GPT-2 model (model_type gpt2)");
        }
        if (Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("--out " + out + " already exists: choose a new folder (outputs are never overwritten)");
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("--out " + out + ": the folder " + parent + " does not exist");
        }
        if (calib != null && !Files.isRegularFile(calib)) {
            throw new IllegalArgumentException("--calib " + calib + ": no such file");
        }
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
        Quantizer quantizer = quantizer(bits, sym, group, clip);
        Tokenizer tokenizer = (gptq || eval != null) ? ModelTokenizer.of(model, cfg.vocabSize()) : null;
        Calibration cal = gptq ? calibration(tokenizer, context) : null;
        int[] validation = null;
        Perplexity.Result before = null;
        if (eval != null) {
            int[] all = tokenizer.encode(BrownCorpus.load().text(BrownCorpus.Split.VALIDATION));
            validation = Arrays.copyOf(all, Math.min(eval, all.length));
            if (validation.length < 2) {
                throw new IllegalArgumentException("--eval " + eval + ": the validation split has only " + all.length + " tokens");
            }
            before = Perplexity.evaluate(gpt, validation, Math.min(context, validation.length), batch);
        }
        long floatBytes = Files.size(model.resolve("model.safetensors"));

        // ---- quantize (the model's weights become the dequantized values)
        Map<String, QuantizedTensor> tensors = new LinkedHashMap<>();
        List<LayerReport> layers;
        if (gptq) {
            Gptq.Options options = Gptq.Options.defaults(quantizer).withActOrder(actOrder).withPercDamp(damp);
            try {
                layers = Gptq.quantize(gpt, cal.windows(), options, trueSequential, tensors);
            } catch (IllegalStateException e) {      // Hessian not positive definite after dampening
                throw new IllegalArgumentException(e.getMessage() + " (--damp " + damp + ", "
                        + cal.windows().size() + " calibration windows of " + context + " tokens)", e);
            }
        } else {
            Rtn.Result r = Rtn.quantizeCopy(gpt, quantizer);
            for (Map.Entry<String, QuantizedTensor> e : r.tensors().entrySet()) {
                e.getValue().dequantizeInto(gpt.parameters().get(e.getKey()));
            }
            tensors.putAll(r.tensors());
            layers = r.layers();
        }
        Perplexity.Result after = eval == null ? null
                : Perplexity.evaluate(gpt, validation, Math.min(context, validation.length), batch);
        String notPacked = packReason(tensors);

        // ---- write under a temporary name, rename when complete
        Path tmp = Files.createTempDirectory(parent, "." + out.getFileName() + ".partial-");
        try {
            try {                                        // createTempDirectory makes it owner-only (rwx------)
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: keep the default
            }
            gpt.save(tmp);
            for (String f : TOKENIZER_FILES) {
                if (Files.isRegularFile(model.resolve(f))) Files.copy(model.resolve(f), tmp.resolve(f));
            }
            Long packedBytes = null;
            long linearElements = 0, linearStorage = 0;
            for (QuantizedTensor q : tensors.values()) linearElements += (long) q.rows() * q.cols();
            if (notPacked == null) {
                Map<String, QuantizedLinear> packed = pack(tensors, gpt);
                PackedSafetensors.save(tmp.resolve(PACKED_FILE), packed);
                packedBytes = Files.size(tmp.resolve(PACKED_FILE));
                for (QuantizedLinear l : packed.values()) linearStorage += l.weight().storageBytes();
            }
            double bitsPerWeight = notPacked == null ? 8.0 * linearStorage / linearElements : nominalBitsPerWeight(tensors);
            long otherParams = gpt.parameterCount() - linearElements;
            for (String n : names) {                    // biases are in the packed file
                FloatTensor b = gpt.parameters().get(n.substring(0, n.length() - ".weight".length()) + ".bias");
                if (b != null) otherParams -= b.size();
            }
            Map<String, Object> report = report(quantizer, cal, layers, floatBytes, packedBytes, notPacked, bitsPerWeight,
                    before, after, validation, gpt, linearElements);
            Files.writeString(tmp.resolve(REPORT_FILE),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            Files.move(tmp, out);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "quantized %s: %d linear layers, %s, %.3f bits/weight%s; float32 %,d bytes, ",
                    out, layers.size(), m.toUpperCase(Locale.ROOT) + " " + quantizer.name() + (actOrder ? " act-order" : ""),
                    bitsPerWeight, notPacked == null ? "" : " (nominal)", floatBytes));
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

    private Calibration calibration(Tokenizer tokenizer, int context) throws IOException {
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

    /** The packed format of a quantized tensor, or null when it has none. */
    static PackedFormat format(Quantizer q) {
        if (q.isFloat()) return null;
        return switch (q.bits()) {
            case 8 -> q.symmetric() ? PackedFormat.INT8 : PackedFormat.INT8_ASYM;
            case 4 -> q.symmetric() ? PackedFormat.INT4 : PackedFormat.INT4_ASYM;
            default -> null;
        };
    }

    /** Why the tensors cannot be packed exactly, or null when they can. */
    static String packReason(Map<String, QuantizedTensor> tensors) {
        for (Map.Entry<String, QuantizedTensor> e : tensors.entrySet()) {
            QuantizedTensor q = e.getValue();
            PackedFormat f = format(q.quantizer());
            if (f == null) {
                return q.quantizer().bits() + "-bit codes have no packed format (int8 and int4 only)";
            }
            if (q.columnGroup() != null) {
                return "act-order with groups orders each layer's groups by the permuted columns (g_idx), which the"
                        + " packed layout does not store";
            }
            if (f.bits() == 4 && q.groupWidth() % 2 != 0) {
                return e.getKey() + ": group " + q.groupWidth() + " is odd; int4 packs two codes a byte";
            }
            for (float s : q.scales()) {
                if (org.distillery.io.Dtype.halfToFloat(org.distillery.io.Dtype.floatToHalf(s)) != s) {
                    return e.getKey() + ": scale " + s + " is not an fp16 value";
                }
            }
        }
        return null;
    }

    /** The packed layers (weights and float32 biases) by layer name (the weight's name without ".weight"). */
    static Map<String, QuantizedLinear> pack(Map<String, QuantizedTensor> tensors, Gpt gpt) {
        Map<String, QuantizedLinear> out = new LinkedHashMap<>();
        for (Map.Entry<String, QuantizedTensor> e : tensors.entrySet()) {
            QuantizedTensor q = e.getValue();
            PackedFormat f = format(q.quantizer());
            PackedWeights w = PackedWeights.pack(new QuantizedCodes(f, q.rows(), q.cols(), q.groupWidth(), q.codes(),
                    q.scales(), f.symmetric() ? null : q.zeros()));
            float[] expected = q.dequantize();
            double[] got = w.dequantize();
            for (int i = 0; i < expected.length; i++) {
                if ((float) got[i] != expected[i]) {
                    throw new IllegalStateException(e.getKey() + ": packed value " + got[i] + " differs from the"
                            + " dequantized " + expected[i] + " at flat index " + i);
                }
            }
            String layer = e.getKey().substring(0, e.getKey().length() - ".weight".length());
            FloatTensor bias = gpt.parameters().get(layer + ".bias");
            out.put(layer, new QuantizedLinear(w, bias == null ? null : bias.toFloatArray()));
        }
        return out;
    }

    /** Bits per weight of a layout without a packed file: b-bit codes, an fp16 scale and (asymmetric) a b-bit zero per group. */
    static double nominalBitsPerWeight(Map<String, QuantizedTensor> tensors) {
        double bitsSum = 0;
        long n = 0;
        for (QuantizedTensor q : tensors.values()) {
            long elements = (long) q.rows() * q.cols();
            int b = q.quantizer().bits();
            bitsSum += (double) b * elements + (double) q.rows() * q.groups() * (16 + (q.quantizer().symmetric() ? 0 : b));
            n += elements;
        }
        return bitsSum / n;
    }

    private Map<String, Object> report(Quantizer quantizer, Calibration cal, List<LayerReport> layers, long floatBytes,
                                       Long packedBytes, String notPacked, double bitsPerWeight, Perplexity.Result before,
                                       Perplexity.Result after, int[] validation, Gpt gpt, long linearElements) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("method", method.toLowerCase(Locale.ROOT));
        r.put("bits", bits);
        r.put("group", group);
        r.put("granularity", group == null ? "per-channel" : "group");
        r.put("sym", sym);
        r.put("act_order", actOrder);
        r.put("clip", clip);
        r.put("scales", "fp16");
        r.put("quantizer", quantizer.name());
        if (method.equalsIgnoreCase("gptq")) {
            r.put("true_sequential", trueSequential);
            r.put("damp", damp);
            r.put("block_size", 128);
        }
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
