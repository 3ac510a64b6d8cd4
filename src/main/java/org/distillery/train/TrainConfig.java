package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfConfig;


/**
 * The whole configuration of a GPT {@link Trainer} run (causal language modelling, {@link CausalLmObjective}):
 * the model, the batch shape, the seed and the loop's hyperparameters ({@link #loop()}); serialised whole
 * into every checkpoint's {@code trainer.json} and used as the {@code train} object of the run files of
 * {@code ./lab train}. AdamW uses betas (0.9, 0.95) and eps 1e-8 (nanoGPT's), weight decay on every
 * tensor except biases and LayerNorm gains ({@link AdamW#DECAY_EXCEPT_BIAS_AND_NORM}).
 *
 * @param model              the GPT-2 configuration of the model trained from scratch (init seed = {@code seed})
 * @param batchSize          B, sequences per micro-batch, &gt;= 1
 * @param seqLen             T, tokens per sequence, in [1, n_positions]
 * @param steps              optimiser steps of the run, &gt;= 1
 * @param lrMax              peak learning rate, finite and &gt; 0
 * @param lrMin              final learning rate of the cosine decay, in (0, lrMax] (AdamW needs lr &gt; 0)
 * @param warmupSteps        linear warm-up steps, in [0, steps]
 * @param weightDecay        decoupled weight decay, finite and &gt;= 0
 * @param gradClip           clip the global gradient norm to this, finite and &gt;= 0 (0 = no clipping)
 * @param gradAccumSteps     micro-batches per optimiser step, &gt;= 1 (tokens per step = accum * B * T)
 * @param seed               model init, training-window and validation-window seed
 * @param evalInterval       validation loss every this many steps and at the last step, &gt;= 0 (0 = never)
 * @param evalBatches        validation batches (of B x T) per evaluation, &gt;= 1
 * @param checkpointInterval checkpoint every this many steps and at the last step, &gt;= 0 (0 = last step
 *                           only); only when the trainer has a run directory
 * @param keepCheckpoints    how many of the newest checkpoints to keep on disk, &gt;= 1
 * @param freezePattern      {@link NamePattern}: the parameters whose name it matches are frozen; "" freezes nothing
 */
public record TrainConfig(Gpt2Config model, int batchSize, int seqLen, int steps, double lrMax, double lrMin,
                          int warmupSteps, double weightDecay, double gradClip, int gradAccumSteps, long seed,
                          int evalInterval, int evalBatches, int checkpointInterval, int keepCheckpoints,
                          String freezePattern) {

    public static final double BETA1 = LoopConfig.BETA1, BETA2 = LoopConfig.BETA2, EPS = LoopConfig.EPS;

    public TrainConfig {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
        if (seqLen < 1 || seqLen > model.nPositions()) {
            throw new IllegalArgumentException("seqLen: must be in [1, n_positions = " + model.nPositions() + "] but was "
                    + seqLen);
        }
        if (evalBatches < 1) throw new IllegalArgumentException("evalBatches: must be >= 1 but was " + evalBatches);
        new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);     // validates the loop's fields
    }

    /**
     * Defaults for {@code model}: B = 8, T = min(64, n_positions), 1000 steps, lr 1e-3 -&gt; 1e-4 after 100
     * warm-up steps, weight decay 0.1, clip 1.0, no accumulation, seed 0, validation every 100 steps over
     * 8 batches, checkpoints every 500 steps (2 kept), nothing frozen.
     */
    public static TrainConfig defaults(Gpt2Config model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return new TrainConfig(model, 8, Math.min(64, model.nPositions()), 1000, 1e-3, 1e-4, 100, 0.1, 1.0, 1, 0L,
                100, 8, 500, 2, "");
    }

    /** The same run for another model (e.g. a student of the same batch shape); T must fit its n_positions. */
    public TrainConfig withModel(Gpt2Config newModel) {
        return new TrainConfig(newModel, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withBatch(int b, int t) {
        return new TrainConfig(model, b, t, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, seed,
                evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    /** Steps and warm-up together (warm-up must not exceed the steps). */
    public TrainConfig withSteps(int newSteps, int warmup) {
        return new TrainConfig(model, batchSize, seqLen, newSteps, lrMax, lrMin, warmup, weightDecay, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withLr(double max, double min) {
        return new TrainConfig(model, batchSize, seqLen, steps, max, min, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withWeightDecay(double wd) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, wd, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withGradClip(double clip) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, clip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withGradAccumSteps(int accum) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                accum, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withSeed(long newSeed) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, newSeed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withEval(int interval, int batches) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, seed, interval, batches, checkpointInterval, keepCheckpoints, freezePattern);
    }

    public TrainConfig withCheckpoints(int interval, int keep) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, interval, keep, freezePattern);
    }

    public TrainConfig withFreezePattern(String regex) {
        return new TrainConfig(model, batchSize, seqLen, steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip,
                gradAccumSteps, seed, evalInterval, evalBatches, checkpointInterval, keepCheckpoints, regex);
    }

    /** The model-independent part of this configuration, what the {@link Trainer} loop itself uses. */
    public LoopConfig loop() {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    /** The learning-rate schedule of this run. */
    public LrSchedule schedule() {
        return loop().schedule();
    }

    /** Tokens consumed per optimiser step: accum * B * T. */
    public long tokensPerStep() {
        return (long) gradAccumSteps * batchSize * seqLen;
    }

    /** AdamW hyperparameters at learning rate {@code lr}. */
    public AdamW.Options optimizerOptions(double lr) {
        return loop().optimizerOptions(lr);
    }

    /**
     * This configuration as JSON: the model under {@code "model"} as its {@code config.json} object, the
     * batch shape, seed and validation batches, then the loop's fields ({@link LoopConfig#toJson()}).
     */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.set("model", model.toJson());
        o.put("batch_size", batchSize);
        o.put("seq_len", seqLen);
        o.put("seed", seed);
        o.put("eval_batches", evalBatches);
        o.setAll(loop().toJson());
        return o;
    }

    /**
     * Reads {@link #toJson()}'s output.
     *
     * @param source where the JSON came from, for messages
     */
    public static TrainConfig fromJson(JsonNode o, String source) {
        if (o == null || !o.isObject()) throw new IllegalArgumentException(source + ": config is not a JSON object");
        HfConfig hc;
        try {
            hc = HfConfig.parse(source + " (config.model)", LoopConfig.field(o, "model", source).toString());
        } catch (CheckpointFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);      // the message names the source and the field
        }
        if (!(hc instanceof Gpt2Config model)) {
            throw new IllegalArgumentException(source + ": config.model has model_type " + hc.modelType() + "; need gpt2");
        }
        LoopConfig l = LoopConfig.fromJson(o, source);
        int batch = LoopConfig.intField(o, "batch_size", source), seqLen = LoopConfig.intField(o, "seq_len", source);
        long seed = LoopConfig.longField(o, "seed", source);
        int evalBatches = LoopConfig.intField(o, "eval_batches", source);
        try {
            return new TrainConfig(model, batch, seqLen, l.steps(), l.lrMax(), l.lrMin(), l.warmupSteps(), l.weightDecay(),
                    l.gradClip(), l.gradAccumSteps(), seed, l.evalInterval(), evalBatches, l.checkpointInterval(),
                    l.keepCheckpoints(), l.freezePattern());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }
}
