package org.distillery.prune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;
import org.distillery.quant.Gptq;

/**
 * The sequential block-by-block driver shared by {@link Wanda} and {@link SparseGpt}, as in their reference
 * code and in {@link Gptq#quantize}: for block l = 0..L-1, a statistic of each linear layer's inputs is
 * collected over all calibration windows by forwards of the model whose blocks 0..l-1 are already pruned
 * ({@link Gpt#linearInput}), then the layers are pruned. By default the four layers of a block share one
 * pass (the reference codes' order); with {@code trueSequential} they are pruned one after the other (c_attn;
 * attn.c_proj; mlp.c_fc; mlp.c_proj), each seeing the inputs of the partly pruned block.
 */
final class SequentialCalibration {
    private SequentialCalibration() {}

    /** A layer pruner working from a statistic S of the layer's calibration inputs. */
    interface LayerStep<S> {
        /** An empty statistic for a layer with {@code in} inputs. */
        S statistic(int in);

        /** Adds a batch of inputs x [rows, in]. */
        void add(S statistic, FloatTensor x);

        /** Prunes {@code weight} [out, in] in place; returns the keep flags and the relative output error (or NaN). */
        Outcome prune(String name, FloatTensor weight, S statistic);
    }

    /** A pruned layer's mask (true = kept, [out * in]) and relative output error (NaN when unknown). */
    record Outcome(boolean[] keep, double outputError) {}

    static final String[] KINDS = {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"};

    static <S> PruningResult run(Gpt model, List<int[]> windows, boolean trueSequential, LayerStep<S> step) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        int t = Gptq.checkWindows(windows, model);
        if (model.dropoutProbability() > 0) {
            throw new IllegalArgumentException("model: dropout is on (p = " + model.dropoutProbability() + "); switch it off"
                    + " (setDropout(0, seed)) for calibration");
        }
        List<int[]> batches = Gptq.batches(windows, model.maxBatch(), t);
        PruningMask mask = new PruningMask();
        List<PrunedLayer> report = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.train();                                            // keeps every layer's activations
        try {
            for (int l = 0; l < model.config().nLayer(); l++) {
                List<List<String>> stages = new ArrayList<>();
                List<String> all = new ArrayList<>();
                for (String k : KINDS) all.add("h." + l + "." + k);
                if (trueSequential) {
                    for (String n : all) stages.add(List.of(n));
                } else {
                    stages.add(all);
                }
                for (List<String> stage : stages) {
                    Map<String, S> stats = new LinkedHashMap<>();
                    for (String n : stage) stats.put(n, step.statistic(model.parameters().get(n).dim(1)));
                    for (int[] ids : batches) {
                        model.forward(ids, null, ids.length / t, t);
                        for (Map.Entry<String, S> e : stats.entrySet()) step.add(e.getValue(), model.linearInput(e.getKey()));
                    }
                    for (Map.Entry<String, S> e : stats.entrySet()) {
                        long t0 = System.nanoTime();
                        FloatTensor w = model.parameters().get(e.getKey());
                        Outcome o;
                        try {
                            o = step.prune(e.getKey(), w, e.getValue());
                        } catch (IllegalArgumentException | IllegalStateException ex) {
                            String msg = e.getKey() + ": " + ex.getMessage();
                            throw ex instanceof IllegalStateException ? new IllegalStateException(msg, ex)
                                    : new IllegalArgumentException(msg, ex);
                        }
                        mask.put(e.getKey(), w.dim(0), w.dim(1), o.keep());
                        report.add(new PrunedLayer(e.getKey(), w.dim(0), w.dim(1), mask.pruned(e.getKey()),
                                mask.sparsity(e.getKey()), o.outputError(), (System.nanoTime() - t0) / 1e9));
                    }
                }
            }
        } finally {
            if (!wasTraining) model.eval();
        }
        return new PruningResult(mask, report);
    }
}
