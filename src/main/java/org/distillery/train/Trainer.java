package org.distillery.train;

import org.distillery.util.FileTrees;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.Gpt;
import org.distillery.model.TrainableModel;
import org.distillery.util.AtomicFiles;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The training loop, for any {@link TrainingObjective} (causal LM for {@link Gpt}, masked LM for
 * {@code Bert}, classification for {@code Mlp}, distillation objectives): the loop's hyperparameters are a
 * {@link LoopConfig}, the batches and the loss belong to the objective. Optimiser step s = 1..steps:
 * <ol>
 *   <li>zeroGrad; for each micro-batch k = 0..A-1 (A = gradAccumSteps):
 *       {@link TrainingObjective#forwardBackward} of micro-batch number (s-1)A + k (gradients add up);</li>
 *   <li>the step's loss is the mean of the A micro-batch losses, and the gradients are scaled by 1/A so
 *       that they are the gradient of that mean (skipped for A = 1): for the causal LM (equal token counts
 *       per micro-batch), A micro-batches of B equal one batch of A*B up to float rounding;</li>
 *   <li>lr = {@link LrSchedule#lr}(s); AdamW step (clipping to gradClip; weight decay except biases and
 *       norms; frozen parameters skipped); record (step, loss, lr, grad norm, items/s);</li>
 *   <li>every evalInterval steps and at the last: {@link TrainingObjective#validationLoss()} (when the
 *       objective has validation data);</li>
 *   <li>every checkpointInterval steps and at the last: a checkpoint (with a run directory).</li>
 * </ol>
 * A NaN or infinite loss (checked after each micro-batch) or gradient norm stops the run with a
 * {@link TrainingDivergedException} naming the step; no checkpoint is written after the last good step
 * (the in-memory model may be corrupt: a NaN gradient norm is only known after the update).
 *
 * <p>For a GPT the constructors taking a {@link TrainConfig} build the {@link CausalLmObjective}:
 * {@code new Trainer(config, train, val, runDir)} and {@code Trainer.resume(checkpoint, train, val)}.
 *
 * <p>Checkpoint {@code runDir/step-00000042/}: {@code model/} ({@link TrainableModel#save}: the Hugging
 * Face directory of a Gpt or Bert, the config and weights of an Mlp), {@code optimizer.safetensors} (F32
 * {@code m.NAME} and {@code v.NAME} per trainable parameter, the AdamW step count in the metadata),
 * {@code trainer.json} (format 2: step, AdamW step count, the {@link LoopConfig} under {@code loop}, the
 * objective's {@link TrainingObjective#state()} under {@code objective} with its {@code kind}, the model's
 * class under {@code model_class}, the records so far). It is written into a temporary directory beside it
 * and renamed into place, and an old one is renamed before it is deleted, so a checkpoint directory is either
 * whole or absent, even when the process is killed (a new or resumed run removes the temporaries such a kill
 * leaves). {@link #resume} continues
 * bit-identically: parameters, moments and step count are restored exactly, and the objective's batches,
 * the learning rates and the rest are pure functions of the step. Format-1 checkpoints (GPT only, before
 * objectives) are still read.
 *
 * <p>With a run directory the records also go to {@code runDir/metrics.csv} (Commons CSV, long format
 * {@code step,split,metric,value}; metrics loss, lr, grad_norm and {@code <items>_per_s} (tokens_per_s,
 * examples_per_s) for split train, loss for split val), flushed every step; a resume drops the rows after
 * the checkpoint's step.
 */
public final class Trainer {
    /** File and directory names of a run directory and checkpoint. */
    public static final String METRICS_FILE = "metrics.csv", MODEL_DIR = "model", OPTIMIZER_FILE = "optimizer.safetensors",
            STATE_FILE = "trainer.json", CHECKPOINT_PREFIX = "step-";
    private static final int FORMAT = 2;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] CSV_HEADER = {"step", "split", "metric", "value"};

    /**
     * One optimiser step: loss (mean of the micro-batch losses, e.g. nats/token), lr, global grad norm
     * before clipping, throughput (the objective's items per second: tokens/s or examples/s).
     */
    public record StepRecord(int step, double loss, double lr, double gradNorm, double tokensPerSecond) {}

    /** One validation: the objective's validation loss after {@code step} steps. */
    public record EvalRecord(int step, double loss) {}

    private final LoopConfig loop;
    private final TrainConfig gptConfig;            // the causal-LM run's config, or null
    private final TrainingObjective objective;
    private final TrainableModel model;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final Path runDir;
    private final List<StepRecord> history = new ArrayList<>();
    private final List<EvalRecord> evals = new ArrayList<>();
    private int step;
    private boolean showProgress = true;
    private Path lastCheckpoint;

    /** A GPT trainer ({@link CausalLmObjective}) with in-memory records only (no checkpoints, no CSV). */
    public Trainer(TrainConfig config, int[] train, int[] val) {
        this(config, train, val, null);
    }

    /**
     * A new GPT run ({@link CausalLmObjective}), model initialised from {@code config.seed()}.
     *
     * @param train  training token stream, length &gt;= T + 1, ids in [0, vocab_size)
     * @param val    validation token stream (length &gt;= T + 1), or null for no validation
     * @param runDir where checkpoints and {@code metrics.csv} go (created; must hold no checkpoint yet), or
     *               null for none
     */
    public Trainer(TrainConfig config, int[] train, int[] val, Path runDir) {
        this(requireConfig(config).loop(), new CausalLmObjective(config, train, val), runDir);
    }

    private static TrainConfig requireConfig(TrainConfig config) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        return config;
    }

    /** A trainer of {@code objective} with in-memory records only (no checkpoints, no CSV). */
    public Trainer(LoopConfig loop, TrainingObjective objective) {
        this(loop, objective, null);
    }

    /**
     * A new run of {@code objective} from the current state of its model.
     *
     * @param runDir where checkpoints and {@code metrics.csv} go (created; must hold no checkpoint yet), or
     *               null for none
     */
    public Trainer(LoopConfig loop, TrainingObjective objective, Path runDir) {
        this(loop, objective, runDir, false);
        if (runDir != null) {
            if (latestCheckpoint(runDir) != null) {
                throw new IllegalArgumentException("runDir: " + runDir + " already holds checkpoints (latest "
                        + latestCheckpoint(runDir) + "); use Trainer.resume or another directory");
            }
            deleteTemporaries(runDir);
            writeCsv(List.of());
        }
    }

    /** The common part of the public constructor and {@link #resume} (which must not check for checkpoints). */
    private Trainer(LoopConfig loop, TrainingObjective objective, Path runDir, boolean resuming) {
        if (loop == null) throw new IllegalArgumentException("loop: must not be null");
        if (objective == null) throw new IllegalArgumentException("objective: must not be null");
        if (objective.model() == null) throw new IllegalArgumentException("objective: its model() is null");
        this.loop = loop;
        this.objective = objective;
        this.gptConfig = objective instanceof CausalLmObjective c ? c.config() : null;
        this.model = objective.model();
        this.schedule = loop.schedule();
        this.optimizer = new AdamW(model.parameters(), model.gradients(), loop.optimizerOptions(loop.lrMax()),
                AdamW.DECAY_EXCEPT_BIAS_AND_NORM,
                loop.freezePattern().isEmpty() ? AdamW.NONE : NamePattern.parse(loop.freezePattern(), "freezePattern"));
        this.runDir = runDir == null ? null : runDir.toAbsolutePath();
    }

    /** Switches the in-place progress display ({@link TrainingProgress}) on or off (default on). */
    public Trainer showProgress(boolean on) {
        this.showProgress = on;
        return this;
    }

    // ------------------------------------------------------------------------------------------------
    // the loop

    /** Trains to {@code loop.steps()}; returns all step records of the run (including resumed ones). */
    public List<StepRecord> run() {
        return runUntil(loop.steps());
    }

    /**
     * Trains until {@code untilStep} steps are done (checkpoints and validations at their usual steps).
     *
     * @param untilStep in [current step, loop.steps()]
     * @throws TrainingDivergedException on a NaN or infinite loss or gradient norm
     */
    public List<StepRecord> runUntil(int untilStep) {
        if (untilStep < step || untilStep > loop.steps()) {
            throw new IllegalArgumentException("untilStep: must be in [current step = " + step + ", steps = "
                    + loop.steps() + "] but was " + untilStep);
        }
        long itemsPerStep = loop.gradAccumSteps() * objective.itemsPerMicroBatch();
        String throughput = objective.itemName() + "_per_s";
        TrainingProgress progress = showProgress
                ? TrainingProgress.start("train " + objective.kind(), loop.steps(), itemsPerStep) : null;
        try (CSVPrinter csv = runDir == null ? null : openCsv()) {
            while (step < untilStep) {
                StepRecord r = trainStep(step + 1);
                step = r.step();
                history.add(r);
                if (csv != null) {
                    csv.printRecord(r.step(), "train", "loss", r.loss());
                    csv.printRecord(r.step(), "train", "lr", r.lr());
                    csv.printRecord(r.step(), "train", "grad_norm", r.gradNorm());
                    csv.printRecord(r.step(), "train", throughput, r.tokensPerSecond());
                }
                boolean last = step == loop.steps();
                if (objective.hasValidation() && loop.evalInterval() > 0 && (step % loop.evalInterval() == 0 || last)) {
                    EvalRecord e = new EvalRecord(step, objective.validationLoss());
                    evals.add(e);
                    if (csv != null) csv.printRecord(e.step(), "val", "loss", e.loss());
                }
                if (csv != null) csv.flush();
                if (runDir != null && (last || loop.checkpointInterval() > 0 && step % loop.checkpointInterval() == 0)) {
                    saveCheckpoint();
                }
                if (progress != null) progress.update(step, r.loss());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + runDir.resolve(METRICS_FILE) + ": " + e.getMessage(), e);
        } finally {
            if (progress != null) progress.close();
        }
        return Collections.unmodifiableList(history);
    }

    private StepRecord trainStep(int s) {
        long t0 = System.nanoTime();
        int a = loop.gradAccumSteps();
        model.zeroGrad();
        double lossSum = 0;
        for (int k = 0; k < a; k++) {
            double loss = objective.forwardBackward(new TrainingObjective.MicroBatch(s, k, (long) (s - 1) * a + k));
            if (!Double.isFinite(loss)) throw diverged(s, "loss", loss, "micro-batch " + k);
            lossSum += loss;
        }
        if (a > 1) {
            float scale = 1f / a;     // gradient of the mean over micro-batches
            for (FloatTensor g : model.gradients().values()) {
                for (int i = 0; i < g.size(); i++) g.set(i, g.get(i) * scale);
            }
        }
        double lr = schedule.lr(s);
        optimizer.setOptions(optimizer.options().withLr(lr));
        double norm = optimizer.step();
        if (!Double.isFinite(norm)) throw diverged(s, "gradient norm", norm, "before clipping");
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new StepRecord(s, lossSum / a, lr, norm, a * objective.itemsPerMicroBatch() / Math.max(seconds, 1e-9));
    }

    private TrainingDivergedException diverged(int s, String what, double value, String where) {
        Path ck = lastCheckpoint != null ? lastCheckpoint : runDir == null ? null : latestCheckpoint(runDir);
        return new TrainingDivergedException(s, "step " + s + ": " + what + " is " + value + " (" + where + "); training"
                + " stopped. Last good checkpoint: " + (ck == null ? "none" : ck + " (step " + stepOf(ck) + ")"), ck);
    }

    /**
     * The objective's validation loss (for a GPT: mean loss in nats/token over {@code evalBatches} fixed
     * validation batches; forward only, gradients untouched).
     *
     * @throws IllegalStateException when the objective has no validation data
     */
    public double validationLoss() {
        if (!objective.hasValidation()) {
            throw new IllegalStateException("validationLoss: this trainer's objective has no validation data");
        }
        return objective.validationLoss();
    }

    // ------------------------------------------------------------------------------------------------
    // checkpoints

    /** Writes a checkpoint of the current step into the run directory; returns its path. */
    public Path saveCheckpoint() {
        if (runDir == null) throw new IllegalStateException("saveCheckpoint: this trainer has no run directory");
        Path target = runDir.resolve(String.format("%s%08d", CHECKPOINT_PREFIX, step));
        Path tmp = null;
        try {
            Files.createDirectories(runDir);
            tmp = Files.createTempDirectory(runDir, "." + target.getFileName() + ".tmp");
            model.save(tmp.resolve(MODEL_DIR));
            List<NamedTensor> moments = new ArrayList<>();
            for (Map.Entry<String, FloatTensor> e : optimizer.firstMoments().entrySet()) {
                moments.add(toNamed("m." + e.getKey(), e.getValue()));
            }
            for (Map.Entry<String, FloatTensor> e : optimizer.secondMoments().entrySet()) {
                moments.add(toNamed("v." + e.getKey(), e.getValue()));
            }
            Safetensors.write(tmp.resolve(OPTIMIZER_FILE), moments,
                    Map.of("adamw_step", Integer.toString(optimizer.stepCount())));
            AtomicFiles.writeString(tmp.resolve(STATE_FILE),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(stateJson()) + "\n");
            discard(target);
            AtomicFiles.moveReplacing(tmp, target);
            tmp = null;
            lastCheckpoint = target;
            prune();
            return target;
        } catch (IOException | UncheckedIOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(),
                    e instanceof IOException io ? io : ((UncheckedIOException) e).getCause());
        } finally {
            if (tmp != null) {
                try {
                    FileTrees.delete(tmp);
                } catch (UncheckedIOException ignored) {
                    // the original error is the one to report
                }
            }
        }
    }

    private ObjectNode stateJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("step", step);
        o.put("adamw_step", optimizer.stepCount());
        o.set("loop", loop.toJson());
        ObjectNode obj = objective.state();
        obj.put("kind", objective.kind());
        o.set("objective", obj);
        o.put("model_class", model.getClass().getName());
        ArrayNode h = o.putArray("history");
        for (StepRecord r : history) {
            h.addArray().add(r.step()).add(r.loss()).add(r.lr()).add(r.gradNorm()).add(r.tokensPerSecond());
        }
        ArrayNode ev = o.putArray("evals");
        for (EvalRecord r : evals) ev.addArray().add(r.step()).add(r.loss());
        return o;
    }

    /**
     * Continues the GPT run ({@link CausalLmObjective}) of checkpoint {@code checkpointDir} (a
     * {@code step-N} directory), writing later checkpoints and metrics into its parent directory. The token
     * streams must be the ones the run started with (checked by length and hash; a null {@code val}
     * resumes without validation).
     */
    public static Trainer resume(Path checkpointDir, int[] train, int[] val) {
        return resume(checkpointDir, CausalLmObjective.restorer(train, val));
    }

    /**
     * Continues the run of checkpoint {@code checkpointDir} (a {@code step-N} directory), writing later
     * checkpoints and metrics into its parent directory. {@code restorer} rebuilds the objective from the
     * checkpoint's {@code model/} directory and the stored objective state (each objective class offers
     * one, e.g. {@link MaskedLmObjective#restorer}); every field of the rebuilt objective's
     * {@link TrainingObjective#state()} must equal the stored field of that name (a field may be left out,
     * e.g. validation data that is not given again).
     */
    public static Trainer resume(Path checkpointDir, TrainingObjective.Restorer restorer) {
        if (checkpointDir == null) throw new IllegalArgumentException("checkpointDir: must not be null");
        if (restorer == null) throw new IllegalArgumentException("restorer: must not be null");
        Path stateFile = checkpointDir.resolve(STATE_FILE);
        JsonNode s = readState(checkpointDir);
        int format = s.path("format").asInt(-1);
        LoopConfig loop;
        ObjectNode storedObjective;
        if (format == 1) {           // GPT-only checkpoints: the whole TrainConfig under "config"
            loop = TrainConfig.fromJson(s.get("config"), stateFile.toString()).loop();
            storedObjective = CausalLmObjective.stateOfFormat1(s);
        } else {
            loop = LoopConfig.fromJson(s.get("loop"), stateFile + " (loop)");
            if (!(s.get("objective") instanceof ObjectNode so)) {
                throw new IllegalArgumentException(stateFile + ": no \"objective\" object");
            }
            storedObjective = so;
        }
        TrainingObjective objective = restorer.restore(checkpointDir.resolve(MODEL_DIR), storedObjective);
        if (objective == null) throw new IllegalArgumentException("restorer: returned null for " + checkpointDir);
        ObjectNode now = objective.state();
        now.put("kind", objective.kind());
        for (Iterator<Map.Entry<String, JsonNode>> it = now.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = storedObjective.get(e.getKey());
            if (!reparsed(e.getValue()).equals(reparsed(old))) {
                throw new IllegalArgumentException("restorer: the rebuilt " + objective.kind() + " objective's "
                        + e.getKey() + " is " + e.getValue() + " but " + stateFile + " has " + old);
            }
        }
        Trainer tr = new Trainer(loop, objective, checkpointDir.toAbsolutePath().getParent(), true);
        tr.step = s.get("step").asInt();
        Map<String, NamedTensor> moments = Safetensors.readAll(checkpointDir.resolve(OPTIMIZER_FILE));
        restore(tr.optimizer.firstMoments(), moments, "m.", checkpointDir);
        restore(tr.optimizer.secondMoments(), moments, "v.", checkpointDir);
        tr.optimizer.setStepCount(s.get("adamw_step").asInt());
        for (JsonNode r : s.get("history")) {
            tr.history.add(new StepRecord(r.get(0).asInt(), r.get(1).asDouble(), r.get(2).asDouble(),
                    r.get(3).asDouble(), r.get(4).asDouble()));
        }
        for (JsonNode r : s.get("evals")) tr.evals.add(new EvalRecord(r.get(0).asInt(), r.get(1).asDouble()));
        tr.lastCheckpoint = checkpointDir.toAbsolutePath();
        deleteTemporaries(tr.runDir);
        tr.truncateCsv();
        return tr;
    }

    /** The node as it reads back from its JSON text (a long written as 7 reads back as an int). */
    private static JsonNode reparsed(JsonNode n) {
        if (n == null) return null;
        try {
            return JSON.readTree(n.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The {@code trainer.json} of a checkpoint (format 1 or 2), e.g. to read the stored objective state
     * (under {@code objective}) before building data for a resume.
     */
    public static JsonNode readState(Path checkpointDir) {
        if (checkpointDir == null) throw new IllegalArgumentException("checkpointDir: must not be null");
        Path stateFile = checkpointDir.resolve(STATE_FILE);
        JsonNode s;
        try {
            s = JSON.readTree(Files.readString(stateFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + stateFile + ": " + e.getMessage(), e);
        }
        int format = s == null ? -1 : s.path("format").asInt(-1);
        if (format != 1 && format != FORMAT) {
            throw new IllegalArgumentException(stateFile + ": not a trainer state of format 1 or " + FORMAT
                    + " (format " + format + ")");
        }
        return s;
    }

    private static void restore(Map<String, FloatTensor> dst, Map<String, NamedTensor> src, String prefix, Path dir) {
        for (Map.Entry<String, FloatTensor> e : dst.entrySet()) {
            NamedTensor t = src.get(prefix + e.getKey());
            if (t == null || t.data().length != e.getValue().size()) {
                throw new IllegalArgumentException(dir.resolve(OPTIMIZER_FILE) + ": missing or mis-shaped optimiser"
                        + " tensor " + prefix + e.getKey());
            }
            e.getValue().copyFrom(t.data());
        }
    }

    /** The checkpoint directory with the highest step in {@code runDir}, or null when there is none. */
    public static Path latestCheckpoint(Path runDir) {
        List<Path> all = checkpoints(runDir);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** The checkpoint directories of {@code runDir}, by increasing step. */
    public static List<Path> checkpoints(Path runDir) {
        if (runDir == null || !Files.isDirectory(runDir)) return List.of();
        try (Stream<Path> s = Files.list(runDir)) {
            return s.filter(p -> Files.isDirectory(p) && p.getFileName().toString().matches(CHECKPOINT_PREFIX + "\\d+"))
                    .sorted(Comparator.comparingLong(Trainer::stepOf)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + runDir + ": " + e.getMessage(), e);
        }
    }

    private static long stepOf(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().substring(CHECKPOINT_PREFIX.length()));
    }

    private void prune() {
        List<Path> all = checkpoints(runDir);
        for (int i = 0; i < all.size() - loop.keepCheckpoints(); i++) discard(all.get(i));
    }

    /**
     * Deletes a checkpoint so that a kill part-way leaves no half-deleted {@code step-N}: it is first renamed
     * to {@code .step-N.deleted} (atomic), which {@link #deleteTemporaries} removes if the kill came first.
     */
    private static void discard(Path checkpoint) {
        if (!Files.exists(checkpoint)) return;
        Path doomed = checkpoint.resolveSibling("." + checkpoint.getFileName() + ".deleted");
        FileTrees.delete(doomed);
        try {
            AtomicFiles.moveReplacing(checkpoint, doomed);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete checkpoint " + checkpoint + ": " + e.getMessage(), e);
        }
        FileTrees.delete(doomed);
    }

    /**
     * Removes what writes interrupted by a kill left in a run directory: checkpoints being written
     * ({@code .step-N.tmp<digits>}) or deleted ({@code .step-N.deleted}) and temporary copies of
     * {@code metrics.csv} ({@link AtomicFiles#deleteTemporaries}). Readers never mistake them for checkpoints
     * ({@link #checkpoints} lists {@code step-N} only); a new or resumed run clears them away.
     */
    private static void deleteTemporaries(Path runDir) {
        if (!Files.isDirectory(runDir)) return;
        AtomicFiles.deleteTemporaries(runDir);
        try (Stream<Path> s = Files.list(runDir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.getFileName().toString().matches("\\." + CHECKPOINT_PREFIX + "\\d+\\.(tmp\\d+|deleted)")) {
                    FileTrees.delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + runDir + ": " + e.getMessage(), e);
        }
    }

    private static NamedTensor toNamed(String name, FloatTensor t) {
        return NamedTensor.f32(name, t.shape(), t.toFloatArray());
    }

    // ------------------------------------------------------------------------------------------------
    // metrics.csv

    private CSVPrinter openCsv() throws IOException {
        Writer w = Files.newBufferedWriter(runDir.resolve(METRICS_FILE), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return new CSVPrinter(w, CSVFormat.DEFAULT);
    }

    /** Rewrites metrics.csv with a header and {@code rows} (each step, split, metric, value). */
    private void writeCsv(List<List<String>> rows) {
        AtomicFiles.write(runDir.resolve(METRICS_FILE), out -> {
            Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
            CSVPrinter p = new CSVPrinter(w, CSVFormat.DEFAULT);
            p.printRecord((Object[]) CSV_HEADER);
            for (List<String> r : rows) p.printRecord(r);
            p.flush();
        });
    }

    private void truncateCsv() {
        Path f = runDir.resolve(METRICS_FILE);
        List<List<String>> keep = new ArrayList<>();
        if (Files.exists(f)) {
            try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                for (CSVRecord rec : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r)) {
                    if (Long.parseLong(rec.get("step")) <= step) keep.add(rec.toList());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
            }
        }
        writeCsv(keep);
    }

    // ------------------------------------------------------------------------------------------------
    // accessors

    /**
     * The {@link TrainConfig} of a GPT run (one built from a TrainConfig, or resumed from a causal-LM
     * checkpoint).
     *
     * @throws IllegalStateException for other objectives (see {@link #loop()})
     */
    public TrainConfig config() {
        if (gptConfig == null) {
            throw new IllegalStateException("config: this trainer runs a " + objective.kind()
                    + " objective, which has no TrainConfig; use loop() and objective()");
        }
        return gptConfig;
    }

    /** The loop's hyperparameters. */
    public LoopConfig loop() { return loop; }

    /** What is optimised. */
    public TrainingObjective objective() { return objective; }

    /** The model being trained (the objective's). */
    public TrainableModel model() { return model; }

    /**
     * The model being trained as a {@code type}, e.g. {@code trainer.model(Gpt.class)}.
     *
     * @throws IllegalStateException when the model is of another class
     */
    public <M extends TrainableModel> M model(Class<M> type) {
        if (!type.isInstance(model)) {
            throw new IllegalStateException("model: this trainer's model is a " + model.getClass().getSimpleName()
                    + ", not a " + type.getSimpleName());
        }
        return type.cast(model);
    }

    public AdamW optimizer() { return optimizer; }

    /** Optimiser steps done. */
    public int step() { return step; }

    /** The step records so far (a resumed trainer includes those of the checkpoint). */
    public List<StepRecord> history() { return Collections.unmodifiableList(history); }

    /** The validation records so far. */
    public List<EvalRecord> evals() { return Collections.unmodifiableList(evals); }

    /** The run directory, or null. */
    public Path runDir() { return runDir; }

    /** The checkpoint this trainer wrote or resumed from last, or null. */
    public Path lastCheckpoint() { return lastCheckpoint; }
}
