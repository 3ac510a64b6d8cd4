package org.distillery.robustness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.data.BrownCorpus;
import org.distillery.distill.Distiller;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.quant.BlockQuantizer;
import org.distillery.quant.Gptq;
import org.distillery.quant.LayerReport;
import org.distillery.quant.NormTweak;
import org.distillery.quant.Quantizer;
import org.distillery.tokenize.ByteTokenizer;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The four workloads of {@link DeterminismTest}, run in a JVM of its own so that the BLAS thread count
 * (fixed when ND4J loads, from {@code OMP_NUM_THREADS}) is the one the parent asked for.
 *
 * <p>{@code DeterminismWorkloads OUT_DIR} writes {@code OUT_DIR/result.json}: the BLAS and ND4J thread
 * counts as ND4J reports them, and per workload ({@code training}, {@code distillation}, {@code gptq},
 * {@code normtweak}) its metrics (name to a list of doubles, written by Jackson in Java's shortest
 * round-trip form, so they read back bit for bit) and the SHA-256 of its output weights (name-sorted,
 * name bytes then the floats' little-endian bits); the weights themselves go to
 * {@code OUT_DIR/<workload>.safetensors} for the tolerance comparisons.
 *
 * <p>Every workload is a fixed function of its seeds: byte tokens of the first 200,000 bytes of Brown's
 * training split, GPT-2 models of width 64 (GEMMs of 1024 x 64 x 192 and up, large enough for OpenBLAS to
 * split them over threads).
 */
public final class DeterminismWorkloads {
    static final String[] WORKLOADS = {"training", "distillation", "gptq", "normtweak"};
    static final int B = 16, T = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    private DeterminismWorkloads() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: DeterminismWorkloads OUT_DIR");
            System.exit(2);
        }
        Path out = Files.createDirectories(Path.of(args[0]));
        int[] tokens = Arrays.copyOf(new ByteTokenizer().encode(BrownCorpus.load().text(BrownCorpus.Split.TRAIN)), 200_000);
        int[] train = Arrays.copyOf(tokens, 180_000), val = Arrays.copyOfRange(tokens, 180_000, 200_000);
        ObjectNode result = JSON.createObjectNode();
        result.put("blas_threads", Nd4j.factory().blas().getMaxThreads());
        result.put("nd4j_threads", Nd4j.getEnvironment().maxThreads());
        result.put("omp_num_threads", String.valueOf(System.getenv("OMP_NUM_THREADS")));
        record(result, out, "training", training(train, val));
        record(result, out, "distillation", distillation(train, val));
        record(result, out, "gptq", gptq(train));
        record(result, out, "normtweak", normTweak(train));
        Files.writeString(out.resolve("result.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
    }

    /** A workload's metrics (name to values, in order) and output weights. */
    record Outcome(Map<String, List<Double>> metrics, Map<String, FloatTensor> weights) {}

    private static TrainConfig config(Gpt2Config model, int steps, long seed) {
        return TrainConfig.defaults(model).withBatch(B, T).withSteps(steps, 2).withLr(1e-2, 1e-3).withEval(4, 2)
                .withSeed(seed).withCheckpoints(0, 1);
    }

    /** 8 AdamW steps of a 2 x 64 GPT (validation every 4 steps). */
    static Outcome training(int[] train, int[] val) {
        TrainConfig cfg = config(Gpt2Config.of(256, T, 64, 2, 4), 8, 11);
        Trainer t = new Trainer(cfg, train, val).showProgress(false);
        t.run();
        return new Outcome(trainerMetrics(t), t.model().parameters());
    }

    /** 8 steps of a 1 x 32 student distilled from a random 2 x 64 teacher: task, soft targets (T = 2), cosine (projection). */
    static Outcome distillation(int[] train, int[] val) {
        Gpt teacher = new Gpt(Gpt2Config.of(256, T, 64, 2, 4), B, T, 77);
        TrainConfig cfg = config(Gpt2Config.of(256, T, 32, 1, 2), 8, 12);
        Distiller d = Distiller.of(teacher, new CausalLmObjective(cfg, train, val), Distiller.Options.of(0.5, 0.5, 0.5, 0, 2.0),
                null);
        Trainer t = new Trainer(cfg.loop(), d).showProgress(false);
        t.run();
        return new Outcome(trainerMetrics(t), d.model().parameters());
    }

    /** GPTQ (4 bits, per channel, act-order, true-sequential) of a random 2 x 64 GPT on 16 Brown windows of 64. */
    static Outcome gptq(int[] train) {
        Gpt gpt = new Gpt(Gpt2Config.of(256, T, 64, 2, 4), B, T, 13);
        List<LayerReport> layers = Gptq.quantize(gpt, Gptq.calibrationWindows(train, 16, T, 5),
                Gptq.Options.defaults(Quantizer.perChannel(4, false)).withActOrder(true), true);
        return new Outcome(layerMetrics(layers, new TreeMap<>()), gpt.parameters());
    }

    /** Norm Tweaking (1 epoch, lr_0 1e-2) on 3-bit per-channel RTN of a random 2 x 64 GPT, 16 Brown windows of 64. */
    static Outcome normTweak(int[] train) {
        Gpt gpt = new Gpt(Gpt2Config.of(256, T, 64, 2, 4), B, T, 14);
        NormTweak.Result r = NormTweak.apply(gpt, Gptq.calibrationWindows(train, 16, T, 6),
                BlockQuantizer.rtn(Quantizer.perChannel(3, true)), NormTweak.Options.of(1e-2, 1.0, 1, 4));
        Map<String, List<Double>> m = new TreeMap<>();
        for (NormTweak.BlockReport b : r.blocks()) {
            add(m, "loss_before", b.lossBefore());
            add(m, "loss_after", b.lossAfter());
            add(m, "dist_before", b.distBefore());
            add(m, "dist_after", b.distAfter());
        }
        return new Outcome(layerMetrics(r.layers(), m), gpt.parameters());
    }

    private static Map<String, List<Double>> trainerMetrics(Trainer t) {
        Map<String, List<Double>> m = new TreeMap<>();
        for (Trainer.StepRecord r : t.history()) {
            add(m, "loss", r.loss());
            add(m, "grad_norm", r.gradNorm());
        }
        for (Trainer.EvalRecord e : t.evals()) add(m, "val_loss", e.loss());
        return m;
    }

    /** The quantizer's per-layer errors (not its timings). */
    private static Map<String, List<Double>> layerMetrics(List<LayerReport> layers, Map<String, List<Double>> m) {
        for (LayerReport l : layers) {
            add(m, "weight_mse", l.weightMse());
            add(m, "max_abs_error", l.maxAbsError());
            add(m, "output_error", l.outputError());
        }
        return m;
    }

    private static void add(Map<String, List<Double>> m, String name, double v) {
        m.computeIfAbsent(name, k -> new ArrayList<>()).add(v);
    }

    private static void record(ObjectNode result, Path out, String name, Outcome o) {
        ObjectNode w = result.putObject(name);
        ObjectNode metrics = w.putObject("metrics");
        o.metrics().forEach((k, vs) -> {
            ArrayNode a = metrics.putArray(k);
            vs.forEach(a::add);
        });
        w.put("weights_sha256", sha256(o.weights()));
        List<NamedTensor> tensors = new ArrayList<>();
        new TreeMap<>(o.weights()).forEach((n, p) -> tensors.add(NamedTensor.f32(n, p.shape(), p.toFloatArray())));
        Safetensors.write(out.resolve(name + ".safetensors"), tensors);
    }

    /** SHA-256 over the name-sorted tensors: each name's UTF-8 bytes, then its floats' little-endian bits. */
    static String sha256(Map<String, FloatTensor> weights) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (Map.Entry<String, FloatTensor> e : new TreeMap<>(weights).entrySet()) {
            md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            float[] f = e.getValue().toFloatArray();
            ByteBuffer b = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(f);
            md.update(b);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
