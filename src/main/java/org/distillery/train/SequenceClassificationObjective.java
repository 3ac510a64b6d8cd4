package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.nio.file.Path;
import java.util.List;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.eval.LogitRows;
import org.distillery.model.BertClassifier;
import org.distillery.model.SequenceClassifier;
import org.distillery.model.Mlp;
import org.distillery.util.Seeds;

/**
 * Fine-tuning a {@link SequenceClassifier} ({@link BertClassifier}, {@link org.distillery.model.GptClassifier})
 * on labelled token sequences (e.g. Brown passages and their genres, {@link org.distillery.data.GenrePassages}).
 * Each example becomes one right-padded row of T ids as its {@link SequenceFraming} says (BERT:
 * {@code [CLS] tokens [SEP] [PAD]...}, tokens cut to T - 2; GPT: the tokens, cut to T). Examples are visited in epochs ({@link EpochOrder});
 * micro-batch i holds slots [iB, (i + 1)B); the model's dropout is reseeded with {@code Seeds.mix(seed, i)},
 * so everything is a pure function of (seed, i). Loss: mean cross-entropy over the B rows. Validation
 * loss: mean NLL over all validation examples in evaluation mode; {@link #validationAccuracy()} gives the
 * accuracy too.
 */
public final class SequenceClassificationObjective implements TrainingObjective {
    /** {@link #kind()}. */
    public static final String KIND = "sequence-classification";

    /**
     * @param batchSize B, &gt;= 1
     * @param seqLen    T (with the framing's specials, e.g. [CLS] and [SEP]), &gt;= 1 (and at least the framing's
     *                  {@link SequenceFraming#minLength()})
     * @param dropout   dropout during training (encoder and pooled output), in [0, 1)
     * @param seed      order and dropout seed
     */
    public record Options(int batchSize, int seqLen, double dropout, long seed) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (seqLen < 1) throw new IllegalArgumentException("seqLen: must be >= 1 but was " + seqLen);
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout: must be in [0, 1) but was " + dropout);
        }
    }

    private final SequenceClassifier model;
    private final List<int[]> trainX, valX;
    private final int[] trainY, valY;
    private final SequenceFraming framing;
    private final Options options;
    private final EpochOrder order;
    private final int[] ids, lengths, labels;     // [B*T], [B], [B]

    /**
     * A BERT classifier's objective ({@link SequenceFraming#bert}).
     *
     * @param vocab  the special ids ([CLS], [SEP], [PAD]); its size must be the model's vocab_size
     * @param valX   validation sequences, or null
     */
    public SequenceClassificationObjective(BertClassifier model, List<int[]> trainX, int[] trainY, List<int[]> valX,
                                           int[] valY, MaskedLmBatches.Vocabulary vocab, Options options) {
        this(model, trainX, trainY, valX, valY, bertFraming(model, vocab), options);
    }

    private static SequenceFraming bertFraming(BertClassifier model, MaskedLmBatches.Vocabulary vocab) {
        if (vocab == null) throw new IllegalArgumentException("vocab: must not be null");
        if (model != null && vocab.size() != model.vocabSize()) {
            throw new IllegalArgumentException("vocab: size " + vocab.size() + " differs from the model's vocab_size "
                    + model.vocabSize());
        }
        return SequenceFraming.bert(vocab);
    }

    /**
     * @param framing how an example becomes a row ({@link SequenceFraming#bert}, {@link SequenceFraming#plain})
     * @param valX    validation sequences, or null
     */
    public SequenceClassificationObjective(SequenceClassifier model, List<int[]> trainX, int[] trainY, List<int[]> valX,
                                           int[] valY, SequenceFraming framing, Options options) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        if (framing == null) throw new IllegalArgumentException("framing: must not be null");
        if (options.seqLen() < framing.minLength()) {
            throw new IllegalArgumentException("options: seqLen " + options.seqLen() + " is shorter than the "
                    + framing.name() + " framing's rows need (" + framing.minLength() + ")");
        }
        if (model.maxBatch() < options.batchSize() || model.maxSequenceLength() < options.seqLen()) {
            throw new IllegalArgumentException("model: built for batches up to " + model.maxBatch() + " x "
                    + model.maxSequenceLength() + " but the objective needs " + options.batchSize() + " x " + options.seqLen());
        }
        check("train", trainX, trainY, model.vocabSize(), model.classes());
        if ((valX == null) != (valY == null)) throw new IllegalArgumentException("valX, valY: give both or neither");
        if (valX != null) check("val", valX, valY, model.vocabSize(), model.classes());
        this.model = model;
        this.trainX = trainX;
        this.trainY = trainY;
        this.valX = valX;
        this.valY = valY;
        this.framing = framing;
        this.options = options;
        this.order = new EpochOrder(trainY.length, options.seed());
        this.ids = new int[options.batchSize() * options.seqLen()];
        this.lengths = new int[options.batchSize()];
        this.labels = new int[options.batchSize()];
    }

    private static void check(String name, List<int[]> xs, int[] ys, int vocab, int classes) {
        if (xs == null || ys == null || xs.isEmpty()) throw new IllegalArgumentException(name + "X, " + name + "Y: must not be null or empty");
        if (xs.size() != ys.length) {
            throw new IllegalArgumentException(name + "Y: " + ys.length + " labels for " + xs.size() + " sequences");
        }
        for (int i = 0; i < ys.length; i++) {
            if (ys[i] < 0 || ys[i] >= classes) {
                throw new IllegalArgumentException(name + "Y: label " + ys[i] + " of example " + i + " is outside [0, " + classes + ")");
            }
            for (int id : xs.get(i)) {
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException(name + "X: token " + id + " in example " + i + " is outside [0, " + vocab + ")");
                }
            }
        }
    }

    /** Writes example {@code x} as row r of ids/lengths, as the framing says. */
    private void row(int[] x, int r, int[] rowIds, int[] rowLengths) {
        int t = options.seqLen();
        rowLengths[r] = framing.write(x, rowIds, r * t, t);
    }

    /** Fills the micro-batch's rows and labels and reseeds the dropout; what {@link #forwardBackward} trains on. */
    public void prepare(MicroBatch batch) {
        int b = options.batchSize();
        for (int r = 0; r < b; r++) {
            int e = order.at(batch.index() * b + r);
            row(trainX.get(e), r, ids, lengths);
            labels[r] = trainY[e];
        }
        model.train();
        if (options.dropout() > 0) model.setDropout(options.dropout(), Seeds.mix(options.seed(), batch.index()));
    }

    @Override
    public double forwardBackward(MicroBatch batch) {
        prepare(batch);
        double loss = model.forward(ids, lengths, labels, options.batchSize(), options.seqLen());
        if (Double.isFinite(loss)) model.backward();
        return loss;
    }

    @Override
    public double validationLoss() {
        return validationAccuracy().meanNll();
    }

    /** Accuracy and mean NLL on the validation examples (evaluation mode; training mode restored after). */
    public ClassificationAccuracy.Result validationAccuracy() {
        if (valX == null) throw new IllegalStateException("validation: this objective has no validation examples");
        return accuracy(valX, valY);
    }

    /** Accuracy and mean NLL of the model on any labelled sequences, in batches of B, evaluation mode. */
    public ClassificationAccuracy.Result accuracy(List<int[]> xs, int[] ys) {
        check("eval", xs, ys, model.vocabSize(), model.classes());
        int b = options.batchSize(), t = options.seqLen();
        int[] vi = new int[b * t], vl = new int[b];
        double nll = 0;
        int correct = 0;
        model.eval();
        try {
            for (int s = 0; s < ys.length; s += b) {
                int m = Math.min(b, ys.length - s);
                for (int r = 0; r < m; r++) row(xs.get(s + r), r, vi, vl);
                model.forward(Arrays.copyOf(vi, m * t), Arrays.copyOf(vl, m), null, m, t);
                var z = model.logits();                                           // [m, C]
                for (int r = 0; r < m; r++) {
                    nll += LogitRows.nll(z, r, ys[s + r]);
                    if (Mlp.argmax(z, r) == ys[s + r]) correct++;
                }
            }
        } finally {
            model.train();
        }
        return new ClassificationAccuracy.Result(ys.length, correct, nll / ys.length);
    }

    @Override
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.putObject("options").put("batch_size", options.batchSize()).put("seq_len", options.seqLen())
                .put("dropout", options.dropout()).put("seed", options.seed());
        o.put("classes", model.classes());
        o.put("framing", framing.name());
        o.set("train", fingerprint(trainX, trainY));
        if (valX != null) o.set("val", fingerprint(valX, valY));
        return o;
    }

    private static ObjectNode fingerprint(List<int[]> xs, int[] ys) {
        int total = 0;
        for (int[] x : xs) total += x.length + 1;
        int[] flat = new int[total + ys.length];
        int k = 0;
        for (int[] x : xs) {
            flat[k++] = x.length;
            System.arraycopy(x, 0, flat, k, x.length);
            k += x.length;
        }
        System.arraycopy(ys, 0, flat, k, ys.length);
        return Fingerprints.of(flat);
    }

    /** Loads a classifier's checkpoint directory for a restore, built for batches of B x T. */
    @FunctionalInterface
    public interface Loader {
        SequenceClassifier load(Path dir, int maxB, int maxT);
    }

    /** The restorer of a BERT classifier's checkpoint: options from the stored state, the model from the checkpoint. */
    public static Restorer restorer(List<int[]> trainX, int[] trainY, List<int[]> valX, int[] valY,
                                    MaskedLmBatches.Vocabulary vocab) {
        return restorer(trainX, trainY, valX, valY, SequenceFraming.bert(vocab), BertClassifier::load);
    }

    /** The restorer of any classifier's checkpoint: options from the stored state, the model by {@code loader}. */
    public static Restorer restorer(List<int[]> trainX, int[] trainY, List<int[]> valX, int[] valY,
                                    SequenceFraming framing, Loader loader) {
        return (modelDir, stored) -> {
            JsonNode o = stored.path("options");
            Options options = new Options(o.path("batch_size").asInt(), o.path("seq_len").asInt(), o.path("dropout").asDouble(),
                    o.path("seed").asLong());
            return new SequenceClassificationObjective(loader.load(modelDir, options.batchSize(), options.seqLen()),
                    trainX, trainY, valX, valY, framing, options);
        };
    }

    @Override
    public SequenceClassifier model() { return model; }

    @Override
    public String kind() { return KIND; }

    @Override
    public long itemsPerMicroBatch() { return options.batchSize(); }

    @Override
    public String itemName() { return "examples"; }

    @Override
    public boolean hasValidation() { return valX != null; }

    public Options options() { return options; }
}
