package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.model.Bert;
import org.distillery.util.Seeds;


/**
 * Masked language modelling for a {@link Bert} (BERT's pre-training objective without next-sentence
 * prediction). Micro-batch number i is rows [iB, (i + 1)B) of the training {@link MaskedLmBatches}; its
 * loss is the model's mean cross-entropy over the masked positions of those rows. With dropout p &gt; 0
 * the model's dropout is set to (p, {@code Seeds.mix(seed, i)}) before each micro-batch, so the masks are
 * a pure function of (seed, i). Validation loss = mean cross-entropy over all masked positions of
 * evalBatches fixed batches (rows [0, evalBatches * B) of the validation batches), dropout off.
 */
public final class MaskedLmObjective implements TrainingObjective {
    /** {@link #kind()}. */
    public static final String KIND = "masked-lm";

    /**
     * @param batchSize   B, rows per micro-batch, &gt;= 1
     * @param evalBatches validation batches of B rows, &gt;= 1
     * @param dropout     BERT's hidden dropout during training, in [0, 1)
     * @param seed        dropout-mask seed
     */
    public record Options(int batchSize, int evalBatches, double dropout, long seed) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (evalBatches < 1) throw new IllegalArgumentException("evalBatches: must be >= 1 but was " + evalBatches);
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout: must be in [0, 1) but was " + dropout);
        }
    }

    private final Bert model;
    private final MaskedLmBatches train, val;
    private final Options options;
    private final int[] ids, lengths, labels;   // [B*T], [B], [B*T]

    /**
     * @param model the model to train; maxB &gt;= B and maxT &gt;= T; its vocabulary the batches' one
     * @param train training rows
     * @param val   validation rows (the same T), or null for no validation
     */
    public MaskedLmObjective(Bert model, MaskedLmBatches train, MaskedLmBatches val, Options options) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (train == null) throw new IllegalArgumentException("train: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        int t = train.seqLen(), b = options.batchSize();
        if (val != null && val.seqLen() != t) {
            throw new IllegalArgumentException("val: seqLen " + val.seqLen() + " differs from train's " + t);
        }
        if (model.maxBatch() < b || model.maxSequenceLength() < t) {
            throw new IllegalArgumentException("model: built for batches up to " + model.maxBatch() + " x "
                    + model.maxSequenceLength() + " but the objective needs " + b + " x " + t);
        }
        for (MaskedLmBatches m : val == null ? new MaskedLmBatches[] {train} : new MaskedLmBatches[] {train, val}) {
            if (m.vocabulary().size() != model.config().vocabSize()) {
                throw new IllegalArgumentException("train, val: vocabulary size " + m.vocabulary().size()
                        + " differs from the model's vocab_size " + model.config().vocabSize());
            }
        }
        this.model = model;
        this.train = train;
        this.val = val;
        this.options = options;
        this.ids = new int[b * t];
        this.lengths = new int[b];
        this.labels = new int[b * t];
    }

    /**
     * The restorer of a checkpoint of this objective: the options from the stored state, the model from
     * the checkpoint; the batches must be the ones of the run (checked through their {@link MaskedLmBatches#state()}).
     */
    public static Restorer restorer(MaskedLmBatches train, MaskedLmBatches val) {
        return (modelDir, stored) -> {
            JsonNode o = stored.path("options");
            Options options = new Options(o.path("batch_size").asInt(), o.path("eval_batches").asInt(),
                    o.path("dropout").asDouble(), o.path("seed").asLong());
            if (train == null) throw new IllegalArgumentException("train: must not be null");
            return new MaskedLmObjective(Bert.load(modelDir, options.batchSize(), train.seqLen()), train, val, options);
        };
    }

    @Override
    public double forwardBackward(MicroBatch batch) {
        int b = options.batchSize(), t = train.seqLen();
        prepare(batch);
        double loss = model.forward(ids, null, lengths, labels, b, t);
        if (Double.isFinite(loss)) model.backward();
        return loss;
    }

    /**
     * Fills {@link #inputIds()}, {@link #lengths()} and {@link #labels()} with micro-batch {@code batch} and
     * reseeds the model's dropout for it: what {@link #forwardBackward} trains on (a distillation objective
     * reuses it).
     */
    public void prepare(MicroBatch batch) {
        int b = options.batchSize();
        train.fill(batch.index() * b, b, ids, lengths, labels);
        if (options.dropout() > 0) model.setDropout(options.dropout(), Seeds.mix(options.seed(), batch.index()));
    }

    /** The prepared (masked) input ids, [B*T] (a live buffer). */
    public int[] inputIds() { return ids; }

    /** The prepared sequence lengths, [B] (a live buffer). */
    public int[] lengths() { return lengths; }

    /** The prepared MLM labels, [B*T], -100 where nothing is predicted (a live buffer). */
    public int[] labels() { return labels; }

    /** T, the sequence length of the batches. */
    public int seqLen() { return train.seqLen(); }

    /** Mean cross-entropy (nats) over the masked positions of the validation batches; leaves dropout off. */
    @Override
    public double validationLoss() {
        if (val == null) throw new IllegalStateException("validationLoss: this objective has no validation batches");
        if (options.dropout() > 0) model.setDropout(0, 0);
        int b = options.batchSize(), t = val.seqLen();
        int[] vi = new int[b * t], vl = new int[b], vy = new int[b * t];
        double sum = 0;
        long count = 0;
        for (int k = 0; k < options.evalBatches(); k++) {
            val.fill((long) k * b, b, vi, vl, vy);
            int masked = 0;
            for (int y : vy) if (y != Bert.IGNORE_INDEX) masked++;
            if (masked == 0) continue;
            sum += model.forward(vi, null, vl, vy, b, t) * masked;
            count += masked;
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    @Override
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.putObject("options").put("batch_size", options.batchSize()).put("eval_batches", options.evalBatches())
                .put("dropout", options.dropout()).put("seed", options.seed());
        o.set("train", train.state());
        if (val != null) o.set("val", val.state());
        return o;
    }

    @Override
    public Bert model() { return model; }

    @Override
    public String kind() { return KIND; }

    /** B*T input tokens (padding included). */
    @Override
    public long itemsPerMicroBatch() { return (long) options.batchSize() * train.seqLen(); }

    @Override
    public String itemName() { return "tokens"; }

    @Override
    public boolean hasValidation() { return val != null; }

    public Options options() { return options; }
}
