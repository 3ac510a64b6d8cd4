package org.distillery.quant.packed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.distillery.eval.CausalLm;
import org.distillery.eval.EvalThroughput;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.notebook.Profile;
import org.distillery.train.TeacherRuns;
import org.distillery.util.FileTrees;

/**
 * Measured speed and size of {@link PackedGpt} against the float32 {@link Gpt} (evaluation mode), the orchestration
 * behind {@code ./lab bench packed}. For each model config (random weights, GPT-2 init: speed does not depend on
 * the values) and each batch shape, the float model and the packed models (int8 g128, int4 g128, RTN; each also
 * with int8 activations, "A8", {@link PackedGpt#withInt8Activations()}: W8A8 and W4A8) compute the
 * logits of the same token batches with {@link EvalThroughput#measureModels}: the models take turns within each
 * repeat, after untimed warm-up passes ({@link EvalThroughput#WARM_UP_SECONDS} each), median (min, max) tokens/s over
 * the repeats. Shapes:
 * <ul>
 *   <li>1 x 1: one token per forward. Each weight is read once per token, as in a KV-cached decoding step's
 *   linear layers (this model has no KV cache: attention is over the one token), the memory-bound case where
 *   fewer weight bytes should pay;</li>
 *   <li>1 x T: one sequence of the full context; every weight is used by T rows (packed: dequantized tiles);</li>
 *   <li>B x T: B sequences of the full context.</li>
 * </ul>
 * Batches per repeat are chosen so that the float model's pass takes about {@code targetSeconds}. Sizes: bytes held
 * in memory ({@link PackedGpt#memory()}) and on disk (the packed layers' {@code quantized.safetensors} plus the
 * float32 embeddings/norms against the float32 {@code model.safetensors}, both written to a temporary folder).
 */
public final class PackedGptBench {
    private PackedGptBench() {}

    /** The size entries of one packed model. */
    private static Map<String, Object> sizes(PackedGpt.Memory m, long disk, long floatDisk) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("memory_bytes", m.totalBytes());
        s.put("memory_packed_linear_bytes", m.packedBytes());
        s.put("memory_float32_parts_bytes", m.floatBytes());
        s.put("memory_ratio_float32_over_packed", m.ratio());
        s.put("disk_bytes", disk);
        s.put("disk_basis", "quantized.safetensors (packed layers with their biases) + 4 bytes per other parameter");
        s.put("disk_ratio_float32_over_packed", (double) floatDisk / disk);
        return s;
    }

    /** The benchmarked packed formats: {format, group}. */
    static final Object[][] FORMATS = {{PackedFormat.INT8, 128}, {PackedFormat.INT4, 128}};

    /** One model config to measure. */
    public record ModelCase(String name, Gpt2Config config, int batch) {}

    /** The notebook teacher's shape (TeacherRuns.brownBytes(FULL)) and a larger one whose weights leave the caches. */
    public static List<ModelCase> defaultCases() {
        Gpt2Config teacher = TeacherRuns.brownBytes(Profile.FULL).train().model();
        return List.of(new ModelCase("teacher (brownBytes FULL)", teacher, 8),
                new ModelCase("large", Gpt2Config.of(256, 128, 512, 8, 8), 8));
    }

    /**
     * Runs the benchmark.
     *
     * @param cases         model configs
     * @param repeats       timed repeats per shape, &gt;= 1
     * @param targetSeconds about how long the float model's pass takes per repeat
     * @param progress      receives one line per measured shape
     * @return the results as an ordered map (for JSON), without provenance
     */
    public static Map<String, Object> run(List<ModelCase> cases, int repeats, double targetSeconds, Consumer<String> progress) {
        if (repeats < 1) throw new IllegalArgumentException("repeats: must be >= 1 but was " + repeats);
        if (!(targetSeconds > 0)) throw new IllegalArgumentException("targetSeconds: must be > 0 but was " + targetSeconds);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("benchmark", "packed-gpt");
        result.put("what", "tokens/s of logits (forward, evaluation mode), float32 Gpt vs PackedGpt on the same batches;"
                + " models alternate within each repeat; median of repeats");
        result.put("repeats", repeats);
        result.put("float_lanes", PackedKernels.LANES);
        result.put("load_average_before", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        List<Object> models = new ArrayList<>();
        for (ModelCase mc : cases) models.add(runCase(mc, repeats, targetSeconds, progress));
        result.put("models", models);
        result.put("load_average_after", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        return result;
    }

    private static Map<String, Object> runCase(ModelCase mc, int repeats, double targetSeconds, Consumer<String> progress) {
        Gpt2Config cfg = mc.config();
        int t = cfg.nPositions();
        Gpt gpt = new Gpt(cfg, mc.batch(), t, 1);
        List<CausalLm> models = new ArrayList<>();
        List<String> names = new ArrayList<>();
        models.add(CausalLm.of(gpt));
        names.add("float32");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", mc.name());
        out.put("config", Map.of("vocab_size", cfg.vocabSize(), "n_positions", t, "n_embd", cfg.nEmbd(),
                "n_layer", cfg.nLayer(), "n_head", cfg.nHead(), "n_inner", cfg.innerSize()));
        out.put("parameters", gpt.parameterCount());
        Map<String, Object> sizes = new LinkedHashMap<>();
        long floatDisk = floatFileBytes(gpt);
        sizes.put("float32", Map.of("memory_bytes", 4 * gpt.parameterCount(), "disk_bytes", floatDisk));
        for (Object[] f : FORMATS) {
            PackedFormat format = (PackedFormat) f[0];
            int group = (Integer) f[1];
            PackedGpt p = PackedGpt.quantize(gpt, format, group);
            String name = format.id() + " g" + group;
            models.add(p);
            names.add(name);
            long disk = packedFileBytes(p) + 4 * (gpt.parameterCount() - linearParameters(p));
            sizes.put(name, sizes(p.memory(), disk, floatDisk));
            // the same model with integer products (W8A8, W4A8)
            if (QuantizedLinear.supportsInt8Activations(p.layer(0, PackedGpt.LAYERS.get(0)).weight())) {
                PackedGpt a8 = p.withInt8Activations();
                models.add(a8);
                names.add(name + " A8");
                sizes.put(name + " A8", sizes(a8.memory(), disk, floatDisk));   // W4A8: its memory holds a copy of the codes
            }
        }
        out.put("sizes", sizes);
        StringBuilder sz = new StringBuilder(String.format("%s: %,d parameters; float32 %,d bytes in memory, %,d on disk",
                mc.name(), gpt.parameterCount(), 4 * gpt.parameterCount(), floatDisk));
        for (int i = 1; i < names.size(); i++) {
            @SuppressWarnings("unchecked")
            Map<String, Object> s = (Map<String, Object>) sizes.get(names.get(i));
            sz.append(String.format("; %s %,d (%.2fx smaller) / %,d (%.2fx)", names.get(i), (Long) s.get("memory_bytes"),
                    (Double) s.get("memory_ratio_float32_over_packed"), (Long) s.get("disk_bytes"),
                    (Double) s.get("disk_ratio_float32_over_packed")));
        }
        progress.accept(sz.toString());
        List<Object> shapes = new ArrayList<>();
        for (int[] bt : new int[][] {{1, 1}, {1, t}, {mc.batch(), t}}) {
            int b = bt[0], len = bt[1];
            int batches = batchesFor(models.get(0), b, len, targetSeconds);
            List<EvalThroughput.Result> r = EvalThroughput.measureModels(models, b, len, batches, repeats, 42);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("batch", b);
            row.put("seq_len", len);
            row.put("batches_per_repeat", batches);
            row.put("tokens_per_repeat", r.get(0).tokensPerRepeat());
            StringBuilder line = new StringBuilder(String.format("%s, %d x %d:", mc.name(), b, len));
            for (int i = 0; i < models.size(); i++) {
                EvalThroughput.Result x = r.get(i);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("tokens_per_s", x.medianTokensPerSecond());
                m.put("tokens_per_s_min", x.minTokensPerSecond());
                m.put("tokens_per_s_max", x.maxTokensPerSecond());
                if (i > 0) m.put("speedup_vs_float32", x.medianTokensPerSecond() / r.get(0).medianTokensPerSecond());
                row.put(names.get(i), m);
                line.append(String.format("  %s %.0f tok/s", names.get(i), x.medianTokensPerSecond()));
                if (i > 0) line.append(String.format(" (%.2fx)", x.medianTokensPerSecond() / r.get(0).medianTokensPerSecond()));
            }
            progress.accept(line.toString());
            shapes.add(row);
        }
        out.put("shapes", shapes);
        return out;
    }

    /** Batches per repeat so that the model's pass takes about {@code target} seconds (at least 1). */
    private static int batchesFor(CausalLm m, int b, int t, double target) {
        Random r = new Random(0);
        int[] ids = new int[b * t];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(m.vocabSize());
        long w0 = System.nanoTime();                                          // warm-up (JIT): 0.3 s, 3 calls at least
        for (int i = 0; i < 3 || System.nanoTime() - w0 < 0.3e9; i++) m.logits(ids, b, t);
        int n = 0;
        long t0 = System.nanoTime();
        do {
            m.logits(ids, b, t);
            n++;
        } while (System.nanoTime() - t0 < 0.2e9 && n < 10_000);
        double per = (System.nanoTime() - t0) / 1e9 / n;
        return (int) Math.max(1, Math.min(100_000, Math.round(target / per)));
    }

    private static long linearParameters(PackedGpt p) {
        long n = 0;
        for (QuantizedLinear q : p.packedLayers().values()) n += (long) q.out() * q.in() + q.out();
        return n;
    }

    private static long packedFileBytes(PackedGpt p) {
        try {
            Path dir = Files.createTempDirectory("packed-bench");
            try {
                return Files.size(PackedSafetensors.save(dir.resolve(PackedGpt.PACKED_FILE), p.packedLayers()));
            } finally {
                FileTrees.delete(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long floatFileBytes(Gpt gpt) {
        try {
            Path dir = Files.createTempDirectory("packed-bench");
            try {
                gpt.save(dir);
                return Files.size(dir.resolve("model.safetensors"));
            } finally {
                FileTrees.delete(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
