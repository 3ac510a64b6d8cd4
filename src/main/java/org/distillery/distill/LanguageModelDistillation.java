package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;
import org.distillery.util.ArtifactCache;
import org.distillery.util.AtomicFiles;
import org.distillery.util.FileTrees;

/**
 * Student GPTs trained against one trained GPT teacher on one token stream, DistilGPT2-style experiments:
 * a {@link StudentShape} (shallower, narrower, both) trained by a {@link StudentRecipe} (from scratch,
 * teacher initialisation only, soft targets, soft targets + hidden states), then scored by validation
 * perplexity ({@link Perplexity}, the standard non-overlapping protocol, context T = the student's
 * sequence length, on a fixed list of evaluation tokens shared by every student and the teacher).
 *
 * <p><b>Same batches.</b> Every recipe trains with a {@link CausalLmObjective} on the spec's
 * {@link TrainConfig}: micro-batch i is the same B windows of T + 1 tokens for every recipe with the same
 * seed, batch shape and accumulation, and the random initialisation (SCRATCH) uses the same seed.
 *
 * <p><b>Caching.</b> A finished run is kept in the {@link ArtifactCache} under a hash of the spec, the
 * teacher's fingerprint (its weights), the token streams, the data sums and the code
 * ({@link #trainOrLoad}): re-running a notebook loads it. The run folder holds {@code model/} (a Hugging Face
 * GPT-2 directory), {@code run/} (the last checkpoint and {@code metrics.csv}) and {@code summary.json}.
 *
 * <p><b>Teacher outputs.</b> With a teacher-output root, distilled runs share a {@link TeacherOutputCache}
 * per (teacher, token stream, B, T, accumulation, seed): the first run with that data order computes the
 * teacher's logits ([B*T, V] floats per micro-batch) and, when a hidden term is on, last hidden states
 * ([B*T, E_teacher]), later runs read them. {@link #teacherOutputBytes} estimates the disk it takes. The
 * cache's keys are micro-batch numbers only, which is why the folder is chosen by everything that decides
 * a micro-batch's content.
 */
public final class LanguageModelDistillation {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The run folder's summary file. */
    public static final String SUMMARY_FILE = "summary.json";

    /**
     * Loss weights of the distilled recipes (ignored by the others).
     *
     * @param task        weight of the next-token loss
     * @param soft        weight of the soft-target KL (multiplied by T^2, Hinton et al.)
     * @param hidden      weight of the hidden-state term (cosine at equal widths, MSE with a learned projection
     *                    for a narrower student)
     * @param temperature T &gt; 0 of the soft targets
     */
    public record Weights(double task, double soft, double hidden, double temperature) {
        public Weights {
            if (!(task >= 0) || !(soft >= 0) || !(hidden >= 0) || Double.isInfinite(task + soft + hidden)) {
                throw new IllegalArgumentException("task, soft, hidden: weights must be finite and >= 0 but were " + task
                        + ", " + soft + ", " + hidden);
            }
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature: must be finite and > 0 but was " + temperature);
            }
        }

        /** task 1, soft 1 (x T^2), hidden 1, T = 2. */
        public static Weights defaults() { return new Weights(1, 1, 1, 2); }

        ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("task", task).put("soft", soft).put("hidden", hidden).put("temperature", temperature);
            return o;
        }
    }

    /**
     * One student run.
     *
     * @param shape   the student's shape; {@code train.model()} must be {@code shape.config(teacher)}
     * @param recipe  initialisation and losses
     * @param train   batch shape, steps, learning rates and seed (data order and random init) of the run
     * @param weights the distillation weights (used by SOFT and SOFT_HIDDEN)
     */
    public record Spec(StudentShape shape, StudentRecipe recipe, TrainConfig train, Weights weights) {
        public Spec {
            if (shape == null || recipe == null || train == null || weights == null) {
                throw new IllegalArgumentException("shape, recipe, train, weights: must not be null");
            }
        }

        /** The cache folder's readable prefix, e.g. {@code student-shallow-soft-s1}. */
        public String name() { return "student-" + shape.id() + "-" + recipe.id() + "-s" + train.seed(); }

        /** A short label for tables: "shallow / distilled: soft". */
        public String label() { return shape.label() + " / " + recipe.label(); }

        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("shape", shape.id());
            o.put("recipe", recipe.id());
            if (recipe.needsTeacher()) o.set("weights", weights.toJson());
            o.set("train", train.toJson());
            return o;
        }
    }

    /**
     * A finished student run.
     *
     * @param dir                  the run folder
     * @param parameters           the student's parameter count (without learned projections)
     * @param validationPerplexity perplexity on the evaluation tokens
     * @param validationNll        mean NLL (nats/token) on them
     * @param validationTokens     tokens scored
     * @param finalTrainLoss       the last step's training loss (the weighted sum of the recipe's terms)
     * @param trainSeconds         wall-clock training time of the run (when it was trained)
     * @param loaded               whether this call loaded the run from the cache instead of training it
     */
    public record Result(Spec spec, Path dir, long parameters, double validationPerplexity, double validationNll,
                         long validationTokens, double finalTrainLoss, double trainSeconds, boolean loaded) {
        /** The trained student, for batches up to maxB x maxT. */
        public Gpt model(int maxB, int maxT) { return Gpt.load(dir.resolve("model"), maxB, maxT); }
    }

    private final Path teacherDir;
    private final Gpt2Config teacherConfig;
    private final int[] train, val, evalTokens;
    private final Map<String, String> dataSums;
    private final Path teacherOutputRoot;
    private final String streamsHash;
    private Gpt teacher;                 // loaded for the largest batch shape asked so far
    private String teacherFingerprint;

    /**
     * @param teacherDir        the teacher's model directory (config.json + model.safetensors)
     * @param train             the training token stream
     * @param val               the validation token stream of the trainer's validation loss, or null
     * @param evalTokens        the tokens perplexity is computed on (the same for every student)
     * @param dataSums          the sha256 sums of the data the streams come from (part of the cache key)
     * @param teacherOutputRoot where teacher-output caches go, or null for none (the teacher runs every step)
     */
    public LanguageModelDistillation(Path teacherDir, int[] train, int[] val, int[] evalTokens,
                                     Map<String, String> dataSums, Path teacherOutputRoot) {
        if (teacherDir == null) throw new IllegalArgumentException("teacherDir: must not be null");
        if (train == null) throw new IllegalArgumentException("train: must not be null");
        if (evalTokens == null || evalTokens.length < 2) {
            throw new IllegalArgumentException("evalTokens: need at least 2 tokens");
        }
        if (dataSums == null) throw new IllegalArgumentException("dataSums: must not be null (an empty map is allowed)");
        this.teacherDir = teacherDir;
        this.teacherConfig = (Gpt2Config) org.distillery.io.HfCheckpoint.load(teacherDir).config();
        this.train = train;
        this.val = val;
        this.evalTokens = evalTokens;
        this.dataSums = new TreeMap<>(dataSums);
        this.teacherOutputRoot = teacherOutputRoot;
        this.streamsHash = sha256("train " + hash(train) + "\nval " + (val == null ? "none" : hash(val)) + "\neval "
                + hash(evalTokens) + "\n");
    }

    public Gpt2Config teacherConfig() { return teacherConfig; }

    public int[] evalTokens() { return evalTokens; }

    /** The spec of {@code shape} trained by {@code recipe}: {@code base} with the student's model configuration. */
    public Spec spec(StudentShape shape, StudentRecipe recipe, TrainConfig base, Weights weights) {
        return new Spec(shape, recipe, base.withModel(shape.config(teacherConfig)), weights);
    }

    /** The teacher, loaded for batches up to maxB x maxT. */
    public synchronized Gpt teacher(int maxB, int maxT) {
        if (teacher == null || teacher.maxBatch() < maxB || teacher.maxSequenceLength() < maxT) {
            teacher = Gpt.load(teacherDir, maxB, maxT);
            teacherFingerprint = TeacherOutputCache.fingerprint(teacher.parameters());
        }
        return teacher;
    }

    /** sha256 of the teacher's weights ({@link TeacherOutputCache#fingerprint}). */
    public String teacherFingerprint() {
        if (teacherFingerprint == null) teacher(1, 2);
        return teacherFingerprint;
    }

    /** The teacher's perplexity on the evaluation tokens with context T and B windows per forward. */
    public Perplexity.Result teacherPerplexity(int contextLength, int batchSize) {
        return Perplexity.evaluate(teacher(batchSize, contextLength), evalTokens, contextLength, batchSize);
    }

    /** The cache folder of a spec (it holds {@code summary.json} once the run finished). */
    public Path folder(Spec spec) {
        return ArtifactCache.folder(spec.name(), cacheKeyJson(spec).toString(), dataSums);
    }

    private ObjectNode cacheKeyJson(Spec spec) {
        ObjectNode o = JSON.createObjectNode();
        o.put("teacher", teacherFingerprint());
        o.put("streams", streamsHash);
        o.set("spec", spec.toJson());
        return o;
    }

    /**
     * The teacher-output cache folder of runs with {@code train}'s data order: one per teacher, token stream,
     * B, T, accumulation and seed; null without a teacher-output root.
     */
    public Path teacherOutputDir(TrainConfig train) {
        if (teacherOutputRoot == null) return null;
        String key = sha256("teacher " + teacherFingerprint() + "\nstreams " + streamsHash + "\nB " + train.batchSize()
                + " T " + train.seqLen() + " accum " + train.gradAccumSteps() + " seed " + train.seed() + "\n");
        return teacherOutputRoot.resolve("outputs-" + key.substring(0, 16));
    }

    /**
     * Bytes a teacher-output cache holds after a run of {@code train} (F32 payload; each file adds a header of
     * about 150 bytes): per micro-batch B*T*V floats of logits, plus B*T*E floats of hidden states when
     * {@code hidden}.
     */
    public static long teacherOutputBytes(TrainConfig train, Gpt2Config teacher, boolean hidden) {
        long rows = (long) train.batchSize() * train.seqLen();
        long perMicroBatch = 4L * rows * (teacher.vocabSize() + (hidden ? teacher.nEmbd() : 0));
        return perMicroBatch * train.steps() * train.gradAccumSteps();
    }

    /**
     * The run of {@code spec}: loaded from its cache folder when it finished before (same spec, teacher,
     * streams, data and code), else trained now and kept there.
     */
    public Result trainOrLoad(Spec spec, boolean showProgress) {
        Path dir = folder(spec);
        if (Files.isRegularFile(dir.resolve(SUMMARY_FILE))) return read(spec, dir, true);
        Path tmp = dir.resolveSibling("." + dir.getFileName() + ".partial");
        FileTrees.delete(tmp);                                   // an interrupted run of this very spec
        run(spec, tmp, showProgress);
        try {
            Files.move(tmp, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + dir + ": " + e.getMessage(), e);
        }
        return read(spec, dir, false);
    }

    /**
     * Trains {@code spec} into the new folder {@code out} ({@code model/}, {@code run/}, {@code summary.json}).
     *
     * @throws IllegalArgumentException if {@code out} exists or the spec's model is not its shape's student
     */
    public Result run(Spec spec, Path out, boolean showProgress) {
        if (Files.exists(out)) throw new IllegalArgumentException("out: " + out + " already exists");
        Gpt2Config expected = spec.shape().config(teacherConfig);
        if (!spec.train().model().equals(expected)) {
            throw new IllegalArgumentException("spec: train.model is " + spec.train().model().toJson() + " but the "
                    + spec.shape().id() + " student of this teacher is " + expected.toJson());
        }
        TrainConfig cfg = spec.train();
        CausalLmObjective task = new CausalLmObjective(cfg, train, val);        // random init from cfg.seed()
        Gpt student = task.model();
        Gpt t = teacher(cfg.batchSize(), cfg.seqLen());
        if (spec.recipe().teacherInit()) {
            StudentInitializer.initialize(t.parameters(), student.parameters(), spec.shape().layerMap(teacherConfig));
        }
        TrainingObjective objective = task;
        if (spec.recipe().needsTeacher()) {
            Weights w = spec.weights();
            boolean sameWidth = expected.nEmbd() == teacherConfig.nEmbd();
            double hidden = spec.recipe().hidden() ? w.hidden() : 0;
            Distiller.Options options = Distiller.Options.of(w.task(), w.soft(), sameWidth ? hidden : 0,
                    sameWidth ? 0 : hidden, w.temperature());
            Path cacheDir = teacherOutputDir(cfg);
            TeacherOutputCache cache = cacheDir == null ? null : new TeacherOutputCache(cacheDir, teacherFingerprint());
            objective = Distiller.of(t, task, options, cache);
        }
        Trainer trainer = new Trainer(cfg.loop().withCheckpoints(0, 1), objective, out.resolve("run"))
                .showProgress(showProgress);
        long t0 = System.nanoTime();
        trainer.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        Perplexity.Result ppl = Perplexity.evaluate(student, evalTokens, cfg.seqLen(), cfg.batchSize());
        student.save(out.resolve("model"));
        ObjectNode s = JSON.createObjectNode();
        s.set("key", cacheKeyJson(spec));
        s.put("parameters", student.parameterCount());
        s.put("validation_perplexity", ppl.perplexity());
        s.put("validation_nll", ppl.nll());
        s.put("validation_tokens", ppl.tokensPredicted());
        s.put("steps", trainer.step());
        s.put("final_train_loss", trainer.history().get(trainer.history().size() - 1).loss());
        s.put("train_seconds", seconds);
        s.put("teacher_dir", teacherDir.toAbsolutePath().toString());
        try {
            AtomicFiles.writeString(out.resolve(SUMMARY_FILE),
                    JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(s) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return read(spec, out, false);
    }

    private static Result read(Spec spec, Path dir, boolean loaded) {
        JsonNode s;
        try {
            s = JSON.readTree(Files.readString(dir.resolve(SUMMARY_FILE)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(SUMMARY_FILE) + ": " + e.getMessage(), e);
        }
        return new Result(spec, dir, s.get("parameters").asLong(), s.get("validation_perplexity").asDouble(),
                s.get("validation_nll").asDouble(), s.get("validation_tokens").asLong(),
                s.get("final_train_loss").asDouble(), s.get("train_seconds").asDouble(), loaded);
    }

    // ------------------------------------------------------------------------------------------------

    private static String hash(int[] tokens) {
        MessageDigest md = digest();
        byte[] buf = new byte[4 * 4096];
        int n = 0;
        for (int x : tokens) {
            buf[n++] = (byte) x;
            buf[n++] = (byte) (x >>> 8);
            buf[n++] = (byte) (x >>> 16);
            buf[n++] = (byte) (x >>> 24);
            if (n == buf.length) {
                md.update(buf, 0, n);
                n = 0;
            }
        }
        md.update(buf, 0, n);
        return tokens.length + ":" + HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(String text) {
        return HexFormat.of().formatHex(digest().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
