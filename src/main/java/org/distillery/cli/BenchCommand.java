package org.distillery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.bench.BenchConfig;
import org.distillery.bench.GemmCeiling;
import org.distillery.bench.GptBenchmark;
import org.distillery.bench.GptqBenchmark;
import org.distillery.quant.packed.PackedGptBench;
import org.distillery.report.LabException;
import org.distillery.report.Provenance;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./lab bench train|eval --config FILE}: the engine side by side with the same model in PyTorch
 * on this machine, alternating runs, each run its own process; prints tokens/s of both, their ratio,
 * achieved GFLOP/s against the measured GEMM ceiling, and peak memory.
 *
 * <p>{@code ./lab bench gptq [--out 3072 --in 768 --sequences 128 --tokens 512 --bits 4]}: GPTQ on one
 * layer ({@link GptqBenchmark}) against a PyTorch GPTQ ({@code src/bench/python/torch_gptq_bench.py}) on the
 * same W and calibration data, alternating runs; prints the seconds of both (Hessian, quantization, total),
 * the ratio of the median totals and both output errors.
 *
 * <p>{@code ./lab bench packed [--runs N] [--json]}: tokens/s of the packed quantized GPT against the float32 one
 * ({@link PackedGptBench}), in this process; sizes in memory and on disk.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Times GPT training steps (train) or forward passes (eval) in Distillery and, side by "
                + "side, the same model in PyTorch (Debian's python3-torch, 2 threads), alternating runs. "
                + "Configs: src/bench/configs/A.json, B.json. 'gptq' times GPTQ on one layer against a PyTorch GPTQ. "
                + "'packed' times the packed int8/int4 GPT against the float32 one (Java only). "
                + "'endurance' runs src/bench/endurance/notebook_endurance.py (kernel memory over 200 notebook "
                + "executions, 100 kernel starts; about 10 minutes; numbers in target/endurance/endurance.json)."})
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "train|eval|gptq|packed|endurance", description = "what to time")
    String what;

    @Option(names = "--config", paramLabel = "FILE", description = "benchmark config (JSON), for train and eval")
    Path config;

    @Option(names = "--out", defaultValue = "3072", description = "gptq: output rows of the layer (default: ${DEFAULT-VALUE})")
    int out;

    @Option(names = "--in", defaultValue = "768", description = "gptq: input columns of the layer (default: ${DEFAULT-VALUE})")
    int in;

    @Option(names = "--sequences", defaultValue = "128", description = "gptq: calibration sequences (default: ${DEFAULT-VALUE})")
    int sequences;

    @Option(names = "--tokens", defaultValue = "512", description = "gptq: tokens per sequence (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--bits", defaultValue = "4", description = "gptq: bits, 2 to 8 (default: ${DEFAULT-VALUE})")
    int bits;

    @Option(names = "--runs", defaultValue = "3", description = "runs per engine, alternating (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--json", description = "print one JSON object instead of a table")
    boolean json;

    @Option(names = "--no-torch", description = "time Distillery only")
    boolean noTorch;

    @Override
    public Integer call() throws Exception {
        if (runs < 1) {
            throw new IllegalArgumentException("--runs " + runs + " is not accepted: use 1 or more");
        }
        if (what.equals("gptq")) {
            return gptq();
        }
        if (what.equals("packed")) {
            return packed();
        }
        if (what.equals("endurance")) {
            return endurance();
        }
        GptBenchmark.Mode mode;
        try {
            mode = GptBenchmark.Mode.valueOf(what.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + what + "' is not a benchmark: choose train, eval, gptq, packed or endurance");
        }
        if (config == null) {
            throw new IllegalArgumentException("--config FILE is required for " + what);
        }
        ModelOutput.requireFile("--config", config);
        BenchConfig cfg = BenchConfig.read(config);
        Path root = ProjectPaths.root();
        Path torchScript = root.resolve("src/bench/python/torch_gpt_bench.py");
        if (!noTorch && run(List.of("/usr/bin/python3", "-c", "import torch")) == null) {
            throw LabException.failure("PyTorch is not installed: 'apt-get install python3-torch' "
                    + "(Debian's package), or use --no-torch");
        }
        String m = mode.name().toLowerCase();
        double ceiling = GemmCeiling.measure(cfg);
        List<JsonNode> ours = new ArrayList<>();
        List<JsonNode> theirs = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            ours.add(require(run(javaCommand(config.toAbsolutePath().toString(), m)), "Distillery"));
            if (!noTorch) {
                theirs.add(require(run(List.of("/usr/bin/python3", torchScript.toString(),
                        config.toAbsolutePath().toString(), m, "--threads", "2")), "PyTorch"));
            }
            if (!json) {
                System.err.printf("run %d/%d done%n", r + 1, runs);
            }
        }
        double flops = mode == GptBenchmark.Mode.TRAIN ? cfg.trainFlops() : cfg.forwardFlops();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("config", cfg.name());
        result.put("mode", m);
        result.put("gemm_ceiling_gflops", ceiling);
        result.put("distillery", summary(ours, flops, cfg, ceiling));
        if (!noTorch) {
            result.put("pytorch", summary(theirs, flops, cfg, ceiling));
            result.put("ratio_tokens_per_s", median(ours, "tokens_per_s") / median(theirs, "tokens_per_s"));
            result.put("ratio_peak_rss", max(ours, "peak_rss_mb") / max(theirs, "peak_rss_mb"));
        }
        result.put("provenance", Provenance.capture(root).asMap());
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        } else {
            print(result);
        }
        return 0;
    }

    /** {@code bench gptq}: alternating runs of GptqBenchmark and torch_gptq_bench.py on the same data. */
    private int gptq() throws Exception {
        int[] sizes = {out, in, sequences, tokens};
        String[] names = {"--out", "--in", "--sequences", "--tokens"};
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] < 1) throw new IllegalArgumentException(names[i] + " " + sizes[i] + " is not accepted: use 1 or more");
        }
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("--bits " + bits + " is out of range: accepted 2 to 8");
        }
        Path root = ProjectPaths.root();
        Path torchScript = root.resolve("src/bench/python/torch_gptq_bench.py");
        if (!noTorch && run(List.of("/usr/bin/python3", "-c", "import torch")) == null) {
            throw LabException.failure("PyTorch is not installed: 'apt-get install python3-torch' "
                    + "(Debian's package), or use --no-torch");
        }
        Path data = Files.createTempDirectory("gptq-bench");
        List<JsonNode> ours = new ArrayList<>();
        List<JsonNode> theirs = new ArrayList<>();
        String[] shape = {Integer.toString(out), Integer.toString(in), Integer.toString(sequences), Integer.toString(tokens)};
        try {
            for (int r = 0; r < runs; r++) {
                List<String> java = new ArrayList<>(jvm());
                java.add(GptqBenchmark.class.getName());
                java.addAll(List.of(shape));
                java.add(Integer.toString(bits));
                if (r == 0) java.add(data.toString());                        // the first run writes W and X
                ours.add(require(run(java), "Distillery"));
                if (!noTorch) {
                    List<String> py = new ArrayList<>(List.of("/usr/bin/python3", torchScript.toString()));
                    py.addAll(List.of(shape));
                    py.addAll(List.of("--bits", Integer.toString(bits), "--threads", "2", "--data", data.toString()));
                    theirs.add(require(run(py), "PyTorch"));
                }
                if (!json) {
                    System.err.printf("run %d/%d done%n", r + 1, runs);
                }
            }
        } finally {
            try (var files = Files.list(data)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(data);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("benchmark", "gptq");
        result.put("layer", List.of(out, in));
        result.put("calibration_tokens", (long) sequences * tokens);
        result.put("bits", bits);
        result.put("distillery", gptqSummary(ours));
        if (!noTorch) {
            result.put("pytorch", gptqSummary(theirs));
            result.put("ratio_total_s", median(ours, "total_s") / median(theirs, "total_s"));
        }
        result.put("provenance", Provenance.capture(root).asMap());
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        } else {
            System.out.printf("GPTQ %d-bit per-channel, layer [out %d, in %d], %d x %d calibration tokens; median of %d runs%n",
                    bits, out, in, sequences, tokens, runs);
            System.out.printf("%-11s %11s %12s %9s %14s %14s%n", "engine", "Hessian (s)", "quantize (s)", "total (s)",
                    "output error", "peak RSS (MB)");
            for (String engine : new String[] {"distillery", "pytorch"}) {
                @SuppressWarnings("unchecked")
                Map<String, Object> s = (Map<String, Object>) result.get(engine);
                if (s != null) {
                    System.out.printf("%-11s %11.3f %12.3f %9.3f %14.5f %14.0f%n", engine, (Double) s.get("hessian_s"),
                            (Double) s.get("quantize_s"), (Double) s.get("total_s"), (Double) s.get("relative_output_error"),
                            (Double) s.get("peak_rss_mb"));
                }
            }
            if (result.containsKey("ratio_total_s")) {
                System.out.printf("Distillery / PyTorch time: %.2fx%n", (Double) result.get("ratio_total_s"));
            }
        }
        return 0;
    }

    /** {@code bench packed}: PackedGptBench on its default model configs, --runs repeats. */
    private int packed() throws Exception {
        Map<String, Object> result = PackedGptBench.run(PackedGptBench.defaultCases(), runs, 0.5,
                json ? System.err::println : System.out::println);
        result.put("provenance", Provenance.capture(ProjectPaths.root()).asMap());
        if (json) System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
        return 0;
    }

    private static Map<String, Object> gptqSummary(List<JsonNode> runs) {
        Map<String, Object> s = new LinkedHashMap<>();
        for (String f : new String[] {"hessian_s", "quantize_s", "total_s", "relative_output_error"}) s.put(f, median(runs, f));
        s.put("total_s_runs", runs.stream().map(j -> j.get("total_s").asDouble()).toList());
        s.put("peak_rss_mb", max(runs, "peak_rss_mb"));
        s.put("version", runs.get(0).get("version").asText());
        return s;
    }

    private static Map<String, Object> summary(List<JsonNode> runs, double flops, BenchConfig cfg, double ceiling) {
        double tps = median(runs, "tokens_per_s");
        double gflops = flops / ((double) cfg.batch() * cfg.context() / tps) / 1e9;
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("tokens_per_s", tps);
        s.put("tokens_per_s_runs", runs.stream().map(j -> j.get("tokens_per_s").asDouble()).toList());
        s.put("gflops", gflops);
        s.put("fraction_of_gemm_ceiling", gflops / ceiling);
        s.put("peak_rss_mb", max(runs, "peak_rss_mb"));
        s.put("version", runs.get(0).get("version").asText());
        s.put("params", runs.get(0).get("params").asLong());
        return s;
    }

    @SuppressWarnings("unchecked")
    private static void print(Map<String, Object> r) {
        System.out.printf("%s, config %s; GEMM ceiling %.1f GFLOP/s%n", r.get("mode"), r.get("config"),
                (Double) r.get("gemm_ceiling_gflops"));
        System.out.printf("%-11s %12s %10s %12s %14s%n", "engine", "tokens/s", "GFLOP/s", "of ceiling", "peak RSS (MB)");
        for (String engine : new String[] {"distillery", "pytorch"}) {
            Map<String, Object> s = (Map<String, Object>) r.get(engine);
            if (s != null) {
                System.out.printf("%-11s %12.0f %10.1f %11.0f%% %14.0f%n", engine, (Double) s.get("tokens_per_s"),
                        (Double) s.get("gflops"), 100 * (Double) s.get("fraction_of_gemm_ceiling"),
                        (Double) s.get("peak_rss_mb"));
            }
        }
        if (r.containsKey("ratio_tokens_per_s")) {
            System.out.printf("Distillery / PyTorch: %.2fx tokens/s, %.2fx peak memory%n",
                    (Double) r.get("ratio_tokens_per_s"), (Double) r.get("ratio_peak_rss"));
        }
    }

    private static double median(List<JsonNode> runs, String field) {
        double[] v = runs.stream().mapToDouble(j -> j.get(field).asDouble()).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double max(List<JsonNode> runs, String field) {
        return runs.stream().mapToDouble(j -> j.get(field).asDouble()).max().orElse(Double.NaN);
    }

    /**
     * The kernel endurance run (README, Endurance): the Python driver, its output on this process' output and its
     * numbers in {@code target/endurance/endurance.json}.
     */
    private Integer endurance() throws IOException, InterruptedException {
        Path script = ProjectPaths.root().resolve("src/bench/endurance/notebook_endurance.py");
        Path results = ProjectPaths.root().resolve("target/endurance/endurance.json");
        int code = new ProcessBuilder("/usr/bin/python3", script.toString(), "--json", results.toString())
                .inheritIO().start().waitFor();
        if (code != 0) throw LabException.failure("endurance: a pass or a kernel start failed, or the memory drift "
                + "exceeded 10 % (see the lines above)");
        return 0;
    }

    /** This JVM's java binary, flags and classpath. */
    private static List<String> jvm() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        return cmd;
    }

    /** This JVM's java binary, flags and classpath, running GptBenchmark. */
    private static List<String> javaCommand(String config, String mode) {
        List<String> cmd = jvm();
        cmd.add(GptBenchmark.class.getName());
        cmd.add(config);
        cmd.add(mode);
        return cmd;
    }

    private static JsonNode require(JsonNode result, String engine) {
        if (result == null) {
            throw LabException.failure(engine + " benchmark run failed (see its output above)");
        }
        return result;
    }

    /** Runs a command; returns its last stdout line parsed as JSON, or null when it failed. */
    private static JsonNode run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            System.err.print(out);
            return null;
        }
        List<String> lines = out.lines().filter(l -> l.startsWith("{")).toList();
        return lines.isEmpty() ? new ObjectMapper().createObjectNode() : new ObjectMapper().readTree(lines.get(lines.size() - 1));
    }
}
