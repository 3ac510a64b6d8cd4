package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;


/**
 * The model-independent hyperparameters of a {@link Trainer} run: how long, the optimiser and its
 * schedule, accumulation, when to validate and checkpoint, what to freeze. What a batch is (sizes, data,
 * seeds) belongs to the {@link TrainingObjective}. AdamW uses betas (0.9, 0.95) and eps 1e-8 (nanoGPT's),
 * weight decay on every tensor except biases and normalisation gains ({@link AdamW#DECAY_EXCEPT_BIAS_AND_NORM}).
 * The JSON field names are those of {@link TrainConfig} (which holds one of these for a GPT run).
 *
 * @param steps              optimiser steps of the run, &gt;= 1
 * @param lrMax              peak learning rate, finite and &gt; 0
 * @param lrMin              final learning rate of the cosine decay, in (0, lrMax] (AdamW needs lr &gt; 0)
 * @param warmupSteps        linear warm-up steps, in [0, steps]
 * @param weightDecay        decoupled weight decay, finite and &gt;= 0
 * @param gradClip           clip the global gradient norm to this, finite and &gt;= 0 (0 = no clipping)
 * @param gradAccumSteps     micro-batches per optimiser step, &gt;= 1
 * @param evalInterval       validation loss every this many steps and at the last step, &gt;= 0 (0 = never)
 * @param checkpointInterval checkpoint every this many steps and at the last step, &gt;= 0 (0 = last step
 *                           only); only when the trainer has a run directory
 * @param keepCheckpoints    how many of the newest checkpoints to keep on disk, &gt;= 1
 * @param freezePattern      {@link NamePattern}: the parameters whose name it matches are frozen; "" freezes nothing
 */
public record LoopConfig(int steps, double lrMax, double lrMin, int warmupSteps, double weightDecay, double gradClip,
                         int gradAccumSteps, int evalInterval, int checkpointInterval, int keepCheckpoints,
                         String freezePattern) {

    public static final double BETA1 = 0.9, BETA2 = 0.95, EPS = 1e-8;

    public LoopConfig {
        if (steps < 1) throw new IllegalArgumentException("steps: must be >= 1 but was " + steps);
        if (!(lrMax > 0) || Double.isInfinite(lrMax)) {
            throw new IllegalArgumentException("lrMax: must be finite and > 0 but was " + lrMax);
        }
        if (!(lrMin > 0 && lrMin <= lrMax)) {
            throw new IllegalArgumentException("lrMin: must be in (0, lrMax = " + lrMax + "] but was " + lrMin);
        }
        if (warmupSteps < 0 || warmupSteps > steps) {
            throw new IllegalArgumentException("warmupSteps: must be in [0, steps = " + steps + "] but was " + warmupSteps);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay: must be finite and >= 0 but was " + weightDecay);
        }
        if (!(gradClip >= 0) || Double.isInfinite(gradClip)) {
            throw new IllegalArgumentException("gradClip: must be finite and >= 0 (0 = no clipping) but was " + gradClip);
        }
        if (gradAccumSteps < 1) throw new IllegalArgumentException("gradAccumSteps: must be >= 1 but was " + gradAccumSteps);
        if (evalInterval < 0) throw new IllegalArgumentException("evalInterval: must be >= 0 (0 = never) but was " + evalInterval);
        if (checkpointInterval < 0) {
            throw new IllegalArgumentException("checkpointInterval: must be >= 0 (0 = last step only) but was "
                    + checkpointInterval);
        }
        if (keepCheckpoints < 1) throw new IllegalArgumentException("keepCheckpoints: must be >= 1 but was " + keepCheckpoints);
        if (freezePattern == null) throw new IllegalArgumentException("freezePattern: must not be null (\"\" freezes nothing)");
        NamePattern.parse(freezePattern, "freezePattern");
    }

    /**
     * The defaults of {@link TrainConfig#defaults}: 1000 steps, lr 1e-3 -&gt; 1e-4 after 100 warm-up steps,
     * weight decay 0.1, clip 1.0, no accumulation, validation every 100 steps, checkpoints every 500 steps
     * (2 kept), nothing frozen.
     */
    public static LoopConfig defaults() {
        return new LoopConfig(1000, 1e-3, 1e-4, 100, 0.1, 1.0, 1, 100, 500, 2, "");
    }

    /** Steps and warm-up together (warm-up must not exceed the steps). */
    public LoopConfig withSteps(int newSteps, int warmup) {
        return new LoopConfig(newSteps, lrMax, lrMin, warmup, weightDecay, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    public LoopConfig withLr(double max, double min) {
        return new LoopConfig(steps, max, min, warmupSteps, weightDecay, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    public LoopConfig withWeightDecay(double wd) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, wd, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    public LoopConfig withGradClip(double clip) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, clip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    public LoopConfig withGradAccumSteps(int accum) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, accum, evalInterval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    /** Validation every {@code interval} steps (and at the last); 0 = never. */
    public LoopConfig withEvalInterval(int interval) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, interval,
                checkpointInterval, keepCheckpoints, freezePattern);
    }

    public LoopConfig withCheckpoints(int interval, int keep) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, evalInterval,
                interval, keep, freezePattern);
    }

    public LoopConfig withFreezePattern(String regex) {
        return new LoopConfig(steps, lrMax, lrMin, warmupSteps, weightDecay, gradClip, gradAccumSteps, evalInterval,
                checkpointInterval, keepCheckpoints, regex);
    }

    /** The learning-rate schedule of this run. */
    public LrSchedule schedule() {
        return new LrSchedule(lrMax, lrMin, warmupSteps, steps);
    }

    /** AdamW hyperparameters at learning rate {@code lr}. */
    public AdamW.Options optimizerOptions(double lr) {
        return new AdamW.Options(lr, BETA1, BETA2, EPS, weightDecay, gradClip);
    }

    /** This configuration as JSON (the field names of {@link TrainConfig#toJson()}). */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("steps", steps);
        o.put("lr_max", lrMax);
        o.put("lr_min", lrMin);
        o.put("warmup_steps", warmupSteps);
        o.put("weight_decay", weightDecay);
        o.put("grad_clip", gradClip);
        o.put("grad_accum_steps", gradAccumSteps);
        o.put("eval_interval", evalInterval);
        o.put("checkpoint_interval", checkpointInterval);
        o.put("keep_checkpoints", keepCheckpoints);
        o.put("freeze_pattern", freezePattern);
        return o;
    }

    /**
     * Reads {@link #toJson()}'s output (or a {@link TrainConfig} object: its other fields are ignored).
     *
     * @param source where the JSON came from, for messages
     */
    public static LoopConfig fromJson(JsonNode o, String source) {
        if (o == null || !o.isObject()) throw new IllegalArgumentException(source + ": config is not a JSON object");
        int steps = intField(o, "steps", source), warmup = intField(o, "warmup_steps", source);
        int accum = intField(o, "grad_accum_steps", source), eval = intField(o, "eval_interval", source);
        int every = intField(o, "checkpoint_interval", source), keep = intField(o, "keep_checkpoints", source);
        double lrMax = numberField(o, "lr_max", source), lrMin = numberField(o, "lr_min", source);
        double decay = numberField(o, "weight_decay", source), clip = numberField(o, "grad_clip", source);
        String freeze = textField(o, "freeze_pattern", source);
        try {
            return new LoopConfig(steps, lrMax, lrMin, warmup, decay, clip, accum, eval, every, keep, freeze);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /** Field {@code name} of {@code o}; an error naming the source and the field when it is missing or null. */
    static JsonNode field(JsonNode o, String name, String source) {
        JsonNode n = o.get(name);
        if (n == null || n.isNull()) throw new IllegalArgumentException(source + ": config has no field " + name);
        return n;
    }

    /** Field {@code name}, an integer in int range (not 8.5, "8" or 1e10). */
    static int intField(JsonNode o, String name, String source) {
        JsonNode n = field(o, name, source);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": field " + name + " must be an integer but was " + n);
        }
        return n.intValue();
    }

    /** Field {@code name}, an integer in long range. */
    static long longField(JsonNode o, String name, String source) {
        JsonNode n = field(o, name, source);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException(source + ": field " + name + " must be an integer but was " + n);
        }
        return n.longValue();
    }

    /** Field {@code name}, a number. */
    static double numberField(JsonNode o, String name, String source) {
        JsonNode n = field(o, name, source);
        if (!n.isNumber()) throw new IllegalArgumentException(source + ": field " + name + " must be a number but was " + n);
        return n.doubleValue();
    }

    /** Field {@code name}, a string. */
    static String textField(JsonNode o, String name, String source) {
        JsonNode n = field(o, name, source);
        if (!n.isTextual()) throw new IllegalArgumentException(source + ": field " + name + " must be a string but was " + n);
        return n.textValue();
    }
}
