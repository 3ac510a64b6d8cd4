package org.distillery.prune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.eval.Perplexity;
import org.distillery.eval.SeedSummary;
import org.distillery.model.Gpt;
import org.distillery.quant.Gptq;
import org.distillery.quant.LinearLayers;
import org.distillery.train.TrainConfig;
import org.distillery.util.FileTrees;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The pruning experiment of notebook {@code 30-pruning}: one dense GPT pruned by each {@link Method} at each
 * sparsity (one-shot, N:M, gradual), structurally shrunk, and pruned per layer from a {@link Sensitivity} scan.
 * Every result is a fresh copy of the dense model, scored against the dense model on the same validation windows
 * ({@link Perplexity#compare}: perplexity and the mean KL of the next-token distributions) and sized by writing it.
 *
 * <p><b>Calibration.</b> Wanda, SparseGPT and the activation / Taylor importance of structured pruning use
 * {@code calibrationWindows} windows of the context drawn at random offsets of the training tokens
 * ({@link Gptq#calibrationWindows}, one set per seed, shared by every method of that seed). Magnitude uses none.
 *
 * <p><b>Fine-tuning.</b> Next-token prediction on the training tokens in batches of B x T, a new AdamW per run,
 * learning rate {@code finetuneLr} with a 10 % warm-up and a cosine decay to a tenth of it, seed
 * {@code finetuneSeed}; unstructured models keep their zeros ({@link MaskedObjective}). The dense model fine-tuned
 * the same way ({@link #denseFinetuned}) is the fair reference for every fine-tuned result.
 *
 * <p><b>Size.</b> {@link #denseBytes()}: the dense model's {@code model.safetensors} (float32). An unstructured or N:M
 * model: its {@link SparseSafetensors} file (every linear weight as a bitmask + its nonzero float32 values, the rest
 * float32). A structured model: its own, smaller {@code model.safetensors}. All are files written and measured.
 */
public final class PruningSweep {

    /** The unstructured / N:M pruning methods. */
    public enum Method {
        MAGNITUDE("magnitude", false), WANDA("Wanda", true), SPARSEGPT("SparseGPT", true);

        private final String label;
        private final boolean calibrated;

        Method(String label, boolean calibrated) {
            this.label = label;
            this.calibrated = calibrated;
        }

        public String label() { return label; }

        /** Whether the method reads calibration data (and so depends on the calibration seed). */
        public boolean calibrated() { return calibrated; }
    }

    /**
     * The sweep's settings.
     *
     * @param calibrationWindows calibration windows of the context per seed, &gt;= 1
     * @param batchSize          B: windows per forward pass (evaluation, calibration, fine-tuning), &gt;= 1
     * @param finetuneLr         peak learning rate of fine-tuning, finite and &gt; 0
     * @param finetuneSeed       seed of the fine-tuning runs (data order)
     * @param criterion          importance of heads and neurons for structured pruning
     */
    public record Settings(int calibrationWindows, int batchSize, double finetuneLr, long finetuneSeed,
                           StructureImportance.Criterion criterion) {
        public Settings {
            if (calibrationWindows < 1) {
                throw new IllegalArgumentException("calibrationWindows: must be >= 1 but was " + calibrationWindows);
            }
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (!(finetuneLr > 0) || Double.isInfinite(finetuneLr)) {
                throw new IllegalArgumentException("finetuneLr: must be finite and > 0 but was " + finetuneLr);
            }
            if (criterion == null) throw new IllegalArgumentException("criterion: must not be null");
        }

        /** 64 calibration windows, B = 8, fine-tuning at 5e-4 with seed 0, activation importance. */
        public static Settings defaults() {
            return new Settings(64, 8, 5e-4, 0, StructureImportance.Criterion.ACTIVATION);
        }

        public Settings withCalibrationWindows(int n) {
            return new Settings(n, batchSize, finetuneLr, finetuneSeed, criterion);
        }

        public Settings withBatchSize(int b) {
            return new Settings(calibrationWindows, b, finetuneLr, finetuneSeed, criterion);
        }

        public Settings withFinetune(double lr, long seed) {
            return new Settings(calibrationWindows, batchSize, lr, seed, criterion);
        }

        public Settings withCriterion(StructureImportance.Criterion c) {
            return new Settings(calibrationWindows, batchSize, finetuneLr, finetuneSeed, c);
        }
    }

    /**
     * One pruned (or dense fine-tuned) model.
     *
     * @param setting         how it was made beyond method and pattern ("one-shot", "gradual AGP", ...)
     * @param method          the pruning method (null for the dense reference)
     * @param pattern         the N:M pattern, or null for unstructured
     * @param target          the requested sparsity of the linear weights
     * @param seed            the calibration seed, -1 where the method uses no calibration
     * @param sparsity        the measured fraction of exact zeros over all linear weights
     * @param perplexity      validation perplexity
     * @param densePerplexity the dense model's on the same positions
     * @param meanKl          mean KL(dense || this) of the next-token distributions, nats per scored token
     * @param sparseBytes     bytes of its {@link SparseSafetensors} file
     * @param denseBytes      bytes of the dense model's float32 {@code model.safetensors}
     * @param finetuneSteps   optimiser steps of fine-tuning it received in total (0 for one-shot)
     * @param seconds         wall-clock time of pruning and fine-tuning (s)
     */
    public record Point(String setting, Method method, NmPattern pattern, double target, long seed, double sparsity,
                        double perplexity, double densePerplexity, double meanKl, long sparseBytes, long denseBytes,
                        int finetuneSteps, double seconds) {
        /** "SparseGPT 2:4", "magnitude gradual AGP", "Wanda". */
        public String label() {
            String m = method == null ? "dense" : method.label();
            String p = pattern == null ? "" : " " + pattern;
            return m + p + (setting.isEmpty() ? "" : " " + setting);
        }

        /** sparseBytes / denseBytes. */
        public double sizeRatio() { return (double) sparseBytes / denseBytes; }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s at %.0f %%%s: ppl %.4f (dense %.4f), KL %.5f, %,d bytes (%.3f of dense), %.1f s",
                    label(), 100 * target, seed >= 0 ? " seed " + seed : "", perplexity, densePerplexity, meanKl, sparseBytes,
                    sizeRatio(), seconds);
        }
    }

    /**
     * The points of one label and target sparsity over their calibration seeds.
     *
     * @param sparseBytes the mean over the seeds of the sparse file's bytes, rounded
     * @param seeds       the calibration seeds, in the order of the points
     */
    public record Summary(String label, Method method, NmPattern pattern, String setting, double target, double sparsity,
                         SeedSummary perplexity, SeedSummary meanKl, long sparseBytes, long denseBytes, List<Long> seeds) {
        public double sizeRatio() { return (double) sparseBytes / denseBytes; }
    }

    /**
     * A structurally pruned model.
     *
     * @param headFraction        fraction of the heads removed in every layer
     * @param neuronFraction      fraction of the FFN neurons removed in every layer
     * @param model               the smaller model after fine-tuning (capacity B x T)
     * @param parameters          its parameter count
     * @param bytes               its {@code model.safetensors} bytes
     * @param perplexity          validation perplexity right after removal
     * @param meanKl              mean next-token KL to the dense model right after removal
     * @param finetunedPerplexity after {@code finetuneSteps} of fine-tuning
     * @param finetunedMeanKl     mean next-token KL to the dense model after fine-tuning
     * @param seconds             wall-clock time of scoring, removal and fine-tuning (s)
     */
    public record StructuredPoint(double headFraction, double neuronFraction, Gpt model, long parameters, long bytes,
                                  double perplexity, double meanKl, double finetunedPerplexity, double finetunedMeanKl,
                                  int finetuneSteps, double seconds) {
        /** "heads 50 % + neurons 50 %". */
        public String label() {
            List<String> parts = new ArrayList<>();
            if (headFraction > 0) parts.add(String.format(Locale.ROOT, "heads %.0f %%", 100 * headFraction));
            if (neuronFraction > 0) parts.add(String.format(Locale.ROOT, "neurons %.0f %%", 100 * neuronFraction));
            return String.join(" + ", parts);
        }
    }

    /** A pruned fresh copy of the dense model, its mask and the pruning's wall-clock time. */
    public record Pruned(Gpt model, PruningMask mask, double seconds) {}

    private final Path denseDir;
    private final int[] trainTokens, evalTokens;
    private final Settings settings;
    private final int seqLen;
    private final Gpt reference;
    private final long denseBytes;
    private final Map<Long, List<int[]>> calibration = new HashMap<>();

    /**
     * @param denseDir    the dense model's directory ({@code config.json} + {@code model.safetensors})
     * @param trainTokens calibration and fine-tuning tokens (at least one context window)
     * @param evalTokens  validation tokens, non-overlapping windows of the model's context
     */
    public PruningSweep(Path denseDir, int[] trainTokens, int[] evalTokens, Settings settings) {
        if (denseDir == null) throw new IllegalArgumentException("denseDir: must not be null");
        if (settings == null) throw new IllegalArgumentException("settings: must not be null");
        if (evalTokens == null || evalTokens.length < 2) throw new IllegalArgumentException("evalTokens: need at least 2 tokens");
        this.denseDir = denseDir;
        this.settings = settings;
        this.seqLen = Gpt.load(denseDir, 1, 2).config().nPositions();
        if (trainTokens == null || trainTokens.length <= seqLen) {
            throw new IllegalArgumentException("trainTokens: need more than one context of " + seqLen + " tokens; got "
                    + (trainTokens == null ? "null" : trainTokens.length));
        }
        this.trainTokens = trainTokens.clone();
        this.evalTokens = evalTokens.clone();
        this.reference = load();
        try {
            this.denseBytes = Files.size(denseDir.resolve("model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + denseDir.resolve("model.safetensors"), e);
        }
    }

    /** The dense model, loaded afresh (capacity B x T). */
    public Gpt load() {
        return Gpt.load(denseDir, settings.batchSize(), seqLen);
    }

    /** The dense model every point is compared with (do not modify it). */
    public Gpt reference() { return reference; }

    public Settings settings() { return settings; }

    /** The model's context T (calibration, evaluation and fine-tuning windows). */
    public int seqLen() { return seqLen; }

    /** Bytes of the dense model's float32 {@code model.safetensors}. */
    public long denseBytes() { return denseBytes; }

    /** The validation tokens every model is scored on (a copy). */
    public int[] evalTokens() { return evalTokens.clone(); }

    /** The calibration windows of {@code seed} (drawn once per seed). */
    public synchronized List<int[]> calibration(long seed) {
        return calibration.computeIfAbsent(seed, s -> Gptq.calibrationWindows(trainTokens, settings.calibrationWindows(), seqLen, s));
    }

    // ------------------------------------------------------------------------------------------------
    // unstructured and N:M

    /** A fresh copy pruned by {@code method} at sparsity {@code s} (layer-wise), calibration {@code seed}. */
    public Pruned prune(Method method, double s, long seed) {
        MagnitudePruning.checkSparsity(s);
        return prune(method, s, null, seed);
    }

    /** A fresh copy pruned by {@code method} to the N:M {@code pattern}, calibration {@code seed}. */
    public Pruned prune(Method method, NmPattern pattern, long seed) {
        if (pattern == null) throw new IllegalArgumentException("pattern: must not be null");
        return prune(method, pattern.sparsity(), pattern, seed);
    }

    private Pruned prune(Method method, double s, NmPattern pattern, long seed) {
        if (method == null) throw new IllegalArgumentException("method: must not be null");
        Gpt model = load();
        long t0 = System.nanoTime();
        PruningMask mask = switch (method) {
            case MAGNITUDE -> pattern == null ? MagnitudePruning.prune(model, s, MagnitudePruning.Scope.LAYER)
                    : MagnitudePruning.prune(model, pattern);
            case WANDA -> Wanda.prune(model, calibration(seed), pattern == null ? Wanda.Options.unstructured(s)
                    : Wanda.Options.nm(pattern)).mask();
            case SPARSEGPT -> SparseGpt.prune(model, calibration(seed), pattern == null ? SparseGpt.Options.unstructured(s)
                    : SparseGpt.Options.nm(pattern)).mask();
        };
        return new Pruned(model, mask, (System.nanoTime() - t0) / 1e9);
    }

    /** One-shot pruning at sparsity {@code s}, scored ("one-shot"). */
    public Point oneShot(Method method, double s, long seed) {
        Pruned p = prune(method, s, seed);
        return score("one-shot", method, null, s, method.calibrated() ? seed : -1, p.model(), 0, p.seconds());
    }

    /** One-shot N:M pruning, scored (setting ""). */
    public Point nm(Method method, NmPattern pattern, long seed) {
        Pruned p = prune(method, pattern, seed);
        return score("", method, pattern, pattern.sparsity(), method.calibrated() ? seed : -1, p.model(), 0, p.seconds());
    }

    /**
     * Gradual magnitude pruning (layer-wise AGP from 0 to {@code s} in {@code pruningSteps} steps,
     * {@code stepsEach} fine-tuning steps after each of the pruningSteps + 1 pruning steps), scored ("gradual AGP").
     */
    public Point gradual(double s, int pruningSteps, int stepsEach) {
        if (stepsEach < 1) throw new IllegalArgumentException("stepsEach: must be >= 1 but was " + stepsEach);
        Gpt model = load();
        long t0 = System.nanoTime();
        MagnitudePruning.gradual(model, trainTokens, finetuneConfig(model, stepsEach),
                new MagnitudePruning.Gradual(0, s, pruningSteps, stepsEach, MagnitudePruning.Scope.LAYER));
        return score("gradual AGP", Method.MAGNITUDE, null, s, -1, model, (pruningSteps + 1) * stepsEach,
                (System.nanoTime() - t0) / 1e9);
    }

    /** One-shot magnitude pruning at {@code s}, then {@code steps} masked fine-tuning steps ("one-shot + fine-tuning"). */
    public Point oneShotFinetuned(double s, int steps) {
        if (steps < 1) throw new IllegalArgumentException("steps: must be >= 1 but was " + steps);
        Pruned p = prune(Method.MAGNITUDE, s, 0);
        long t0 = System.nanoTime();
        MaskedObjective.finetune(p.model(), p.mask(), trainTokens, finetuneConfig(p.model(), steps));
        return score("one-shot + fine-tuning", Method.MAGNITUDE, null, s, -1, p.model(), steps,
                p.seconds() + (System.nanoTime() - t0) / 1e9);
    }

    /** The dense model fine-tuned {@code steps} steps like the pruned ones (method null, target 0, setting "fine-tuned"). */
    public Point denseFinetuned(int steps) {
        if (steps < 1) throw new IllegalArgumentException("steps: must be >= 1 but was " + steps);
        Gpt model = load();
        long t0 = System.nanoTime();
        MaskedObjective.finetune(model, null, trainTokens, finetuneConfig(model, steps));
        return score("fine-tuned", null, null, 0, -1, model, steps, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Magnitude pruning with a sparsity per layer (e.g. {@link Sensitivity#allocate}), scored under {@code setting}
     * with target sparsity {@code target} (for the record: the layers' own sparsities decide).
     */
    public Point perLayer(Map<String, Double> layerSparsity, double target, String setting) {
        if (layerSparsity == null) throw new IllegalArgumentException("layerSparsity: must not be null");
        if (setting == null) throw new IllegalArgumentException("setting: must not be null");
        Gpt model = load();
        long t0 = System.nanoTime();
        MagnitudePruning.mask(model.parameters(), layerSparsity).apply(model.parameters());
        return score(setting, Method.MAGNITUDE, null, target, -1, model, 0, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Scores a model of this sweep against the dense reference: perplexity and KL on the validation tokens, the
     * measured sparsity of its linear weights and the bytes of its sparse file.
     */
    public Point score(String setting, Method method, NmPattern pattern, double target, long seed, Gpt model,
                       int finetuneSteps, double seconds) {
        if (setting == null || model == null) throw new IllegalArgumentException("setting, model: must not be null");
        Perplexity.Comparison c = Perplexity.compare(reference, model, evalTokens, seqLen, settings.batchSize());
        double sparsity = PruningMask.ofNonzeros(model.parameters(), LinearLayers.names(model)).sparsity();
        return new Point(setting, method, pattern, target, seed, sparsity, c.model().perplexity(), c.reference().perplexity(),
                c.meanKl(), sparseBytes(model), denseBytes, finetuneSteps, seconds);
    }

    /** Bytes of {@code model}'s {@link SparseSafetensors} file (every linear weight as bitmask + values), written and measured. */
    public static long sparseBytes(Gpt model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        Path dir = tempDir();
        try {
            Path f = SparseSafetensors.save(dir.resolve("sparse.safetensors"), model.parameters(), LinearLayers.names(model));
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            FileTrees.delete(dir);
        }
    }

    /** Bytes of {@code model}'s float32 {@code model.safetensors} ({@link Gpt#save}), written and measured. */
    public static long modelBytes(Gpt model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        Path dir = tempDir();
        try {
            Path out = dir.resolve("model");
            model.save(out);
            return Files.size(out.resolve("model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            FileTrees.delete(dir);
        }
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("pruning-sweep");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The points grouped by label and target sparsity (in the order of their first point), each group's
     * perplexity and KL summarised over its calibration seeds.
     */
    public static List<Summary> summarize(List<Point> points) {
        if (points == null) throw new IllegalArgumentException("points: must not be null");
        Map<String, List<Point>> groups = new LinkedHashMap<>();
        for (Point p : points) {
            groups.computeIfAbsent(p.label() + "|" + String.format(Locale.ROOT, "%.6f", p.target()), k -> new ArrayList<>()).add(p);
        }
        List<Summary> out = new ArrayList<>();
        for (List<Point> g : groups.values()) {
            double[] ppl = new double[g.size()], kl = new double[g.size()];
            double bytes = 0, sparsity = 0;
            List<Long> seeds = new ArrayList<>();
            for (int i = 0; i < g.size(); i++) {
                ppl[i] = g.get(i).perplexity();
                kl[i] = g.get(i).meanKl();
                bytes += g.get(i).sparseBytes();
                sparsity += g.get(i).sparsity();
                seeds.add(g.get(i).seed());
            }
            Point f = g.get(0);
            out.add(new Summary(f.label(), f.method(), f.pattern(), f.setting(), f.target(), sparsity / g.size(),
                    SeedSummary.of(ppl), SeedSummary.of(kl), Math.round(bytes / g.size()), f.denseBytes(), List.copyOf(seeds)));
        }
        return out;
    }

    /**
     * One row per point: model, setting, target and measured sparsity (%), seed (-1: none), perplexity, perplexity /
     * dense, KL to dense, sparse-file bytes, size vs dense, fine-tuning steps, seconds.
     */
    public static Table pointTable(String title, List<Point> points) {
        if (title == null || points == null) throw new IllegalArgumentException("title, points: must not be null");
        return Table.create(title).addColumns(
                StringColumn.create("model", points.stream().map(Point::label).toList()),
                DoubleColumn.create("target sparsity %", points.stream().mapToDouble(p -> 100 * p.target()).toArray()),
                DoubleColumn.create("measured sparsity %", points.stream().mapToDouble(p -> 100 * p.sparsity()).toArray()),
                LongColumn.create("calibration seed", points.stream().mapToLong(Point::seed).toArray()),
                DoubleColumn.create("perplexity", points.stream().mapToDouble(Point::perplexity).toArray()),
                DoubleColumn.create("ppl / dense", points.stream().mapToDouble(p -> p.perplexity() / p.densePerplexity()).toArray()),
                DoubleColumn.create("KL to dense (nats/token)", points.stream().mapToDouble(Point::meanKl).toArray()),
                LongColumn.create("sparse file bytes", points.stream().mapToLong(Point::sparseBytes).toArray()),
                DoubleColumn.create("size vs dense", points.stream().mapToDouble(Point::sizeRatio).toArray()),
                IntColumn.create("fine-tuning steps", points.stream().mapToInt(Point::finetuneSteps).toArray()),
                DoubleColumn.create("seconds", points.stream().mapToDouble(Point::seconds).toArray()));
    }

    /**
     * One row per summary: model, target sparsity (%), seeds, perplexity mean with its 95 % t-interval (the mean itself
     * for one seed), min and max, mean / dense, mean KL, sparse-file bytes, size vs dense.
     *
     * @param densePerplexity the dense model's perplexity on the same tokens
     */
    public static Table summaryTable(String title, List<Summary> rows, double densePerplexity) {
        if (title == null || rows == null) throw new IllegalArgumentException("title, rows: must not be null");
        return Table.create(title).addColumns(
                StringColumn.create("model", rows.stream().map(Summary::label).toList()),
                DoubleColumn.create("sparsity %", rows.stream().mapToDouble(r -> 100 * r.target()).toArray()),
                IntColumn.create("seeds", rows.stream().mapToInt(r -> r.perplexity().n()).toArray()),
                DoubleColumn.create("perplexity (mean)", rows.stream().mapToDouble(r -> r.perplexity().mean()).toArray()),
                DoubleColumn.create("95% low", rows.stream().mapToDouble(r -> r.perplexity().low()).toArray()),
                DoubleColumn.create("95% high", rows.stream().mapToDouble(r -> r.perplexity().high()).toArray()),
                DoubleColumn.create("min", rows.stream().mapToDouble(r -> r.perplexity().min()).toArray()),
                DoubleColumn.create("max", rows.stream().mapToDouble(r -> r.perplexity().max()).toArray()),
                DoubleColumn.create("ppl / dense", rows.stream().mapToDouble(r -> r.perplexity().mean() / densePerplexity).toArray()),
                DoubleColumn.create("KL to dense (mean)", rows.stream().mapToDouble(r -> r.meanKl().mean()).toArray()),
                LongColumn.create("sparse file bytes", rows.stream().mapToLong(Summary::sparseBytes).toArray()),
                DoubleColumn.create("size vs dense", rows.stream().mapToDouble(Summary::sizeRatio).toArray()));
    }

    // ------------------------------------------------------------------------------------------------
    // structured

    /**
     * Removes {@code headFraction} of the heads and then {@code neuronFraction} of the FFN neurons of every layer
     * (importance {@link Settings#criterion} on the calibration windows of {@code seed}; the neurons scored on the
     * model without the removed heads), scores the smaller model, fine-tunes it {@code finetuneSteps} steps and
     * scores it again.
     */
    public StructuredPoint structured(double headFraction, double neuronFraction, long seed, int finetuneSteps) {
        MagnitudePruning.checkSparsity(headFraction);
        MagnitudePruning.checkSparsity(neuronFraction);
        if (headFraction == 0 && neuronFraction == 0) {
            throw new IllegalArgumentException("headFraction, neuronFraction: both 0; remove heads, neurons or both");
        }
        if (finetuneSteps < 0) throw new IllegalArgumentException("finetuneSteps: must be >= 0 but was " + finetuneSteps);
        long t0 = System.nanoTime();
        Gpt model = load();
        List<int[]> windows = calibration(seed);
        if (headFraction > 0) {
            model = StructuredPruning.prune(model, Structure.HEAD, settings.criterion(), headFraction,
                    MagnitudePruning.Scope.LAYER, windows).model();
        }
        if (neuronFraction > 0) {
            model = StructuredPruning.prune(model, Structure.NEURON, settings.criterion(), neuronFraction,
                    MagnitudePruning.Scope.LAYER, windows).model();
        }
        Perplexity.Comparison before = Perplexity.compare(reference, model, evalTokens, seqLen, settings.batchSize());
        double ms = (System.nanoTime() - t0) / 1e9;
        Perplexity.Comparison after = before;
        if (finetuneSteps > 0) {
            long t1 = System.nanoTime();
            MaskedObjective.finetune(model, null, trainTokens, finetuneConfig(model, finetuneSteps));
            ms += (System.nanoTime() - t1) / 1e9;
            after = Perplexity.compare(reference, model, evalTokens, seqLen, settings.batchSize());
        }
        return new StructuredPoint(headFraction, neuronFraction, model, model.parameterCount(), modelBytes(model),
                before.model().perplexity(), before.meanKl(), after.model().perplexity(), after.meanKl(), finetuneSteps, ms);
    }

    // ------------------------------------------------------------------------------------------------
    // sensitivity

    /** {@link Sensitivity#analyze} on a fresh copy of the dense model, on {@code tokens} (keep them apart from the validation tokens). */
    public Sensitivity.Result sensitivity(int[] tokens, double[] grid) {
        return Sensitivity.analyze(load(), tokens, seqLen, settings.batchSize(), grid);
    }

    /** Magnitude pruning with the per-layer sparsities {@link Sensitivity#allocate} derives from {@code scan} for {@code target}. */
    public Point allocated(Sensitivity.Result scan, double target) {
        return perLayer(Sensitivity.allocate(scan, target), target, "sensitivity allocation");
    }

    /** The fine-tuning run for {@code model}: B x T batches, {@code steps} steps, lr peak -> peak/10, 10 % warm-up. */
    TrainConfig finetuneConfig(Gpt model, int steps) {
        return TrainConfig.defaults(model.config()).withBatch(settings.batchSize(), seqLen).withSteps(steps, steps / 10)
                .withLr(settings.finetuneLr(), settings.finetuneLr() / 10).withSeed(settings.finetuneSeed());
    }
}
