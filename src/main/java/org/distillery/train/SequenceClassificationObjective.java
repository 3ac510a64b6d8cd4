package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import org.distillery.model.Bert;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.eval.LogitRows;
import org.distillery.model.BertClassifier;
import org.distillery.model.Mlp;
import org.distillery.util.Seeds;

/**
 * Fine-tuning a {@link BertClassifier} on labelled token sequences (e.g. Brown passages and their genres,
 * {@link org.distillery.data.GenrePassages}). Each example becomes one row {@code [CLS] tokens [SEP]}
 * (tokens cut to T - 2), right-padded with [PAD] to T. Examples are visited in epochs ({@link EpochOrder});
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
     * @param seqLen    T (with [CLS] and [SEP]), &gt;= 3
     * @param dropout   dropout during training (encoder and pooled output), in [0, 1)
     * @param seed      order and dropout seed
     */
    public record Options(int batchSize, int seqLen, double dropout, long seed) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (seqLen < 3) throw new IllegalArgumentException("seqLen: must be >= 3 ([CLS], a token, [SEP]) but was " + seqLen);
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout: must be in [0, 1) but was " + dropout);
        }
    }

    private final BertClassifier model;
    private final List<int[]> trainX, valX;
    private final int[] trainY, valY;
    private final MaskedLmBatches.Vocabulary vocab;
    private final Options options;
    private final EpochOrder order;
    private final int[] ids, lengths, labels;     // [B*T], [B], [B]

    /**
     * @param vocab  the special ids ([CLS], [SEP], [PAD]); its size must be the model's vocab_size
     * @param valX   validation sequences, or null
     */
    public SequenceClassificationObjective(BertClassifier model, List<int[]> trainX, int[] trainY, List<int[]> valX,
                                           int[] valY, MaskedLmBatches.Vocabulary vocab, Options options) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        if (vocab == null) throw new IllegalArgumentException("vocab: must not be null");
        Bert enc = model.encoder();
        if (vocab.size() != enc.config().vocabSize()) {
            throw new IllegalArgumentException("vocab: size " + vocab.size() + " differs from the model's vocab_size "
                    + enc.config().vocabSize());
        }
        if (enc.maxBatch() < options.batchSize() || enc.maxSequenceLength() < options.seqLen()) {
            throw new IllegalArgumentException("model: built for batches up to " + enc.maxBatch() + " x "
                    + enc.maxSequenceLength() + " but the objective needs " + options.batchSize() + " x " + options.seqLen());
        }
        check("train", trainX, trainY, vocab.size(), model.classes());
        if ((valX == null) != (valY == null)) throw new IllegalArgumentException("valX, valY: give both or neither");
        if (valX != null) check("val", valX, valY, vocab.size(), model.classes());
        this.model = model;
        this.trainX = trainX;
        this.trainY = trainY;
        this.valX = valX;
        this.valY = valY;
        this.vocab = vocab;
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

    /** Writes example {@code x} as row r of ids/lengths: [CLS] x[:T-2] [SEP] [PAD]... */
    private void row(int[] x, int r, int[] rowIds, int[] rowLengths) {
        int t = options.seqLen(), n = Math.min(x.length, t - 2), o = r * t;
        rowIds[o] = vocab.cls();
        System.arraycopy(x, 0, rowIds, o + 1, n);
        rowIds[o + n + 1] = vocab.sep();
        Arrays.fill(rowIds, o + n + 2, o + t, vocab.pad());
        rowLengths[r] = n + 2;
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
        check("eval", xs, ys, vocab.size(), model.classes());
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

    /** The restorer of a checkpoint of this objective: options from the stored state, the model from the checkpoint. */
    public static Restorer restorer(List<int[]> trainX, int[] trainY, List<int[]> valX, int[] valY,
                                    MaskedLmBatches.Vocabulary vocab) {
        return (modelDir, stored) -> {
            JsonNode o = stored.path("options");
            Options options = new Options(o.path("batch_size").asInt(), o.path("seq_len").asInt(), o.path("dropout").asDouble(),
                    o.path("seed").asLong());
            return new SequenceClassificationObjective(BertClassifier.load(modelDir, options.batchSize(), options.seqLen()),
                    trainX, trainY, valX, valY, vocab, options);
        };
    }

    @Override
    public BertClassifier model() { return model; }

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
