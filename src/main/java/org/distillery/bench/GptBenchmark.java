package org.distillery.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.distillery.model.Gpt;
import org.distillery.train.AdamW;

/**
 * The Java side of {@code ./lab bench}: times training steps (forward, backward, AdamW) or forward-only
 * evaluation of a {@link Gpt} with the shape of a {@link BenchConfig}, like
 * {@code src/bench/python/torch_gpt_bench.py} does in PyTorch. Run as its own process (see
 * {@link #main}) so that peak memory belongs to one engine.
 */
public final class GptBenchmark {
    private GptBenchmark() {}

    /** train: forward + backward + optimiser; eval: forward only. */
    public enum Mode { TRAIN, EVAL }

    /** Times the configured steps; returns the JSON fields (same names as the PyTorch script's). */
    public static Map<String, Object> run(BenchConfig cfg, Mode mode) {
        int b = cfg.batch(), t = cfg.context(), v = cfg.vocabSize();
        Gpt model = new Gpt(cfg.modelConfig(), b, t, cfg.seed());
        if (mode == Mode.EVAL) model.eval();            // forward only, as the PyTorch script under torch.no_grad()
        // The same optimiser settings as the PyTorch script: lr 1e-4, betas 0.9/0.95, decay 0.1 on weights.
        AdamW opt = new AdamW(model.parameters(), model.gradients(),
                AdamW.Options.defaults(1e-4).withBetas(0.9, 0.95).withWeightDecay(0.1));
        SplittableRandom rnd = new SplittableRandom(cfg.seed());
        int[] window = new int[b * (t + 1)];                              // [B, T+1]
        int[] ids = new int[b * t], targets = new int[b * t];               // [B*T]
        double[] seconds = new double[cfg.steps()];
        for (int s = 0; s < cfg.warmupSteps() + cfg.steps(); s++) {
            for (int i = 0; i < window.length; i++) {
                window[i] = rnd.nextInt(v);
            }
            for (int r = 0; r < b; r++) {
                System.arraycopy(window, r * (t + 1), ids, r * t, t);
                System.arraycopy(window, r * (t + 1) + 1, targets, r * t, t);
            }
            long t0 = System.nanoTime();
            if (mode == Mode.TRAIN) {
                model.zeroGrad();
                model.forward(ids, targets, b, t);
                model.backward();
                opt.step();
            } else {
                model.forward(ids, targets, b, t);
            }
            if (s >= cfg.warmupSteps()) {
                seconds[s - cfg.warmupSteps()] = (System.nanoTime() - t0) / 1e9;
            }
        }
        Arrays.sort(seconds);
        double median = seconds[seconds.length / 2];
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("engine", "distillery");
        out.put("mode", mode.name().toLowerCase());
        out.put("config", cfg.name());
        out.put("tokens_per_s", b * t / median);
        out.put("step_seconds", median);
        out.put("steps", cfg.steps());
        out.put("params", model.parameterCount());
        out.put("peak_rss_mb", peakRssMb());
        out.put("version", "java " + System.getProperty("java.version"));
        out.put("threads", Runtime.getRuntime().availableProcessors());
        return out;
    }

    /** Peak resident memory of this process in MB (VmHWM), or -1 where /proc is not available. */
    static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** {@code GptBenchmark CONFIG.json train|eval}: prints one JSON line. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: GptBenchmark CONFIG.json train|eval");
            System.exit(2);
        }
        Mode mode = Mode.valueOf(args[1].toUpperCase());
        System.out.println(new ObjectMapper().writeValueAsString(run(BenchConfig.read(Path.of(args[0])), mode)));
    }
}
