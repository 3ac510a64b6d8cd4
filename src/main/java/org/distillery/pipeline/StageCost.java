package org.distillery.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.model.ModelTokenizer;
import org.distillery.quant.packed.PackedGpt;
import org.distillery.record.Sweep;
import org.distillery.util.AtomicFiles;

/**
 * What one model of a pipeline costs and how good it is, measured the same way for every stage (the teacher too).
 *
 * <ul>
 *   <li><b>parameters</b>: the elements of every tensor in {@code model.safetensors} (plus {@code classifier.safetensors}
 *   for a fine-tuned classifier); <b>nonzero</b>: those whose value is not 0.</li>
 *   <li><b>bytes</b>: the weight files of the deployable representation ({@link #deployableFiles}): a quantized model's
 *   {@code quantized.safetensors} (packed codes, fp16 scales, biases) plus its float part (embeddings and LayerNorms,
 *   written as {@code float.safetensors}, float32); a pruned model's {@code sparse.safetensors} (bitmask + nonzero
 *   values); otherwise {@code model.safetensors}; plus {@code classifier.safetensors} when there is one. The config and
 *   tokenizer files (a few kB) are not counted.</li>
 *   <li><b>peak memory</b>: measured in a child JVM ({@link DecodeProbe}): the peak resident set (VmHWM) while loading
 *   the model and decoding, minus the same process's resident set just before loading (engine started, peak reset).</li>
 *   <li><b>tokens/s, latency</b>: batch-1 decode steps in that child ({@link PackedGpt} for a quantized model, the
 *   float {@link Gpt} otherwise; one thread, {@code OMP_NUM_THREADS=1}), median over the repeats; latency = 1000 /
 *   tokens/s in ms per token.</li>
 *   <li><b>perplexity</b>: {@link Perplexity#evaluate} of the float model ({@link Gpt#load}: for a quantized model the
 *   dequantized weights, equal to the packed ones) on the first N tokens of Brown's validation split, windows of the
 *   model's context, batch 8: what {@code ./lab eval} computes on those tokens.</li>
 *   <li><b>accuracy</b>: the genre task's test accuracy, its 95 % Wilson interval and the majority baseline from a
 *   {@code finetune.json} (the same {@code finetune --train norms} recipe for every stage).</li>
 * </ul>
 *
 * @param stage             the row's label (teacher, distilled, ...)
 * @param run               the run folder the model comes from (relative to the pipeline folder; the teacher: its path)
 * @param parameters        stored parameters
 * @param nonzeroParameters stored parameters that are not 0
 * @param bytes             bytes of {@link #files}
 * @param files             the counted files
 * @param decodeModel       {@code PackedGpt} or {@code Gpt}
 * @param peakMemoryBytes   peak RSS over load + decode minus the baseline
 * @param tokensPerSecond   median decode tokens/s (batch 1)
 * @param latencyMs         1000 / tokensPerSecond
 * @param perplexity        validation perplexity
 * @param perplexityTokens  the validation tokens it was computed on
 * @param accuracy          genre test accuracy (NaN when not measured)
 * @param accuracyLow       Wilson 95 % lower bound
 * @param accuracyHigh      Wilson 95 % upper bound
 * @param majorityBaseline  the majority class's test accuracy
 */
public record StageCost(String stage, String run, long parameters, long nonzeroParameters, long bytes, List<String> files,
                        String decodeModel, long peakMemoryBytes, double tokensPerSecond, double latencyMs, double perplexity,
                        int perplexityTokens, double accuracy, double accuracyLow, double accuracyHigh, double majorityBaseline) {
    /** The float part of a quantized model's deployable files. */
    public static final String FLOAT_PART = "float.safetensors";

    /**
     * Measures the model directory {@code model}.
     *
     * @param floatPart where a quantized model's float part is written (must not exist; ignored for other models)
     * @param finetune  the {@code finetune.json} with this model's task accuracy (null: not measured)
     */
    public static StageCost measure(String stage, String run, Path model, Path floatPart, PipelineConfig.Eval eval, Path finetune) {
        long[] counts = parameters(model);
        List<Path> files = deployableFiles(model, floatPart);
        long bytes = 0;
        List<String> names = new ArrayList<>();
        for (Path f : files) {
            bytes += size(f);
            names.add(f.toString());
        }
        double ppl;
        Gpt2Config cfg = (Gpt2Config) HfConfig.read(model.resolve("config.json"));
        int[] tokens = validationTokens(model, cfg, eval.tokens());
        Gpt gpt = Gpt.load(model, 8, cfg.nPositions());
        ppl = Perplexity.evaluate(gpt, tokens, cfg.nPositions(), 8).perplexity();
        boolean packed = Files.isRegularFile(model.resolve(PackedGpt.PACKED_FILE));
        JsonNode probe = probe(model, packed, eval.decodeTokens(), eval.repeats());
        double acc = Double.NaN, lo = Double.NaN, hi = Double.NaN, majority = Double.NaN;
        if (finetune != null) {
            JsonNode f = readJson(finetune);
            acc = f.get("test_accuracy").asDouble();
            lo = f.get("test_accuracy_wilson95").get(0).asDouble();
            hi = f.get("test_accuracy_wilson95").get(1).asDouble();
            majority = f.get("majority_baseline_accuracy").asDouble();
        }
        double tps = probe.get("tokens_per_s").asDouble();
        return new StageCost(stage, run, counts[0], counts[1], bytes, List.copyOf(names), probe.get("model").asText(),
                probe.get("peak_memory_bytes").asLong(), tps, 1000 / tps, ppl, tokens.length, acc, lo, hi, majority);
    }

    /** The first {@code n} tokens of Brown's validation split under the model's tokenizer. */
    public static int[] validationTokens(Path model, Gpt2Config cfg, int n) {
        int[] all = ModelTokenizer.of(model, cfg.vocabSize()).encode(BrownCorpus.load().text(BrownCorpus.Split.VALIDATION));
        return Arrays.copyOf(all, Math.min(n, all.length));
    }

    /** Stored parameters and nonzero ones of {@code model.safetensors} (+ {@code classifier.safetensors}). */
    public static long[] parameters(Path model) {
        long n = 0, nonzero = 0;
        for (String file : List.of("model.safetensors", "classifier.safetensors")) {
            Path f = model.resolve(file);
            if (!Files.isRegularFile(f)) continue;
            for (NamedTensor t : Safetensors.readAll(f).values()) {
                n += t.data().length;
                for (float v : t.data()) if (v != 0) nonzero++;
            }
        }
        return new long[] {n, nonzero};
    }

    /**
     * The weight files of {@code model}'s deployable representation (see the class comment); for a quantized model
     * its float part is written to {@code floatPart} first (atomically).
     */
    public static List<Path> deployableFiles(Path model, Path floatPart) {
        List<Path> files = new ArrayList<>();
        Path packed = model.resolve(PackedGpt.PACKED_FILE), sparse = model.resolve("sparse.safetensors");
        if (Files.isRegularFile(packed)) {
            files.add(packed);
            files.add(writeFloatPart(model, floatPart));
        } else if (Files.isRegularFile(sparse)) {
            files.add(sparse);
        } else {
            files.add(model.resolve("model.safetensors"));
        }
        Path head = model.resolve("classifier.safetensors");
        if (Files.isRegularFile(head)) files.add(head);
        return files;
    }

    /** The bytes of {@link #deployableFiles} (a quantized model's float part written to a temporary file and deleted). */
    public static long deployableBytes(Path model) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("distillery-float-part", ".safetensors");
            Files.delete(tmp);
            long b = 0;
            for (Path f : deployableFiles(model, tmp)) b += size(f);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot size " + model + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }

    /** The tensors of {@code model.safetensors} that {@code quantized.safetensors} does not hold (embeddings, norms). */
    private static Path writeFloatPart(Path model, Path floatPart) {
        var packedNames = org.distillery.io.Safetensors.header(model.resolve(PackedGpt.PACKED_FILE));
        List<String> layers = new ArrayList<>();
        for (var info : packedNames.tensors()) {
            String n = info.name();
            layers.add(n.substring(0, n.lastIndexOf('.')));            // h.0.attn.c_attn.qweight -> h.0.attn.c_attn
        }
        List<NamedTensor> rest = new ArrayList<>();
        for (Map.Entry<String, NamedTensor> e : Safetensors.readAll(model.resolve("model.safetensors")).entrySet()) {
            String n = e.getKey().startsWith("transformer.") ? e.getKey().substring("transformer.".length()) : e.getKey();
            String layer = n.contains(".") ? n.substring(0, n.lastIndexOf('.')) : n;
            if (!layers.contains(layer)) rest.add(e.getValue());
        }
        return Safetensors.write(floatPart, rest);
    }

    /** Runs {@link DecodeProbe} in a child JVM on one thread; its result line as JSON. */
    static JsonNode probe(Path model, boolean packed, int decodeTokens, int repeats) {
        List<String> cmd = new ArrayList<>(Sweep.javaCommand(DecodeProbe.class.getName()));
        int cp = cmd.indexOf("-cp") + 1;
        cmd.set(cp, classPath(cmd.get(cp)));
        cmd.addAll(List.of(model.toAbsolutePath().toString(), packed ? "packed" : "float", String.valueOf(decodeTokens),
                String.valueOf(repeats)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        StringBuilder all = new StringBuilder();
        String result = null;
        try {
            Process p = pb.start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith(DecodeProbe.PREFIX)) result = line.substring(DecodeProbe.PREFIX.length());
                    else all.append(line).append('\n');
                }
            }
            int code = p.waitFor();
            if (code != 0 || result == null) {
                throw new IllegalStateException("the decode probe of " + model + " failed (exit code " + code + "): " + all.toString().strip());
            }
            return new ObjectMapper().readTree(result);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run the decode probe of " + model + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring " + model, e);
        }
    }

    /**
     * The child's class path: this JVM's, plus where this class was loaded from and the project's
     * {@code target/classpath.txt} when present (a notebook kernel loads the project's classes through JShell, not
     * through its own class path).
     */
    static String classPath(String own) {
        List<String> parts = new ArrayList<>(List.of(own.split(java.io.File.pathSeparator)));
        try {
            parts.add(Path.of(DecodeProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        } catch (java.net.URISyntaxException | RuntimeException e) {
            // no code source: the class path below or the JVM's own must do
        }
        Path listed = org.distillery.util.ProjectPaths.root().resolve("target").resolve("classpath.txt");
        if (Files.isRegularFile(listed)) {
            try {
                parts.addAll(List.of(Files.readString(listed).strip().split(java.io.File.pathSeparator)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + listed + ": " + e.getMessage(), e);
            }
        }
        return String.join(java.io.File.pathSeparator, new java.util.LinkedHashSet<>(parts.stream().filter(p -> !p.isBlank()).toList()));
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot size " + f + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readJson(Path f) {
        try {
            return new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    /** This cost as JSON (what {@code costs/STAGE.json} and {@code pipeline.json} hold). */
    public JsonNode toJson() {
        return new ObjectMapper().valueToTree(this);
    }

    /** A cost written by {@link #toJson}. */
    public static StageCost fromJson(JsonNode j) {
        try {
            return new ObjectMapper().treeToValue(j, StageCost.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a stage cost: " + e.getMessage(), e);
        }
    }

    /** Writes {@code cost} to {@code file} atomically. */
    static void write(Path file, StageCost cost) {
        try {
            AtomicFiles.writeString(file, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(cost.toJson()) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
