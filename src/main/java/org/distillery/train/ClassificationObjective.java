package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.data.ImageJitter;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.model.Mlp;
import org.distillery.util.Seeds;


/**
 * Classification for an {@link Mlp} (cross-entropy on labelled examples), with the model's dropout and
 * optional image jitter ({@link ImageJitter}), as Hinton et al.'s MNIST nets. The examples are visited in
 * epochs: epoch e is a permutation of the n training examples (Fisher-Yates from
 * {@code new SplittableRandom(Seeds.mix(seed, e))}), and example slot p = iB + r of micro-batch number i
 * is example perm_{p / n}[p mod n]. The micro-batch's inputs are jittered with seed
 * {@code Seeds.mix(seed ^ JITTER_STREAM, i)} (when maxShift &gt; 0) and the model's dropout masks are
 * reseeded with {@code Seeds.mix(seed ^ DROPOUT_STREAM, i)}, so all randomness is a pure function of
 * (seed, i). Loss = the model's mean cross-entropy over the B examples. Validation loss = mean NLL over
 * all validation examples in evaluation mode ({@link ClassificationAccuracy}).
 */
public final class ClassificationObjective implements TrainingObjective {
    /** {@link #kind()}. */
    public static final String KIND = "classification";
    private static final long JITTER_STREAM = 0x6A6974746572L, DROPOUT_STREAM = 0x64726F70L;

    /**
     * @param batchSize B, examples per micro-batch, in [1, n]
     * @param rows      image height for jitter (rows * cols = the model's input width), or 0 without jitter
     * @param cols      image width for jitter, or 0 without jitter
     * @param maxShift  jitter: largest shift in pixels per axis, &gt;= 0 (0 = none)
     * @param seed      order, jitter and dropout seed
     */
    public record Options(int batchSize, int rows, int cols, int maxShift, long seed) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (maxShift < 0) throw new IllegalArgumentException("maxShift: must be >= 0 (0 = no jitter) but was " + maxShift);
            if (maxShift > 0 && (rows < 1 || cols < 1)) {
                throw new IllegalArgumentException("rows, cols: jitter (maxShift = " + maxShift + ") needs an image shape"
                        + " but was " + rows + " x " + cols);
            }
        }

        /** Options without jitter. */
        public static Options plain(int batchSize, long seed) {
            return new Options(batchSize, 0, 0, 0, seed);
        }
    }

    private final Mlp model;
    private final float[] trainX, valX;
    private final int[] trainY, valY;
    private final Options options;
    private final int width;
    private final float[] x, jittered;    // [B, width] each
    private final int[] y;                // [B]
    private final EpochOrder order;

    /**
     * @param model  the classifier (maxB &gt;= B); its dropout probabilities are used as set
     * @param trainX training inputs, row-major [n, inputWidth]
     * @param trainY training labels [n], in [0, classes)
     * @param valX   validation inputs, or null for no validation
     * @param valY   validation labels, or null
     */
    public ClassificationObjective(Mlp model, float[] trainX, int[] trainY, float[] valX, int[] valY, Options options) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        this.width = model.inputWidth();
        checkData("train", trainX, trainY, model);
        if ((valX == null) != (valY == null)) throw new IllegalArgumentException("valX, valY: give both or neither");
        if (valX != null) checkData("val", valX, valY, model);
        if (options.batchSize() > model.maxBatch() || options.batchSize() > trainY.length) {
            throw new IllegalArgumentException("options.batchSize: " + options.batchSize() + " must be <= the model's maxB = "
                    + model.maxBatch() + " and <= the training examples n = " + trainY.length);
        }
        if (options.maxShift() > 0 && options.rows() * options.cols() != width) {
            throw new IllegalArgumentException("options.rows, cols: " + options.rows() + " x " + options.cols()
                    + " is not the model's input width " + width);
        }
        this.model = model;
        this.trainX = trainX;
        this.trainY = trainY;
        this.valX = valX;
        this.valY = valY;
        this.options = options;
        this.x = new float[options.batchSize() * width];
        this.jittered = new float[x.length];
        this.y = new int[options.batchSize()];
        this.order = new EpochOrder(trainY.length, options.seed());
    }

    private static void checkData(String name, float[] xs, int[] ys, Mlp model) {
        if (ys == null || ys.length == 0) throw new IllegalArgumentException(name + "Y: must not be null or empty");
        if (xs == null || xs.length != (long) ys.length * model.inputWidth()) {
            throw new IllegalArgumentException(name + "X: length must be " + name + "Y.length * inputWidth = "
                    + (long) ys.length * model.inputWidth() + " but was " + (xs == null ? "null" : xs.length));
        }
        for (int i = 0; i < ys.length; i++) {
            if (ys[i] < 0 || ys[i] >= model.classes()) {
                throw new IllegalArgumentException(name + "Y: label " + ys[i] + " at example " + i + " is outside [0, "
                        + model.classes() + ")");
            }
        }
    }

    /**
     * The restorer of a checkpoint of this objective: options from the stored state, the model from the
     * checkpoint (with the maxB it had: validation runs in batches of maxB), the data must be the run's (checked
     * by fingerprint).
     */
    public static Restorer restorer(float[] trainX, int[] trainY, float[] valX, int[] valY) {
        return (modelDir, stored) -> {
            JsonNode o = stored.path("options");
            Options options = new Options(o.path("batch_size").asInt(), o.path("rows").asInt(), o.path("cols").asInt(),
                    o.path("max_shift").asInt(), o.path("seed").asLong());
            int maxB = stored.path("model_max_batch").asInt(options.batchSize());
            return new ClassificationObjective(Mlp.load(modelDir, maxB, 0), trainX, trainY, valX, valY, options);
        };
    }

    /** The training example at slot {@code p} of the run (epoch p / n, position p mod n; see {@link EpochOrder}). */
    public int exampleAt(long p) {
        return order.at(p);
    }

    @Override
    public double forwardBackward(MicroBatch batch) {
        prepare(batch);
        double loss = model.forward(inputs(), y, options.batchSize());
        if (Double.isFinite(loss)) model.backward();
        return loss;
    }

    /**
     * Fills {@link #inputs()} (jittered when configured) and {@link #labels()} with micro-batch
     * {@code batch}, puts the model in training mode and reseeds its dropout: what {@link #forwardBackward}
     * trains on (a distillation objective reuses it).
     */
    public void prepare(MicroBatch batch) {
        int b = options.batchSize();
        for (int r = 0; r < b; r++) {
            int e = exampleAt(batch.index() * b + r);
            System.arraycopy(trainX, e * width, x, r * width, width);
            y[r] = trainY[e];
        }
        if (options.maxShift() > 0) {
            ImageJitter.jitter(x, jittered, b, options.rows(), options.cols(), options.maxShift(),
                    Seeds.mix(options.seed() ^ JITTER_STREAM, batch.index()));
        }
        model.train();
        model.setDropout(model.inputDropout(), model.hiddenDropout(), Seeds.mix(options.seed() ^ DROPOUT_STREAM, batch.index()));
    }

    /** The prepared inputs, [B, inputWidth] row-major (a live buffer). */
    public float[] inputs() { return options.maxShift() > 0 ? jittered : x; }

    /** The prepared labels, [B] (a live buffer). */
    public int[] labels() { return y; }

    @Override
    public double validationLoss() {
        return validation().meanNll();
    }

    /** Accuracy and mean NLL on the validation examples (evaluation mode). */
    public ClassificationAccuracy.Result validation() {
        if (valX == null) throw new IllegalStateException("validation: this objective has no validation examples");
        return ClassificationAccuracy.evaluate(model, valX, valY);
    }

    @Override
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.putObject("options").put("batch_size", options.batchSize()).put("rows", options.rows())
                .put("cols", options.cols()).put("max_shift", options.maxShift()).put("seed", options.seed());
        o.put("dropout_input", model.inputDropout()).put("dropout_hidden", model.hiddenDropout());
        o.put("model_max_batch", model.maxBatch());     // the validation batch size
        o.set("train_inputs", Fingerprints.of(trainX));
        o.set("train_labels", Fingerprints.of(trainY));
        if (valX != null) {
            o.set("val_inputs", Fingerprints.of(valX));
            o.set("val_labels", Fingerprints.of(valY));
        }
        return o;
    }

    @Override
    public Mlp model() { return model; }

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
