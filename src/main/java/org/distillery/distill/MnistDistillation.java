package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.distillery.data.DatasetFiles;
import org.distillery.data.Mnist;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Mlp;
import org.distillery.train.ClassificationObjective;
import org.distillery.train.LoopConfig;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;
import org.distillery.util.ArtifactCache;
import org.distillery.util.ProjectPaths;

/**
 * The MNIST experiments of Hinton, Vinyals and Dean (2015, "Distilling the Knowledge in a Neural Network",
 * section 3) on the shipped digits ({@link Mnist}: 8,004 training and 1,996 test images): a regularised
 * teacher (dropout, jitter), students trained from scratch or distilled with {@link Distiller} at a
 * temperature T, a transfer set with one digit left out, and the output-bias correction for that digit.
 *
 * <p>Data: the training split is cut once into a <b>transfer set</b> (what teacher and students train on)
 * and a <b>validation split</b> (for choosing T and the bias shift), by a seeded permutation
 * ({@link Data#load}); the test split is only ever reported on.
 *
 * <p>Caching: a trained teacher (its {@link Mlp} directory) and every student run (its validation and
 * test logits and a summary) are kept in the {@link ArtifactCache} under a hash of the run's configuration
 * (including the teacher's), the data and the code, so a notebook re-run trains nothing it already
 * trained. The teacher's logits on a student's micro-batches are kept in a {@link TeacherOutputCache}
 * per (teacher, batch size, data-order seed, transfer set): every student with that order (any width,
 * temperature or T^2 setting) reads them instead of running the teacher. Students see no jitter, so
 * those logits depend on nothing else.
 */
public final class MnistDistillation {
    /** Classes (digits). */
    public static final int CLASSES = Mnist.CLASSES;
    /** Value of {@code excludedDigit} meaning "keep every digit". */
    public static final int NONE = -1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SUMMARY = ArtifactCache.SUMMARY, LOGITS = "logits.safetensors", MODEL = "model";

    /**
     * The transfer set (training split less the validation examples), the validation split and the test
     * split; inputs row-major [n, 784] in [0, 1], labels [n].
     */
    public record Data(float[] trainX, int[] trainY, float[] valX, int[] valY, float[] testX, int[] testY,
                       int validationSize, long splitSeed) {

        /**
         * Loads the shipped MNIST splits and moves {@code validationSize} training examples, chosen by a
         * Fisher-Yates permutation from {@code new SplittableRandom(splitSeed)}, to the validation split;
         * both parts keep the file order.
         */
        public static Data load(int validationSize, long splitSeed) {
            Mnist train = Mnist.load(Mnist.Split.TRAIN), test = Mnist.load(Mnist.Split.TEST);
            return split(train.pixels(), train.labels(), test.pixels(), test.labels(), validationSize, splitSeed);
        }

        /** The split of {@link #load} on given arrays (for tests). */
        public static Data split(float[] x, int[] y, float[] testX, int[] testY, int validationSize, long splitSeed) {
            int n = y.length;
            if (validationSize < 1 || validationSize >= n) {
                throw new IllegalArgumentException("validationSize: must be in [1, " + (n - 1) + "] but was " + validationSize);
            }
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            SplittableRandom rnd = new SplittableRandom(splitSeed);
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            boolean[] isVal = new boolean[n];
            for (int i = 0; i < validationSize; i++) isVal[perm[i]] = true;
            int[] valIdx = new int[validationSize], trainIdx = new int[n - validationSize];
            for (int i = 0, v = 0, t = 0; i < n; i++) {
                if (isVal[i]) valIdx[v++] = i;
                else trainIdx[t++] = i;
            }
            int w = x.length / n;
            return new Data(rows(x, w, trainIdx), pick(y, trainIdx), rows(x, w, valIdx), pick(y, valIdx), testX, testY,
                    validationSize, splitSeed);
        }

        /** Number of transfer-set examples. */
        public int trainSize() { return trainY.length; }

        /** The transfer-set indices whose label is not {@code digit} ({@link #NONE}: all), in order. */
        public int[] transferIndices(int digit) {
            return keptIndices(trainY, digit);
        }
    }

    /**
     * An MLP and how it is trained: Adam(W) without weight decay or clipping, batch {@code batchSize},
     * {@code steps} optimiser steps, lr from {@code lrMax} (after {@code warmup} linear steps) down to
     * {@code lrMin} by a cosine; examples visited in seeded epochs; model initialised from {@code seed}.
     *
     * @param hidden        hidden widths (784-hidden...-10)
     * @param inputDropout  dropout on the input (teacher 0.2)
     * @param hiddenDropout dropout on hidden layers (teacher 0.5)
     * @param maxShift      jitter: largest shift in pixels (teacher 2, students 0)
     * @param seed          initialisation, data order, jitter and dropout seed
     */
    public record NetConfig(List<Integer> hidden, double inputDropout, double hiddenDropout, int maxShift, int batchSize,
                            int steps, int warmup, double lrMax, double lrMin, long seed) {
        public NetConfig {
            if (hidden == null || hidden.isEmpty()) throw new IllegalArgumentException("hidden: need at least one layer");
            hidden = List.copyOf(hidden);
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
        }

        /** Hinton et al.'s teacher recipe: dropout 0.2 on the input and 0.5 on hidden units, +-2 px jitter. */
        public static NetConfig teacher(List<Integer> hidden, int steps, long seed) {
            return new NetConfig(hidden, 0.2, 0.5, 2, 100, steps, Math.max(1, steps / 20), 1e-3, 1e-5, seed);
        }

        /** A student without any regularisation (no dropout, no jitter, no weight decay). */
        public static NetConfig student(List<Integer> hidden, int steps, long seed) {
            return new NetConfig(hidden, 0, 0, 0, 100, steps, Math.max(1, steps / 20), 1e-3, 1e-5, seed);
        }

        public NetConfig withSeed(long s) {
            return new NetConfig(hidden, inputDropout, hiddenDropout, maxShift, batchSize, steps, warmup, lrMax, lrMin, s);
        }

        public NetConfig withHidden(List<Integer> h) {
            return new NetConfig(h, inputDropout, hiddenDropout, maxShift, batchSize, steps, warmup, lrMax, lrMin, seed);
        }

        /** 784, hidden..., 10. */
        public List<Integer> layerSizes() {
            List<Integer> s = new ArrayList<>();
            s.add(Mnist.PIXELS);
            s.addAll(hidden);
            s.add(CLASSES);
            return s;
        }

        /** The trainer's loop: no weight decay, no clipping, no validation during training. */
        public LoopConfig loop() {
            return LoopConfig.defaults().withSteps(steps, warmup).withLr(lrMax, lrMin).withWeightDecay(0).withGradClip(0)
                    .withEvalInterval(0).withCheckpoints(0, 1);
        }

        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            ArrayNode h = o.putArray("hidden");
            hidden.forEach(h::add);
            o.put("dropout_input", inputDropout).put("dropout_hidden", hiddenDropout).put("max_shift", maxShift)
                    .put("batch_size", batchSize).put("seed", seed);
            o.set("loop", loop().toJson());
            return o;
        }
    }

    /**
     * Errors of a classifier on labelled examples.
     *
     * @param examples        n
     * @param errors          examples whose largest logit (first on ties) is not the label
     * @param errorsByDigit   errors among the examples of each label, [10]
     * @param examplesByDigit examples of each label, [10]
     */
    public record Evaluation(int examples, int errors, int[] errorsByDigit, int[] examplesByDigit) {
        /** errors / examples, in percent. */
        public double percent() { return 100.0 * errors / examples; }

        public int errorsOn(int digit) { return errorsByDigit[digit]; }
    }

    /** A trained teacher: its model (evaluation mode), where it is cached, and its errors. */
    public record Teacher(Mlp model, Path dir, NetConfig config, Evaluation validation, Evaluation test,
                          double trainSeconds, boolean loaded) {
        /** The cache folder's name (its key), which student runs include in theirs. */
        public String id() { return dir.getFileName().toString(); }
    }

    /**
     * A student run.
     *
     * @param options          the distillation options, or null for training from scratch on the hard labels
     * @param excludedDigit    the digit left out of the transfer set, or {@link #NONE}
     * @param validationLogits [nVal, 10] row-major
     * @param testLogits       [nTest, 10] row-major
     * @param meanGradNorm     mean over the steps of the global gradient norm of the training loss
     * @param trainSeconds     training time (of the run that made the cached result)
     * @param loaded           whether the result came from the cache
     */
    public record Student(NetConfig config, Distiller.Options options, int excludedDigit, Evaluation validation,
                          Evaluation test, float[] validationLogits, float[] testLogits, double meanGradNorm,
                          double trainSeconds, boolean loaded) {}

    private final Data data;
    private final Path cacheRoot;
    private Map<String, String> dataSums;

    /**
     * @param data      the splits
     * @param cacheRoot where artifacts go, or null for {@link ArtifactCache#root()}
     */
    public MnistDistillation(Data data, Path cacheRoot) {
        if (data == null) throw new IllegalArgumentException("data: must not be null");
        this.data = data;
        this.cacheRoot = cacheRoot == null ? ArtifactCache.root() : cacheRoot;
    }

    public Data data() { return data; }

    // ------------------------------------------------------------------------------------------------
    // teacher

    /** The teacher of {@code config}, from the cache or trained now (and cached). */
    public Teacher teacher(NetConfig config, boolean showProgress) {
        ObjectNode key = JSON.createObjectNode();
        key.put("experiment", "mnist-teacher");
        key.set("split", splitJson());
        key.set("net", config.toJson());
        Path dir = folder("mnist-teacher", key);
        boolean loaded = Files.isRegularFile(dir.resolve(SUMMARY));
        if (!loaded) {
            Mlp m = new Mlp(config.layerSizes(), config.inputDropout(), config.hiddenDropout(), config.batchSize(),
                    config.seed());
            double seconds = train(config, new ClassificationObjective(m, data.trainX(), data.trainY(), null, null,
                    options(config)), showProgress).seconds;
            ArtifactCache.write(dir, tmp -> {
                m.save(tmp.resolve(MODEL));
                ObjectNode s = key.deepCopy();
                s.put("train_seconds", seconds);
                s.put("parameters", m.parameterCount());
                return s;
            });
        }
        JsonNode summary = readJson(dir.resolve(SUMMARY));
        Mlp m = Mlp.load(dir.resolve(MODEL), Math.max(config.batchSize(), 100), 0).eval();
        return new Teacher(m, dir, config, evaluate(logits(m, data.valX()), data.valY()),
                evaluate(logits(m, data.testX()), data.testY()), summary.path("train_seconds").asDouble(), loaded);
    }

    // ------------------------------------------------------------------------------------------------
    // students

    /**
     * A student of {@code config} trained on the transfer set without {@code excludedDigit}: from scratch
     * on the hard labels ({@code options} null) or distilled from {@code teacher} with {@code options}.
     * From the cache when this run was made before. Runs with the same config (seed) see the same examples
     * in the same order for the same number of steps, whatever the options.
     */
    public Student student(Teacher teacher, NetConfig config, Distiller.Options options, int excludedDigit) {
        if (options != null && teacher == null) throw new IllegalArgumentException("teacher: needed to distil");
        checkDigit(excludedDigit);
        ObjectNode key = JSON.createObjectNode();
        key.put("experiment", "mnist-student");
        key.set("split", splitJson());
        key.set("net", config.toJson());
        key.put("excluded_digit", excludedDigit);
        if (options != null) {
            key.put("teacher", teacher.id());
            key.set("distillation", options.toJson());
        }
        Path dir = folder("mnist-student", key);
        boolean loaded = Files.isRegularFile(dir.resolve(SUMMARY));
        if (!loaded) {
            int[] keep = data.transferIndices(excludedDigit);
            float[] x = rows(data.trainX(), Mnist.PIXELS, keep);
            int[] y = pick(data.trainY(), keep);
            Mlp m = new Mlp(config.layerSizes(), config.inputDropout(), config.hiddenDropout(), config.batchSize(),
                    config.seed());
            ClassificationObjective task = new ClassificationObjective(m, x, y, null, null, options(config));
            TrainingObjective objective = options == null ? task
                    : Distiller.of(teacher.model(), task, options, teacherOutputs(teacher, config, excludedDigit));
            Run r = train(config, objective, false);
            float[] valLogits = logits(m, data.valX()), testLogits = logits(m, data.testX());
            ArtifactCache.write(dir, tmp -> {
                Safetensors.write(tmp.resolve(LOGITS), List.of(
                        NamedTensor.f32("validation", new int[] {data.valY().length, CLASSES}, valLogits),
                        NamedTensor.f32("test", new int[] {data.testY().length, CLASSES}, testLogits)));
                ObjectNode s = key.deepCopy();
                s.put("train_seconds", r.seconds).put("mean_grad_norm", r.meanGradNorm);
                s.put("transfer_examples", y.length);
                return s;
            });
        }
        JsonNode summary = readJson(dir.resolve(SUMMARY));
        Map<String, NamedTensor> t = Safetensors.readAll(dir.resolve(LOGITS));
        float[] valLogits = t.get("validation").data(), testLogits = t.get("test").data();
        return new Student(config, options, excludedDigit, evaluate(valLogits, data.valY()),
                evaluate(testLogits, data.testY()), valLogits, testLogits, summary.path("mean_grad_norm").asDouble(),
                summary.path("train_seconds").asDouble(), loaded);
    }

    /**
     * The cache of the teacher's logits on the micro-batches of students with this batch size, data-order
     * seed and transfer set (students see unjittered inputs, so nothing else changes them).
     */
    TeacherOutputCache teacherOutputs(Teacher teacher, NetConfig config, int excludedDigit) {
        if (config.maxShift() != 0) {
            throw new IllegalArgumentException("config: the teacher-output cache assumes unjittered student inputs"
                    + " (maxShift 0) but maxShift is " + config.maxShift());
        }
        ObjectNode key = JSON.createObjectNode();
        key.put("experiment", "mnist-teacher-outputs");
        key.put("teacher", teacher.id());
        key.set("split", splitJson());
        key.put("batch_size", config.batchSize()).put("seed", config.seed()).put("excluded_digit", excludedDigit);
        return new TeacherOutputCache(folder("mnist-teacher-outputs", key),
                TeacherOutputCache.fingerprint(teacher.model().parameters()));
    }

    private record Run(double seconds, double meanGradNorm) {}

    private static Run train(NetConfig config, TrainingObjective objective, boolean showProgress) {
        long t0 = System.nanoTime();
        Trainer trainer = new Trainer(config.loop(), objective).showProgress(showProgress);
        List<Trainer.StepRecord> h = trainer.run();
        double norm = 0;
        for (Trainer.StepRecord r : h) norm += r.gradNorm();
        return new Run((System.nanoTime() - t0) / 1e9, norm / h.size());
    }

    private static ClassificationObjective.Options options(NetConfig c) {
        return new ClassificationObjective.Options(c.batchSize(), Mnist.ROWS, Mnist.COLS, c.maxShift(), c.seed());
    }

    // ------------------------------------------------------------------------------------------------
    // evaluation, bias shift, soft-gradient scale

    /** The model's logits on every row of {@code x} ([n, 784]), in evaluation mode: [n, 10] row-major. */
    public static float[] logits(Mlp model, float[] x) {
        int w = model.inputWidth(), c = model.classes(), n = x.length / w, maxB = model.maxBatch();
        float[] out = new float[n * c];
        boolean wasTraining = model.isTraining();
        model.eval();
        try {
            for (int s = 0; s < n; s += maxB) {
                int b = Math.min(maxB, n - s);
                model.forward(Arrays.copyOfRange(x, s * w, (s + b) * w), null, b);
                FloatTensor l = model.logits();
                for (int i = 0; i < b * c; i++) out[s * c + i] = l.get(i);
            }
        } finally {
            if (wasTraining) model.train();
        }
        return out;
    }

    /** Errors of row-major logits [n, 10] against {@code labels}. */
    public static Evaluation evaluate(float[] logits, int[] labels) {
        return evaluate(logits, labels, 0, 0);
    }

    /**
     * Errors when {@code shift} is added to the logit of class {@code digit} of every row (what raising
     * that class's output bias by {@code shift} does), the largest logit (the first on ties) being the
     * prediction.
     */
    public static Evaluation evaluate(float[] logits, int[] labels, int digit, double shift) {
        int n = labels.length;
        if (logits.length != n * CLASSES) {
            throw new IllegalArgumentException("logits: length " + logits.length + " is not labels.length * 10 = " + n * CLASSES);
        }
        int[] byDigit = new int[CLASSES], count = new int[CLASSES];
        int errors = 0;
        float s = (float) shift;
        for (int r = 0; r < n; r++) {
            int best = 0;
            float m = logits[r * CLASSES] + (digit == 0 ? s : 0f);
            for (int j = 1; j < CLASSES; j++) {
                float v = logits[r * CLASSES + j] + (j == digit ? s : 0f);
                if (v > m) {
                    m = v;
                    best = j;
                }
            }
            count[labels[r]]++;
            if (best != labels[r]) {
                errors++;
                byDigit[labels[r]]++;
            }
        }
        return new Evaluation(n, errors, byDigit, count);
    }

    /**
     * Adds {@code b} to the output bias of class {@code digit} (the last layer's {@code bias[digit]}), in
     * place: every logit of that class moves by b, no other logit changes.
     */
    public static void shiftBias(Mlp model, int digit, double b) {
        checkDigit(digit);
        if (digit == NONE) throw new IllegalArgumentException("digit: must be a class 0-9");
        int last = model.layerSizes().size() - 2;
        FloatTensor bias = model.parameters().get("layers." + last + ".bias");     // [classes]
        bias.set(digit, (float) (bias.get(digit) + b));
    }

    /**
     * The shift of class {@code digit}'s logit, among {@code candidates}, with the fewest errors on
     * ({@code logits}, {@code labels}) (meant for the validation split); the smallest candidate on ties.
     */
    public static double bestShift(float[] logits, int[] labels, int digit, double[] candidates) {
        double best = Double.NaN;
        int fewest = Integer.MAX_VALUE;
        double[] sorted = candidates.clone();
        Arrays.sort(sorted);
        for (double b : sorted) {
            int e = evaluate(logits, labels, digit, b).errors();
            if (e < fewest) {
                fewest = e;
                best = b;
            }
        }
        return best;
    }

    /**
     * The norm of the gradient of the soft term alone, {@code f * KL(softmax(t/T) || softmax(s/T))} with
     * f = T^2 ({@code squared}) or 1, with respect to every parameter of {@code student}, on the examples
     * {@code x} ([n, 784], n &lt;= both models' maxB), both models in evaluation mode. For large T it falls
     * like 1/T^2 without the factor and levels off with it: the reason for Hinton et al.'s T^2.
     */
    public static double softGradientNorm(Mlp teacher, Mlp student, float[] x, double temperature, boolean squared) {
        int n = x.length / student.inputWidth();
        FloatTensor t = FloatTensor.zeros(n, CLASSES), d = FloatTensor.zeros(n, CLASSES);
        t.copyFrom(logits(teacher, x));
        boolean wasTraining = student.isTraining();
        student.eval();
        try {
            student.forward(x, null, n);
            HintonLoss loss = new HintonLoss(0, temperature, squared);
            loss.forwardBackward(student.logits(), t, null, null, d);
            student.zeroGrad();
            student.backwardFromLogits(d);
            double ss = 0;
            for (FloatTensor g : student.gradients().values()) {
                for (int i = 0; i < g.size(); i++) ss += (double) g.get(i) * g.get(i);
            }
            student.zeroGrad();
            return Math.sqrt(ss);
        } finally {
            if (wasTraining) student.train();
        }
    }

    /** softmax(logits / T) in double: the soft targets of one row at temperature T. */
    public static double[] softTargets(float[] logits, double temperature) {
        if (!(temperature > 0)) throw new IllegalArgumentException("temperature: must be > 0 but was " + temperature);
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v / temperature);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] / temperature - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    // ------------------------------------------------------------------------------------------------
    // helpers

    /** The indices of {@code labels} that are not {@code digit} ({@link #NONE}: all), in order. */
    public static int[] keptIndices(int[] labels, int digit) {
        checkDigit(digit);
        int n = 0;
        for (int y : labels) if (y != digit) n++;
        int[] out = new int[n];
        for (int i = 0, k = 0; i < labels.length; i++) if (labels[i] != digit) out[k++] = i;
        return out;
    }

    private static void checkDigit(int digit) {
        if (digit != NONE && (digit < 0 || digit >= CLASSES)) {
            throw new IllegalArgumentException("digit: must be 0-9 or NONE (-1) but was " + digit);
        }
    }

    static float[] rows(float[] x, int w, int[] idx) {
        float[] out = new float[idx.length * w];    // [idx.length, w]
        for (int i = 0; i < idx.length; i++) System.arraycopy(x, idx[i] * w, out, i * w, w);
        return out;
    }

    static int[] pick(int[] y, int[] idx) {
        int[] out = new int[idx.length];
        for (int i = 0; i < idx.length; i++) out[i] = y[idx[i]];
        return out;
    }

    private ObjectNode splitJson() {
        return JSON.createObjectNode().put("validation_size", data.validationSize()).put("split_seed", data.splitSeed())
                .put("train_examples", data.trainSize()).put("test_examples", data.testY().length);
    }

    private Path folder(String name, ObjectNode key) {
        if (dataSums == null) dataSums = DatasetFiles.verifyAll(ProjectPaths.datasets());
        return cacheRoot.resolve(ArtifactCache.folder(name, key.toString(), dataSums).getFileName());
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(Files.readString(f));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
