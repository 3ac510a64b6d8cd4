package org.distillery.train;

import org.distillery.util.FileTrees;
import org.distillery.util.Seeds;

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
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Trains a {@link Gpt} from scratch on a token stream (the nanoGPT loop). Optimiser step s = 1..steps:
 * <ol>
 *   <li>zeroGrad; for each micro-batch k = 0..A-1 (A = gradAccumSteps): B windows of T + 1 tokens, window
 *       indices [((s-1)A + k)B, ((s-1)A + k + 1)B) of {@link TokenBatches} (seed = config seed), forward,
 *       backward (gradients add up);</li>
 *   <li>the step's loss is the mean of the A micro-batch losses, and the gradients are scaled by 1/A so
 *       that they are the gradient of that mean (skipped for A = 1): with equal token counts per
 *       micro-batch, A micro-batches of B equal one batch of A*B up to float rounding;</li>
 *   <li>lr = {@link LrSchedule#lr}(s); AdamW step (clipping to gradClip); record
 *       (step, loss, lr, grad norm, tokens/s);</li>
 *   <li>every evalInterval steps and at the last: validation loss = mean loss over evalBatches fixed
 *       validation batches (windows 0.. of a {@link TokenBatches} with seed + 1);</li>
 *   <li>every checkpointInterval steps and at the last: a checkpoint (with a run directory).</li>
 * </ol>
 * A NaN or infinite loss (checked before backward) or gradient norm stops the run with a
 * {@link TrainingDivergedException} naming the step; no checkpoint is written after the last good step
 * (the in-memory model may be corrupt: a NaN gradient norm is only known after the update).
 *
 * <p>Checkpoint {@code runDir/step-00000042/}: {@code model/} (the Hugging Face directory of
 * {@link Gpt#save}), {@code optimizer.safetensors} (F32 {@code m.NAME} and {@code v.NAME} per trainable
 * parameter, the AdamW step count in the metadata), {@code trainer.json} (config, step, next window
 * index, fingerprints of the token streams, the records so far). It is written into a temporary
 * directory beside it and renamed into place, so a checkpoint directory is either whole or absent.
 * {@link #resume} continues bit-identically: parameters, moments and step count are restored exactly,
 * the batches and learning rates are pure functions of the step.
 *
 * <p>With a run directory the records also go to {@code runDir/metrics.csv} (Commons CSV, long format
 * {@code step,split,metric,value}; metrics loss, lr, grad_norm, tokens_per_s for split train, loss for
 * split val), flushed every step; a resume drops the rows after the checkpoint's step.
 */
public final class Trainer {
    /** File and directory names of a run directory and checkpoint. */
    public static final String METRICS_FILE = "metrics.csv", MODEL_DIR = "model", OPTIMIZER_FILE = "optimizer.safetensors",
            STATE_FILE = "trainer.json", CHECKPOINT_PREFIX = "step-";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] CSV_HEADER = {"step", "split", "metric", "value"};

    /** One optimiser step: loss (mean nats/token), lr, global grad norm before clipping, throughput (tokens/s). */
    public record StepRecord(int step, double loss, double lr, double gradNorm, double tokensPerSecond) {}

    /** One validation: the mean loss (nats/token) over the validation batches after {@code step} steps. */
    public record EvalRecord(int step, double loss) {}

    private final TrainConfig config;
    private final Gpt model;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final int[] train, val;
    private final TokenBatches trainBatches, valBatches;
    private final Path runDir;
    private final List<StepRecord> history = new ArrayList<>();
    private final List<EvalRecord> evals = new ArrayList<>();
    private final int[] ids, targets;   // [B*T] each
    private int step;
    private boolean showProgress = true;
    private Path lastCheckpoint;

    /** A trainer with in-memory records only (no checkpoints, no CSV). */
    public Trainer(TrainConfig config, int[] train, int[] val) {
        this(config, train, val, null);
    }

    /**
     * A new run, model initialised from {@code config.seed()}.
     *
     * @param train  training token stream, length &gt;= T + 1, ids in [0, vocab_size)
     * @param val    validation token stream (length &gt;= T + 1), or null for no validation
     * @param runDir where checkpoints and {@code metrics.csv} go (created; must hold no checkpoint yet), or
     *               null for none
     */
    public Trainer(TrainConfig config, int[] train, int[] val, Path runDir) {
        this(config, train, val, runDir, null);
        if (runDir != null) {
            if (latestCheckpoint(runDir) != null) {
                throw new IllegalArgumentException("runDir: " + runDir + " already holds checkpoints (latest "
                        + latestCheckpoint(runDir) + "); use Trainer.resume or another directory");
            }
            writeCsv(List.of());
        }
    }

    private Trainer(TrainConfig config, int[] train, int[] val, Path runDir, Gpt loaded) {
        if (config == null) throw new IllegalArgumentException("config: must not be null");
        this.config = config;
        int vocab = config.model().vocabSize();
        checkTokens("train", train, vocab);
        if (val != null) checkTokens("val", val, vocab);
        this.train = train;
        this.val = val;
        this.trainBatches = new TokenBatches(train, config.seqLen(), config.seed());
        this.valBatches = val == null ? null : new TokenBatches(val, config.seqLen(), config.seed() + 1);
        this.model = loaded != null ? loaded : new Gpt(config.model(), config.batchSize(), config.seqLen(), config.seed());
        this.schedule = config.schedule();
        this.optimizer = new AdamW(model.parameters(), model.gradients(), config.optimizerOptions(config.lrMax()),
                AdamW.DECAY_EXCEPT_BIAS_AND_NORM,
                config.freezePattern().isEmpty() ? AdamW.NONE : AdamW.matching(config.freezePattern()));
        this.runDir = runDir == null ? null : runDir.toAbsolutePath();
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

    /** Switches the in-place progress display ({@link TrainingProgress}) on or off (default on). */
    public Trainer showProgress(boolean on) {
        this.showProgress = on;
        return this;
    }

    // ------------------------------------------------------------------------------------------------
    // the loop

    /** Trains to {@code config.steps()}; returns all step records of the run (including resumed ones). */
    public List<StepRecord> run() {
        return runUntil(config.steps());
    }

    /**
     * Trains until {@code untilStep} steps are done (checkpoints and validations at their usual steps).
     *
     * @param untilStep in [current step, config.steps()]
     * @throws TrainingDivergedException on a NaN or infinite loss or gradient norm
     */
    public List<StepRecord> runUntil(int untilStep) {
        if (untilStep < step || untilStep > config.steps()) {
            throw new IllegalArgumentException("untilStep: must be in [current step = " + step + ", steps = "
                    + config.steps() + "] but was " + untilStep);
        }
        TrainingProgress progress = showProgress
                ? TrainingProgress.start("train", config.steps(), config.tokensPerStep()) : null;
        try (CSVPrinter csv = runDir == null ? null : openCsv()) {
            while (step < untilStep) {
                StepRecord r = trainStep(step + 1);
                step = r.step();
                history.add(r);
                if (csv != null) {
                    csv.printRecord(r.step(), "train", "loss", r.loss());
                    csv.printRecord(r.step(), "train", "lr", r.lr());
                    csv.printRecord(r.step(), "train", "grad_norm", r.gradNorm());
                    csv.printRecord(r.step(), "train", "tokens_per_s", r.tokensPerSecond());
                }
                boolean last = step == config.steps();
                if (val != null && config.evalInterval() > 0 && (step % config.evalInterval() == 0 || last)) {
                    EvalRecord e = new EvalRecord(step, validationLoss());
                    evals.add(e);
                    if (csv != null) csv.printRecord(e.step(), "val", "loss", e.loss());
                }
                if (csv != null) csv.flush();
                if (runDir != null && (last || config.checkpointInterval() > 0 && step % config.checkpointInterval() == 0)) {
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
        int a = config.gradAccumSteps(), b = config.batchSize(), t = config.seqLen();
        model.zeroGrad();
        double lossSum = 0;
        for (int k = 0; k < a; k++) {
            long firstWindow = ((long) (s - 1) * a + k) * b;
            trainBatches.fill(firstWindow, b, ids, targets);
            double loss = model.forward(ids, targets, b, t);
            if (!Double.isFinite(loss)) throw diverged(s, "loss", loss, "micro-batch " + k);
            model.backward();
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
        return new StepRecord(s, lossSum / a, lr, norm, config.tokensPerStep() / Math.max(seconds, 1e-9));
    }

    private TrainingDivergedException diverged(int s, String what, double value, String where) {
        Path ck = lastCheckpoint != null ? lastCheckpoint : runDir == null ? null : latestCheckpoint(runDir);
        return new TrainingDivergedException(s, "step " + s + ": " + what + " is " + value + " (" + where + "); training"
                + " stopped. Last good checkpoint: " + (ck == null ? "none" : ck + " (step " + stepOf(ck) + ")"), ck);
    }

    /** Mean loss (nats/token) over {@code evalBatches} fixed validation batches (forward only; gradients untouched). */
    public double validationLoss() {
        if (valBatches == null) throw new IllegalStateException("validationLoss: this trainer has no validation stream");
        int b = config.batchSize(), t = config.seqLen();
        int[] vi = new int[b * t], vt = new int[b * t];
        double sum = 0;
        for (int k = 0; k < config.evalBatches(); k++) {
            valBatches.fill((long) k * b, b, vi, vt);
            sum += model.forward(vi, vt, b, t);
        }
        return sum / config.evalBatches();
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
            FileTrees.delete(target);
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
        o.put("next_window", (long) step * config.gradAccumSteps() * config.batchSize());
        o.put("adamw_step", optimizer.stepCount());
        o.set("config", config.toJson());
        o.set("train_tokens", fingerprint(train));
        if (val != null) o.set("val_tokens", fingerprint(val));
        ArrayNode h = o.putArray("history");
        for (StepRecord r : history) {
            h.addArray().add(r.step()).add(r.loss()).add(r.lr()).add(r.gradNorm()).add(r.tokensPerSecond());
        }
        ArrayNode ev = o.putArray("evals");
        for (EvalRecord r : evals) ev.addArray().add(r.step()).add(r.loss());
        return o;
    }

    /**
     * Continues the run of checkpoint {@code checkpointDir} (a {@code step-N} directory), writing later
     * checkpoints and metrics into its parent directory. The token streams must be the ones the run
     * started with (checked by length and hash).
     */
    public static Trainer resume(Path checkpointDir, int[] train, int[] val) {
        if (checkpointDir == null) throw new IllegalArgumentException("checkpointDir: must not be null");
        Path stateFile = checkpointDir.resolve(STATE_FILE);
        JsonNode s;
        try {
            s = JSON.readTree(Files.readString(stateFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + stateFile + ": " + e.getMessage(), e);
        }
        if (s == null || s.path("format").asInt(-1) != FORMAT) {
            throw new IllegalArgumentException(stateFile + ": not a trainer state of format " + FORMAT);
        }
        TrainConfig config = TrainConfig.fromJson(s.get("config"), stateFile.toString());
        checkFingerprint("train", train, s.get("train_tokens"), stateFile);
        if (val != null) checkFingerprint("val", val, s.get("val_tokens"), stateFile);
        Gpt model = Gpt.load(checkpointDir.resolve(MODEL_DIR), config.batchSize(), config.seqLen());
        Trainer tr = new Trainer(config, train, val, checkpointDir.toAbsolutePath().getParent(), model);
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
        tr.truncateCsv();
        return tr;
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
        for (int i = 0; i < all.size() - config.keepCheckpoints(); i++) FileTrees.delete(all.get(i));
    }

    private static NamedTensor toNamed(String name, FloatTensor t) {
        return NamedTensor.f32(name, t.shape(), t.toFloatArray());
    }

    private static ObjectNode fingerprint(int[] tokens) {
        long h = 0x243F6A8885A308D3L;
        for (int x : tokens) h = Seeds.mix(h, x);
        ObjectNode o = JSON.createObjectNode();
        o.put("length", tokens.length);
        o.put("hash", Long.toHexString(h));
        return o;
    }

    private static void checkFingerprint(String name, int[] tokens, JsonNode stored, Path stateFile) {
        if (tokens == null) throw new IllegalArgumentException(name + ": must not be null");
        if (stored == null) {
            throw new IllegalArgumentException(name + ": the checkpoint " + stateFile + " was trained without a " + name
                    + " stream");
        }
        JsonNode now = fingerprint(tokens);
        if (!now.equals(stored)) {
            throw new IllegalArgumentException(name + ": the token stream (length " + tokens.length + ", hash "
                    + now.get("hash").asText() + ") differs from the one in " + stateFile + " (length "
                    + stored.path("length").asText() + ", hash " + stored.path("hash").asText() + ")");
        }
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

    public TrainConfig config() { return config; }

    public Gpt model() { return model; }

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
