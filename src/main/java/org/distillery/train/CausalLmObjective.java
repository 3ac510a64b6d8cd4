package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.model.Gpt;

import java.nio.file.Path;

/**
 * Next-token prediction for a {@link Gpt} on a token stream (the nanoGPT objective). Micro-batch number
 * i is the B windows of T + 1 tokens with indices [iB, (i + 1)B) of {@link TokenBatches} (seed = the
 * config's seed); its loss is the model's mean cross-entropy over the B*T predicted tokens. Validation
 * loss = mean of the losses of evalBatches fixed batches, windows 0.. of a {@link TokenBatches} with
 * seed + 1. State: the {@link TrainConfig} and fingerprints of the two streams.
 */
public final class CausalLmObjective implements TrainingObjective {
    /** {@link #kind()}. */
    public static final String KIND = "causal-lm";

    private final TrainConfig config;
    private final Gpt model;
    private final int[] train, val;
    private final TokenBatches trainBatches, valBatches;
    private final int[] ids, targets;   // [B*T] each

    /**
     * A new model initialised from {@code config.seed()} (maxB = B, maxT = T).
     *
     * @param train training token stream, length &gt;= T + 1, ids in [0, vocab_size)
     * @param val   validation token stream (length &gt;= T + 1), or null for no validation
     */
    public CausalLmObjective(TrainConfig config, int[] train, int[] val) {
        this(config, train, val, null);
    }

    /**
     * @param model the model to train (e.g. loaded from a checkpoint), or null for a new one from
     *              {@code config.seed()}; its maxB and maxT must be at least B and T
     */
    public CausalLmObjective(TrainConfig config, int[] train, int[] val, Gpt model) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        this.config = config;
        int vocab = config.model().vocabSize();
        checkTokens("train", train, vocab);
        if (val != null) checkTokens("val", val, vocab);
        this.train = train;
        this.val = val;
        this.trainBatches = new TokenBatches(train, config.seqLen(), config.seed());
        this.valBatches = val == null ? null : new TokenBatches(val, config.seqLen(), config.seed() + 1);
        if (model != null && (model.maxBatch() < config.batchSize() || model.maxSequenceLength() < config.seqLen())) {
            throw new IllegalArgumentException("model: built for batches up to " + model.maxBatch() + " x "
                    + model.maxSequenceLength() + " but the config needs " + config.batchSize() + " x " + config.seqLen());
        }
        this.model = model != null ? model : new Gpt(config.model(), config.batchSize(), config.seqLen(), config.seed());
        this.ids = new int[config.batchSize() * config.seqLen()];
        this.targets = new int[ids.length];
    }

    private static void checkTokens(String name, int[] tokens, int vocab) {
        if (tokens == null) throw new IllegalArgumentException(name + ": must not be null");
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException(name + ": token " + tokens[i] + " at position " + i
                        + " is outside [0, vocab_size = " + vocab + ")");
            }
        }
    }

    /**
     * The restorer of a checkpoint of this objective: checks the streams against the stored fingerprints
     * (errors name the stream, e.g. "train: the token stream (length ...) differs ..."), loads the model.
     */
    public static Restorer restorer(int[] train, int[] val) {
        return (modelDir, stored) -> {
            Path stateFile = modelDir.getParent().resolve(Trainer.STATE_FILE);
            TrainConfig config = TrainConfig.fromJson(stored.get("config"), stateFile.toString());
            if (train == null) throw new IllegalArgumentException("train: must not be null");
            Fingerprints.check("train", "token stream", Fingerprints.of(train), stored.get("train_tokens"), stateFile);
            if (val != null) {
                Fingerprints.check("val", "token stream", Fingerprints.of(val), stored.get("val_tokens"), stateFile);
            }
            Gpt model = Gpt.load(modelDir, config.batchSize(), config.seqLen());
            return new CausalLmObjective(config, train, val, model);
        };
    }

    @Override
    public double forwardBackward(MicroBatch batch) {
        int b = config.batchSize(), t = config.seqLen();
        prepare(batch);
        double loss = model.forward(ids, targets, b, t);
        if (Double.isFinite(loss)) model.backward();
        return loss;
    }

    /**
     * Fills {@link #inputIds()} and {@link #targets()} with micro-batch {@code batch}, the data
     * {@link #forwardBackward} trains on (a distillation objective reuses it).
     */
    public void prepare(MicroBatch batch) {
        trainBatches.fill(batch.index() * config.batchSize(), config.batchSize(), ids, targets);
    }

    /** The prepared input ids, [B*T] (a live buffer). */
    public int[] inputIds() { return ids; }

    /** The prepared next-token targets, [B*T] (a live buffer). */
    public int[] targets() { return targets; }

    @Override
    public double validationLoss() {
        if (valBatches == null) throw new IllegalStateException("validationLoss: this objective has no validation stream");
        int b = config.batchSize(), t = config.seqLen();
        int[] vi = new int[b * t], vt = new int[b * t];
        double sum = 0;
        for (int k = 0; k < config.evalBatches(); k++) {
            valBatches.fill((long) k * b, b, vi, vt);
            sum += model.forward(vi, vt, b, t);
        }
        return sum / config.evalBatches();
    }

    @Override
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.set("config", config.toJson());
        o.set("train_tokens", Fingerprints.of(train));
        if (val != null) o.set("val_tokens", Fingerprints.of(val));
        return o;
    }

    /** The state of a format-1 (GPT-only) checkpoint's {@code trainer.json}, as {@link #state()} writes it. */
    static ObjectNode stateOfFormat1(JsonNode old) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.set("config", old.get("config"));
        o.set("train_tokens", old.get("train_tokens"));
        if (old.hasNonNull("val_tokens")) o.set("val_tokens", old.get("val_tokens"));
        return o;
    }

    @Override
    public Gpt model() { return model; }

    @Override
    public String kind() { return KIND; }

    @Override
    public long itemsPerMicroBatch() { return (long) config.batchSize() * config.seqLen(); }

    @Override
    public String itemName() { return "tokens"; }

    @Override
    public boolean hasValidation() { return val != null; }

    public TrainConfig config() { return config; }
}
