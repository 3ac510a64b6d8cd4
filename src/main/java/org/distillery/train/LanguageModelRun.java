package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.tokenize.BpeTrainer;
import org.distillery.tokenize.ByteTokenizer;
import org.distillery.tokenize.Tokenizer;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * Trains a GPT language model on a shipped corpus, start to finish: tokenizer (bytes, or a byte-level
 * BPE trained on the training split), {@link Trainer}, validation perplexity ({@link Perplexity}, the
 * standard non-overlapping protocol), and a model directory (Hugging Face {@code config.json} +
 * {@code model.safetensors}, the tokenizer's files, {@code summary.json}). Used by {@code ./lab train}
 * and the teacher notebook.
 *
 * <p>Run file (JSON): {@code {"data": {"dataset": "brown", "tokenizer": "byte" | "bpe",
 * "validation_tokens": N}, "train": {...}}} where {@code train} is a {@link TrainConfig#toJson()}
 * object; with {@code "bpe"} the tokenizer's vocabulary size is the model's {@code vocab_size};
 * {@code validation_tokens} (optional, 0 = all) limits the final perplexity to the first N tokens of
 * the validation split (the quick profile uses it).
 *
 * @param dataset          the corpus: {@code brown}
 * @param tokenizer        {@code byte} or {@code bpe}
 * @param validationTokens evaluate perplexity on the first N validation tokens; 0 for all of them
 * @param train            the training configuration
 */
public record LanguageModelRun(String dataset, String tokenizer, int validationTokens, TrainConfig train) {
    private static final List<String> DATASETS = List.of("brown");
    private static final List<String> TOKENIZERS = List.of("byte", "bpe");
    /** The training folder inside the model directory ({@link Trainer}'s run directory). */
    public static final String RUN_DIR = "run";
    /** The run file of a plain training run, kept in {@code run/} (what {@link #resume} reads). */
    public static final String RUN_FILE = "run.json";

    public LanguageModelRun {
        if (!DATASETS.contains(dataset)) {
            throw new IllegalArgumentException("data.dataset '" + dataset + "' is not accepted: use one of " + DATASETS);
        }
        if (!TOKENIZERS.contains(tokenizer)) {
            throw new IllegalArgumentException("data.tokenizer '" + tokenizer + "' is not accepted: use one of " + TOKENIZERS);
        }
        if (validationTokens < 0) {
            throw new IllegalArgumentException("data.validation_tokens must be >= 0 (0 = all), got " + validationTokens);
        }
        int v = train.model().vocabSize();
        if (tokenizer.equals("byte") && v != ByteTokenizer.VOCAB_SIZE) {
            throw new IllegalArgumentException("the byte tokenizer has 256 tokens but train.model.vocab_size is " + v);
        }
    }

    /** The corpus tokenized for training and validation, and the tokenizer that did it. */
    public record Corpus(Tokenizer tokenizer, int[] train, int[] validation) {}

    /** What a finished run gives back. */
    public record Result(Trainer trainer, Gpt model, Tokenizer tokenizer, Perplexity.Result validation, Path modelDir) {}

    /** Reads a run file; errors name the file and the field. */
    public static LanguageModelRun read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text (" + e + ")", e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the run file: " + IoErrors.reason(e), e);
        }
        JsonNode data = root == null ? null : root.get("data");
        if (data == null || !data.isObject() || !data.path("dataset").isTextual() || !data.path("tokenizer").isTextual()) {
            throw new IllegalArgumentException(file + ": needs \"data\": {\"dataset\": ..., \"tokenizer\": ...} (strings)");
        }
        JsonNode v = data.get("validation_tokens");
        if (v != null && (!v.isIntegralNumber() || !v.canConvertToInt())) {
            throw new IllegalArgumentException(file + ": data.validation_tokens must be an integer but was " + v);
        }
        TrainConfig train = TrainConfig.fromJson(root.get("train"), file + " (train)");
        try {
            return new LanguageModelRun(data.get("dataset").textValue(), data.get("tokenizer").textValue(),
                    v == null ? 0 : v.intValue(), train);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The run as its JSON file content. */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putObject("data").put("dataset", dataset).put("tokenizer", tokenizer).put("validation_tokens", validationTokens);
        o.set("train", train.toJson());
        return o;
    }

    /** Loads and tokenizes the corpus (training a BPE tokenizer on the training split when asked). */
    public Corpus corpus() {
        BrownCorpus brown = BrownCorpus.load();
        String trainText = brown.text(BrownCorpus.Split.TRAIN);
        Tokenizer tok = tokenizer.equals("byte") ? new ByteTokenizer()
                : BpeTrainer.gpt2Style(train.model().vocabSize()).train(trainText);
        return new Corpus(tok, tok.encode(trainText), tok.encode(brown.text(BrownCorpus.Split.VALIDATION)));
    }

    /** The validation tokens the final perplexity is computed on (all, or the first validation_tokens). */
    public int[] evaluationTokens(Corpus c) {
        return validationTokens == 0 || validationTokens >= c.validation().length ? c.validation()
                : java.util.Arrays.copyOf(c.validation(), validationTokens);
    }

    /**
     * Trains, evaluates and writes the model directory {@code out} (which must not exist; it is written
     * under a temporary name and renamed when complete). Checkpoints and {@code metrics.csv} go to
     * {@code out/run/}.
     */
    public Result run(Path out, boolean showProgress) {
        return run(out, showProgress, task -> task);
    }

    /**
     * As {@link #run(Path, boolean)}, training the objective {@code objective} makes from this run's
     * causal-LM task (e.g. a {@link org.distillery.distill.Distiller} around it); the model written is the
     * task's GPT, and {@code summary.json} also holds the objective's state under {@code "objective"}.
     */
    public Result run(Path out, boolean showProgress,
                      java.util.function.Function<CausalLmObjective, TrainingObjective> objective) {
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " already exists: choose a new folder (runs are never overwritten)");
        }
        Path tmp = partial(out);
        if (Files.exists(tmp)) {
            throw new IllegalArgumentException(tmp + " exists (an interrupted run?): remove it or choose another --out"
                    + " (./lab train --resume RUNDIR continues an interrupted ./lab train from its run folder)");
        }
        Corpus c = corpus();
        CausalLmObjective task = new CausalLmObjective(train, c.train(), c.validation());
        TrainingObjective trained = objective.apply(task);
        if (trained == task) {            // plain training: keep the run file, so that resume(out) can continue it
            AtomicFiles.writeString(tmp.resolve(RUN_DIR).resolve(RUN_FILE), toJson().toPrettyString() + "\n");
        }
        Trainer trainer = new Trainer(train.loop(), trained, tmp.resolve(RUN_DIR)).showProgress(showProgress);
        trainer.run();
        return finish(out, tmp, c, trainer);
    }

    /**
     * Continues {@link #run(Path, boolean, java.util.function.Function)} into {@code out} after an interruption: from
     * the last checkpoint in its temporary folder ({@code .<out>.partial/run/}), bit-identically to an uninterrupted
     * run ({@link Trainer#resume}), or from the start when the run left no checkpoint.
     *
     * @param objective as for {@code run}, used when starting over
     * @param restorer  the restorer of the trained objective from the causal-LM task's restorer (identity for plain
     *                  training; e.g. {@code task -> Distiller.restorer(teacher, task, null)})
     */
    public Result resume(Path out, boolean showProgress,
                         java.util.function.Function<CausalLmObjective, TrainingObjective> objective,
                         java.util.function.UnaryOperator<TrainingObjective.Restorer> restorer) {
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " already exists: that run finished; nothing to resume");
        }
        Path tmp = partial(out);
        Path checkpoint = Trainer.latestCheckpoint(tmp.resolve("run"));
        if (checkpoint == null) {
            org.distillery.util.FileTrees.delete(tmp);
            return run(out, showProgress, objective);
        }
        Corpus c = corpus();
        Trainer trainer = Trainer.resume(checkpoint, restorer.apply(CausalLmObjective.restorer(c.train(), c.validation())))
                .showProgress(showProgress);
        trainer.run();
        return finish(out, tmp, c, trainer);
    }

    /**
     * Continues the plain training run ({@link #run(Path, boolean)}) that was to write {@code out} and was
     * interrupted (killed, out of memory, a power cut), from what its temporary folder holds: the run file kept in
     * {@code run/run.json} and the last checkpoint (from step 0 when none was written yet); then evaluates and
     * writes {@code out} as an uninterrupted run would, bit for bit ({@link #resume(Path, boolean,
     * java.util.function.Function, java.util.function.UnaryOperator)}). Temporary files an interrupted write left
     * behind are removed first. ({@code ./lab train --resume RUNDIR} resumes through the run record instead, which
     * also holds the run file.)
     *
     * @throws IllegalArgumentException when {@code out} is complete, or there is no interrupted run of
     *                                  {@code ./lab train} for it
     */
    public static Result resume(Path out, boolean showProgress) {
        if (out == null) throw new IllegalArgumentException("--resume: must name the --out folder of the interrupted run");
        Path tmp = partial(out);
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--resume " + out + ": the run is complete (" + out
                    + " exists); nothing to resume");
        }
        if (!Files.isDirectory(tmp)) {
            throw new IllegalArgumentException("--resume " + out + ": nothing to resume: no interrupted run (" + tmp
                    + " does not exist); start one with --config FILE --out " + out);
        }
        Path runFile = tmp.resolve(RUN_DIR).resolve(RUN_FILE);
        if (!Files.isRegularFile(runFile)) {
            throw new IllegalArgumentException("--resume " + out + ": " + runFile + " is missing: " + tmp
                    + " is not an interrupted ./lab train run (distillation runs do not resume)");
        }
        LanguageModelRun run = read(runFile);
        AtomicFiles.deleteTemporaries(tmp);
        return run.resume(out, showProgress, task -> task, restorer -> restorer);
    }

    /** The temporary folder a run into {@code out} trains and writes in: {@code .<name>.partial} beside it. */
    private static Path partial(Path out) {
        return out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".partial");
    }

    /** Evaluates the trained model, writes it and summary.json into {@code tmp} and renames {@code tmp} to {@code out}. */
    private Result finish(Path out, Path tmp, Corpus c, Trainer trainer) {
        TrainingObjective trained = trainer.objective(), inner = trained;
        while (inner instanceof WrappingObjective w) inner = w.inner();
        if (!(inner instanceof CausalLmObjective task)) {
            throw new IllegalStateException("the trained objective wraps a " + inner.kind() + " objective, not a causal LM");
        }
        Gpt model = task.model();
        Perplexity.Result ppl = Perplexity.evaluate(model, evaluationTokens(c), train.seqLen(), train.batchSize());
        model.save(tmp);
        if (c.tokenizer() instanceof org.distillery.tokenize.Gpt2Tokenizer g) {
            g.save(tmp);
        }
        ObjectNode summary = new ObjectMapper().createObjectNode();
        summary.set("run", toJson());
        if (trained != task) summary.set("objective", trained.state());
        summary.put("parameters", model.parameterCount());
        summary.put("steps", trainer.step());
        summary.put("final_train_loss", trainer.history().get(trainer.history().size() - 1).loss());
        summary.put("validation_perplexity", ppl.perplexity());
        summary.put("validation_tokens", ppl.tokensPredicted());
        summary.set("provenance", new ObjectMapper().valueToTree(
                org.distillery.report.Provenance.capture(org.distillery.util.ProjectPaths.root()).asMap()));
        try {
            AtomicFiles.writeString(tmp.resolve("summary.json"),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(summary));
            Files.move(tmp, out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + out + ": " + e.getMessage(), e);
        }
        return new Result(trainer, model, c.tokenizer(), ppl, out);
    }

    /**
     * A trained model directory for this run: taken from the {@link org.distillery.util.ArtifactCache}
     * when a run with the same configuration, data and code finished before, else trained now and kept
     * there.
     *
     * @param name a readable prefix of the cache folder, e.g. "teacher"
     * @return the model directory (config.json, model.safetensors, tokenizer files, summary.json, run/)
     */
    public Path trainOrLoad(String name, boolean showProgress) {
        Path dir = org.distillery.util.ArtifactCache.folder(name, toJson().toString(),
                org.distillery.data.DatasetFiles.verifyAll(org.distillery.util.ProjectPaths.datasets()));
        if (!Files.isRegularFile(dir.resolve("summary.json"))) {
            run(dir, showProgress);
        }
        return dir;
    }

    /** One line for logs: parameters, steps, validation perplexity. */
    public static String describe(Result r) {
        return String.format(Locale.ROOT, "%,d parameters, %d steps, validation perplexity %.3f over %,d tokens",
                r.model().parameterCount(), r.trainer().step(), r.validation().perplexity(),
                r.validation().tokensPredicted());
    }
}
