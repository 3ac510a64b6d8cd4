package org.distillery.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.train.NamePattern;
import org.distillery.data.BrownCorpus;
import org.distillery.data.DatasetFiles;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.model.GptClassifier;
import org.distillery.model.ModelTokenizer;
import org.distillery.prune.SparseSafetensors;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.packed.PackedGpt;
import org.distillery.report.Provenance;
import org.distillery.tokenize.Tokenizer;
import org.distillery.train.GenreTask;
import org.distillery.train.SequenceFraming;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab finetune --model DIR [--task genre] [--train all|norms] [--steps N] [--lr LR] [--batch B]
 * [--seq-len T] [--dropout P] [--seed S] [--out DIR]} (recorded as a run: {@link RunOptions}): fine-tunes a GPT model directory on the genre task
 * ({@link GenreTask}: Brown passages of the training split, scored on the test split's) with a new
 * {@link GptClassifier} head, and writes the classifier directory (under a temporary name, renamed when complete;
 * nothing is left on any error): the GPT's {@code config.json} + {@code model.safetensors},
 * {@code classifier.safetensors}, the tokenizer files and {@code finetune.json} (options, passages, test accuracy
 * with its Wilson interval, the majority baseline, what was trained, provenance).
 *
 * <p>{@code --train norms} trains the LayerNorms, the embeddings and the head, and leaves every block linear
 * layer (weights and biases) exactly as it was: a pruned or quantized model stays pruned or quantized. Its
 * {@code quantized.safetensors} (packed linear layers) is then carried over unchanged, and its
 * {@code sparse.safetensors} written again for the new parameters. {@code --train all} trains every parameter
 * (the compressed files are not carried: the weights they describe changed).
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tunes a GPT model directory on the genre task (classify a Brown passage into its 15 genres) "
                + "with a new classification head and writes a classifier directory: model.safetensors, "
                + "classifier.safetensors, the tokenizer files and finetune.json. DIR must not exist."})
final class FinetuneCommand implements Callable<Integer> {
    /** The report file in the output directory. */
    static final String REPORT_FILE = "finetune.json";
    /** The tasks. */
    static final List<String> TASKS = List.of("genre");
    /** What --train accepts. */
    static final List<String> TRAIN = List.of("all", "norms");

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "GPT model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--task", defaultValue = "genre", paramLabel = "TASK", description = "genre: Brown passage -> its genre (default: ${DEFAULT-VALUE})")
    String task;

    @Option(names = "--train", defaultValue = "all", paramLabel = "WHAT",
            description = "all (every parameter) or norms (LayerNorms, embeddings and the head; block linear layers kept exactly, so a pruned or quantized model stays so) (default: ${DEFAULT-VALUE})")
    String train;

    @Option(names = "--steps", defaultValue = "300", paramLabel = "N", description = "optimiser steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--lr", defaultValue = "3e-4", paramLabel = "LR", description = "peak learning rate, cosine to LR/10 (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--batch", defaultValue = "16", paramLabel = "B", description = "passages per step (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--seq-len", paramLabel = "T", description = "passage length in tokens (default: the context, at most 128)")
    Integer seqLen;

    @Option(names = "--dropout", defaultValue = "0.1", paramLabel = "P", description = "dropout while fine-tuning, in [0, 1) (default: ${DEFAULT-VALUE})")
    double dropout;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "head initialisation, passage order and dropout (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "also write the classifier directory here (default: only the run folder's model/)")
    Path out;

    @picocli.CommandLine.Mixin
    RunOptions runs = new RunOptions();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return runs.record(spec, out, true, (target, resuming) -> {
            out = target;
            finetune();
            return null;
        });
    }

    /** The work: checks the arguments, fine-tunes, writes {@link #out}. */
    private int finetune() throws IOException {
        // ---- arguments that need no files
        String t = task.toLowerCase(Locale.ROOT);
        if (!TASKS.contains(t)) throw new IllegalArgumentException("--task " + task + " is not accepted: use " + String.join(", ", TASKS));
        String what = train.toLowerCase(Locale.ROOT);
        if (!TRAIN.contains(what)) throw new IllegalArgumentException("--train " + train + " is not accepted: use all or norms");
        if (steps < 1) throw new IllegalArgumentException("--steps " + steps + " is not accepted: use 1 or more");
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr " + lr + " is not accepted: use a finite number > 0");
        if (batch < 1) throw new IllegalArgumentException("--batch " + batch + " is not accepted: use 1 or more");
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("--dropout " + dropout + " is out of range: accepted [0, 1)");
        // ---- files
        Gpt2Config cfg = ModelOutput.gptConfig(model);
        Path parent = ModelOutput.newOutParent(out);
        int context = cfg.nPositions();
        int len = seqLen == null ? Math.min(context, 128) : seqLen;
        if (len < 2 || len > context) {
            throw new IllegalArgumentException("--seq-len " + len + " is not accepted: use 2 to the model's context " + context);
        }
        Gpt gpt = Gpt.load(model, batch, len);
        QuantizeCommand.checkFinite(gpt, model, "finetune");
        Tokenizer tokenizer = ModelTokenizer.of(model, cfg.vocabSize());
        GenreTask genres = new GenreTask(BrownCorpus.load(), tokenizer, len);
        String frozen = what.equals("norms") ? blockLinearPattern(gpt) : "";
        Map<String, float[]> kept = new LinkedHashMap<>();                      // what --train norms must not change
        if (!frozen.isEmpty()) {
            NamePattern p = NamePattern.parse(frozen, "freeze");
            for (var e : gpt.parameters().entrySet()) if (p.test(e.getKey())) kept.put(e.getKey(), e.getValue().toFloatArray());
        }

        // ---- fine-tune (in memory)
        GptClassifier clf = new GptClassifier(gpt, GenreTask.classes(), seed);
        GenreTask.Result r = genres.fineTune(clf, SequenceFraming.plain(),
                new GenreTask.Recipe(batch, len, steps, lr, dropout, seed, frozen), true);
        for (var e : kept.entrySet()) {                                         // the promise of --train norms, checked
            if (!java.util.Arrays.equals(e.getValue(), gpt.parameters().get(e.getKey()).toFloatArray())) {
                throw new IllegalStateException("finetune: frozen tensor " + e.getKey() + " changed; nothing was written");
            }
        }
        long trainable = 0;
        for (var e : clf.parameters().entrySet()) if (!kept.containsKey(e.getKey())) trainable += e.getValue().size();

        // ---- write under a temporary name, rename when complete
        Path tmp = ModelOutput.partial(parent, out);
        try {
            clf.save(tmp);
            ModelOutput.copyTokenizer(model, tmp);
            List<String> carried = new ArrayList<>();
            if (!frozen.isEmpty()) {
                if (Files.isRegularFile(model.resolve(PackedGpt.PACKED_FILE))) {
                    Files.copy(model.resolve(PackedGpt.PACKED_FILE), tmp.resolve(PackedGpt.PACKED_FILE));
                    carried.add(PackedGpt.PACKED_FILE + " (copied: its layers were frozen)");
                }
                if (Files.isRegularFile(model.resolve(PruneCommand.SPARSE_FILE))) {
                    SparseSafetensors.save(tmp.resolve(PruneCommand.SPARSE_FILE), gpt.parameters(), LinearLayers.names(gpt));
                    carried.add(PruneCommand.SPARSE_FILE + " (written again for the fine-tuned parameters)");
                }
            }
            ClassificationAccuracy.Result acc = r.test(), majority = genres.majorityBaseline();
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("task", t);
            report.put("source", Map.of("model", model.toAbsolutePath().normalize().toString(),
                    "model_safetensors_sha256", DatasetFiles.sha256(model.resolve("model.safetensors"))));
            Map<String, Object> options = new LinkedHashMap<>();
            options.put("train", what);
            options.put("steps", steps);
            options.put("lr", lr);
            options.put("batch", batch);
            options.put("seq_len", len);
            options.put("dropout", dropout);
            options.put("seed", seed);
            options.put("freeze_pattern", frozen);
            report.put("options", options);
            report.put("passages", Map.of("train", genres.trainLabels().length, "test", genres.testLabels().length,
                    "classes", GenreTask.classes()));
            double[] w = acc.wilson95();
            report.put("test_accuracy", acc.accuracy());
            report.put("test_accuracy_wilson95", List.of(w[0], w[1]));
            report.put("test_correct", acc.correct());
            report.put("test_mean_nll", acc.meanNll());
            report.put("majority_baseline_accuracy", majority.accuracy());
            report.put("parameters", clf.parameterCount());
            report.put("trainable_parameters", trainable);
            report.put("frozen_tensors", kept.size());
            report.put("carried_files", carried);
            report.put("train_seconds", r.trainSeconds());
            report.put("final_train_loss", r.finalTrainLoss());
            report.put("provenance", Provenance.capture(ProjectPaths.root()).asMap());
            Files.writeString(tmp.resolve(REPORT_FILE),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            Files.move(tmp, out);
        } catch (IOException | RuntimeException | Error e) {
            FileTrees.delete(tmp);
            throw e;
        }
        double[] w = r.test().wilson95();
        System.out.printf(Locale.ROOT, "fine-tuned %s on the genre task (%s trained, %,d of %,d parameters): test accuracy"
                        + " %.2f %% (95 %% interval %.2f-%.2f) over %,d passages, majority baseline %.2f %%; %.1f s%n",
                out, what, trainable, clf.parameterCount(), 100 * r.test().accuracy(), 100 * w[0], 100 * w[1],
                r.test().examples(), 100 * genres.majorityBaseline().accuracy(), r.trainSeconds());
        return 0;
    }

    /** A {@link NamePattern} matching exactly the weights and biases of the GPT's block linear layers. */
    static String blockLinearPattern(Gpt gpt) {
        List<String> names = new ArrayList<>();
        for (String w : LinearLayers.names(gpt)) {
            names.add("^" + w + "$");
            String bias = w.substring(0, w.length() - "weight".length()) + "bias";
            if (gpt.parameters().containsKey(bias)) names.add("^" + bias + "$");
        }
        return String.join("|", names);
    }
}
