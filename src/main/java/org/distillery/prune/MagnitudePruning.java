package org.distillery.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;

/**
 * Unstructured magnitude pruning: remove the weights with the smallest |W| (Han et al. 2015), one-shot or
 * gradually with fine-tuning in between (Zhu &amp; Gupta 2017, "To prune, or not to prune", AGP).
 * <ul>
 *   <li>{@link Scope#LAYER}: every layer loses round(s * its size) weights, its own smallest |W|;</li>
 *   <li>{@link Scope#GLOBAL}: round(s * total) weights with the smallest |W| over all the layers together (so
 *   layers with small weights lose more);</li>
 *   <li>N:M ({@link #mask(Map, List, NmPattern)}): the N largest |W| of every M consecutive inputs of a row.</li>
 * </ul>
 * Ties are broken by position (lower index pruned first), so masks are deterministic. Gradual pruning
 * ({@link #gradual}): at pruning step t = 0..n the target is the AGP cubic schedule
 * <pre>
 *   s_t = s_f + (s_i - s_f) (1 - t/n)^3
 * </pre>
 * the weights are pruned by magnitude to s_t (already pruned weights are 0, the smallest magnitudes, so the
 * masks are nested), then fine-tuned for k steps with the mask held ({@link MaskedObjective}: a new trainer per
 * phase; the last phase is the recovery after reaching s_f).
 */
public final class MagnitudePruning {
    private MagnitudePruning() {}

    /** Which weights compete for pruning: each layer alone, or all layers together. */
    public enum Scope { LAYER, GLOBAL }

    /** Fails unless {@code s} is in [0, 1). */
    static void checkSparsity(double s) {
        if (!(s >= 0 && s < 1)) throw new IllegalArgumentException("sparsity " + s + " is out of range: accepted [0, 1)");
    }

    /**
     * The magnitude mask of the named weights at sparsity {@code s}.
     *
     * @param parameters the model's parameters ([out, in] weights)
     * @param names      the weights to prune (e.g. {@link LinearLayers#names})
     * @param s          fraction of weights pruned, in [0, 1)
     */
    public static PruningMask mask(Map<String, FloatTensor> parameters, List<String> names, double s, Scope scope) {
        checkSparsity(s);
        if (scope == null) throw new IllegalArgumentException("scope: must not be null");
        if (names == null) throw new IllegalArgumentException("names: must not be null");
        PruningMask.requireFinite(parameters, names);
        if (scope == Scope.LAYER) {
            Map<String, Double> each = new LinkedHashMap<>();
            for (String n : names) each.put(n, s);
            return mask(parameters, each);
        }
        long total = 0;
        for (String n : names) total += PruningMask.require(parameters, n).size();
        double[] score = new double[Math.toIntExact(total)];          // |W| of all layers, concatenated
        int off = 0;
        for (String n : names) {
            float[] w = parameters.get(n).toFloatArray();
            for (int i = 0; i < w.length; i++) score[off + i] = Math.abs(w[i]);
            off += w.length;
        }
        boolean[] keep = new boolean[score.length];
        Arrays.fill(keep, true);
        Ranking.pruneSmallest(score, 0, score.length, Ranking.count(s, total), keep);
        PruningMask m = new PruningMask();
        off = 0;
        for (String n : names) {
            FloatTensor w = parameters.get(n);
            m.put(n, w.dim(0), w.dim(1), Arrays.copyOfRange(keep, off, off + w.size()));
            off += w.size();
        }
        return m;
    }

    /** The layer-wise magnitude mask with a sparsity per layer (e.g. from {@link Sensitivity#allocate}). */
    public static PruningMask mask(Map<String, FloatTensor> parameters, Map<String, Double> layerSparsity) {
        for (Double v : layerSparsity.values()) checkSparsity(v == null ? Double.NaN : v);
        PruningMask.requireFinite(parameters, layerSparsity.keySet());
        PruningMask m = new PruningMask();
        for (Map.Entry<String, Double> e : layerSparsity.entrySet()) {
            FloatTensor w = PruningMask.require(parameters, e.getKey());
            double[] score = absolute(w);
            boolean[] keep = new boolean[score.length];
            Arrays.fill(keep, true);
            Ranking.pruneSmallest(score, 0, score.length, Ranking.count(e.getValue(), score.length), keep);
            m.put(e.getKey(), w.dim(0), w.dim(1), keep);
        }
        return m;
    }

    /** The N:M magnitude mask: the N largest |W| of every M consecutive inputs of each row. */
    public static PruningMask mask(Map<String, FloatTensor> parameters, List<String> names, NmPattern pattern) {
        if (pattern == null) throw new IllegalArgumentException("pattern: must not be null");
        PruningMask.requireFinite(parameters, names);
        PruningMask m = new PruningMask();
        for (String n : names) pattern.checkWidth(parameters.get(n).dim(1), n);
        for (String n : names) {
            FloatTensor w = parameters.get(n);
            m.put(n, w.dim(0), w.dim(1), pattern.select(absolute(w), w.dim(0), w.dim(1)));
        }
        return m;
    }

    /** Prunes every linear weight of {@code model} in place at sparsity {@code s}; returns the mask. */
    public static PruningMask prune(Gpt model, double s, Scope scope) {
        PruningMask m = mask(model.parameters(), LinearLayers.names(model), s, scope);
        m.apply(model.parameters());
        return m;
    }

    /** Prunes every linear weight of {@code model} in place to the N:M pattern by magnitude; returns the mask. */
    public static PruningMask prune(Gpt model, NmPattern pattern) {
        PruningMask m = mask(model.parameters(), LinearLayers.names(model), pattern);
        m.apply(model.parameters());
        return m;
    }

    private static double[] absolute(FloatTensor w) {
        float[] v = w.toFloatArray();
        double[] s = new double[v.length];
        for (int i = 0; i < v.length; i++) s[i] = Math.abs(v[i]);
        return s;
    }

    // ------------------------------------------------------------------------------------------------
    // gradual (AGP)

    /**
     * The AGP target at pruning step t of n: {@code s_f + (s_i - s_f) (1 - t/n)^3} (s_i at t = 0, s_f at t = n,
     * fast at first and flattening out).
     */
    public static double agpSparsity(int t, int n, double initial, double target) {
        if (n < 1) throw new IllegalArgumentException("n: pruning steps must be >= 1 but was " + n);
        if (t < 0 || t > n) throw new IllegalArgumentException("t: must be in [0, n = " + n + "] but was " + t);
        double r = 1.0 - (double) t / n;
        return target + (initial - target) * r * r * r;
    }

    /**
     * A gradual schedule.
     *
     * @param initialSparsity s_i, in [0, 1)
     * @param finalSparsity   s_f, in [s_i, 1)
     * @param pruningSteps    n &gt;= 1: pruning happens at t = 0, 1, ..., n
     * @param finetuneSteps   optimiser steps after each pruning step, &gt;= 0
     * @param scope           layer-wise or global magnitude
     */
    public record Gradual(double initialSparsity, double finalSparsity, int pruningSteps, int finetuneSteps, Scope scope) {
        public Gradual {
            checkSparsity(initialSparsity);
            checkSparsity(finalSparsity);
            if (finalSparsity < initialSparsity) {
                throw new IllegalArgumentException("finalSparsity " + finalSparsity + " is below initialSparsity "
                        + initialSparsity + "; AGP only raises the sparsity");
            }
            if (pruningSteps < 1) throw new IllegalArgumentException("pruningSteps " + pruningSteps + " must be >= 1");
            if (finetuneSteps < 0) throw new IllegalArgumentException("finetuneSteps " + finetuneSteps + " must be >= 0");
            if (scope == null) throw new IllegalArgumentException("scope: must not be null");
        }
    }

    /**
     * One pruning step of a gradual run.
     *
     * @param t              pruning step, 0..n
     * @param target         s_t of the AGP schedule
     * @param sparsity       the mask's sparsity after this step
     * @param finetuneLosses the training losses of the fine-tuning steps that followed (nats/token)
     */
    public record Step(int t, double target, double sparsity, List<Double> finetuneLosses) {}

    /**
     * Gradual magnitude pruning of every linear weight of {@code model}, in place: for t = 0..n prune to s_t,
     * then fine-tune {@code schedule.finetuneSteps()} steps on {@code train} with the mask held (a new trainer
     * from {@code finetune}'s loop settings, seed + t). Returns the steps and leaves the final mask in the
     * last step's model; {@link #finalMask} recomputes it.
     *
     * @param finetune batch, sequence length, learning rates, seed of the fine-tuning phases (its steps are
     *                 replaced by {@code schedule.finetuneSteps()}, its warm-up capped at them)
     */
    public static List<Step> gradual(Gpt model, int[] train, TrainConfig finetune, Gradual schedule) {
        if (model == null || schedule == null) throw new IllegalArgumentException("model, schedule: must not be null");
        if (schedule.finetuneSteps() > 0 && (train == null || finetune == null)) {
            throw new IllegalArgumentException("train, finetune: needed for fine-tuning steps");
        }
        List<Step> steps = new ArrayList<>();
        int n = schedule.pruningSteps();
        for (int t = 0; t <= n; t++) {
            double target = agpSparsity(t, n, schedule.initialSparsity(), schedule.finalSparsity());
            PruningMask m = prune(model, target, schedule.scope());
            List<Double> losses = new ArrayList<>();
            int k = schedule.finetuneSteps();
            if (k > 0) {
                TrainConfig c = finetune.withSteps(k, Math.min(finetune.warmupSteps(), k)).withSeed(finetune.seed() + t);
                for (Trainer.StepRecord r : MaskedObjective.finetune(model, m, train, c)) losses.add(r.loss());
            }
            steps.add(new Step(t, target, m.sparsity(), List.copyOf(losses)));
        }
        return steps;
    }

    /** The mask of the current zeros of {@code model}'s linear weights (e.g. after {@link #gradual}). */
    public static PruningMask finalMask(Gpt model) {
        return PruningMask.ofNonzeros(model.parameters(), LinearLayers.names(model));
    }
}
