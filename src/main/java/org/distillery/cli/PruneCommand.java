package org.distillery.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.model.ModelTokenizer;
import org.distillery.prune.MagnitudePruning;
import org.distillery.prune.MaskedObjective;
import org.distillery.prune.NmPattern;
import org.distillery.prune.PrunedLayer;
import org.distillery.prune.PruningMask;
import org.distillery.prune.PruningResult;
import org.distillery.prune.SparseGpt;
import org.distillery.prune.SparseSafetensors;
import org.distillery.prune.Structure;
import org.distillery.prune.StructureImportance;
import org.distillery.prune.StructuredPruning;
import org.distillery.prune.Wanda;
import org.distillery.quant.LinearLayers;
import org.distillery.report.Provenance;
import org.distillery.tokenize.Tokenizer;
import org.distillery.train.TrainConfig;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab prune --model DIR --method magnitude|wanda|sparsegpt|nm|heads|neurons|layers [--sparsity S]
 * [--pattern N:M] [--scope layer|global] [--importance taylor|activation|weight] [--calib FILE | --calib-brown N]
 * [--seed S] [--finetune-steps N] [--gradual K] [--eval N] --out DIR}: prunes a GPT model directory and writes a
 * new one (under a temporary name, renamed when complete; nothing is left on any error):
 * <ul>
 *   <li>{@code config.json} + {@code model.safetensors}: the pruned model, dense F32 (zeros in place for the
 *   unstructured methods; physically smaller tensors and a per-layer structure in the config for heads, neurons
 *   and layers), so {@code Gpt.load} and {@code ./lab eval} work on it; the source's tokenizer files;</li>
 *   <li>{@code sparse.safetensors} (unstructured and N:M): every parameter, the linear weights as bitmask + packed
 *   nonzero values ({@link SparseSafetensors});</li>
 *   <li>{@code pruning.json}: options, calibration, per-layer sparsity and errors, structure, sizes in bytes,
 *   validation perplexity before/after, provenance.</li>
 * </ul>
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prunes a GPT model directory (unstructured magnitude, Wanda, SparseGPT, N:M, or whole heads, "
                + "FFN neurons, layers) and writes a new model directory: model.safetensors (dense, ./lab eval works on "
                + "it), the tokenizer files, sparse.safetensors (bitmask + nonzero values; unstructured and N:M) and "
                + "pruning.json. DIR must not exist."})
final class PruneCommand implements Callable<Integer> {
    /** The methods. */
    static final List<String> METHODS = List.of("magnitude", "wanda", "sparsegpt", "nm", "heads", "neurons", "layers");
    /** The sparse weights file in the output directory. */
    static final String SPARSE_FILE = "sparse.safetensors";
    /** The report file in the output directory. */
    static final String REPORT_FILE = "pruning.json";

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "GPT model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "M",
            description = "magnitude, wanda, sparsegpt, nm (magnitude N:M), heads, neurons or layers")
    String method;

    @Option(names = "--sparsity", paramLabel = "S", description = "fraction of weights (heads, neurons, layers) removed, in [0, 1); implied by --pattern")
    Double sparsity;

    @Option(names = "--pattern", paramLabel = "N:M", description = "N:M sparsity along the input dimension for magnitude, wanda, sparsegpt (nm: default 2:4)")
    String pattern;

    @Option(names = "--scope", paramLabel = "SCOPE", description = "layer (default: every layer pruned alike) or global (one ranking over all layers); magnitude, heads, neurons")
    String scope;

    @Option(names = "--importance", paramLabel = "I", description = "heads, neurons, layers: taylor (default), activation or weight")
    String importance;

    @Option(names = "--calib", paramLabel = "FILE", description = "calibration text (wanda, sparsegpt, taylor/activation importance), cut into consecutive windows of the context")
    Path calib;

    @Option(names = "--calib-brown", paramLabel = "N", description = "N random windows of the context from the Brown training split (default 128 when no --calib)")
    Integer calibBrown;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "seed of the calibration windows and of fine-tuning (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--damp", defaultValue = "0.01", paramLabel = "P", description = "sparsegpt: dampening, fraction of mean(diag H) (default: ${DEFAULT-VALUE})")
    double damp;

    @Option(names = "--finetune-steps", defaultValue = "0", paramLabel = "N",
            description = "fine-tune N steps on the Brown training split after pruning (the mask held); with --gradual: after each pruning step (default: ${DEFAULT-VALUE})")
    int finetuneSteps;

    @Option(names = "--finetune-lr", defaultValue = "1e-4", paramLabel = "LR", description = "peak learning rate of fine-tuning (cosine to LR/10; default: ${DEFAULT-VALUE})")
    double finetuneLr;

    @Option(names = "--gradual", paramLabel = "K", description = "magnitude: gradual pruning, AGP cubic schedule from 0 to S in K steps, --finetune-steps after each")
    Integer gradual;

    @Option(names = "--eval", paramLabel = "N", description = "also report validation perplexity before/after on the first N Brown validation tokens")
    Integer eval;

    @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "windows per forward pass and fine-tuning batch (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--out", paramLabel = "DIR", description = "also write the model directory here (default: only the run folder's model/)")
    Path out;

    @picocli.CommandLine.Mixin
    RunOptions runs = new RunOptions();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return runs.record(spec, out, true, (target, resuming) -> {
            out = target;
            prune();
            return null;
        });
    }

    /** The work: checks the arguments, prunes, writes {@link #out}. */
    private int prune() throws IOException {
        // ---- arguments that need no files
        String m = method.toLowerCase(Locale.ROOT);
        if (!METHODS.contains(m)) {
            throw new IllegalArgumentException("--method " + method + " is not accepted: use " + String.join(", ", METHODS));
        }
        boolean structured = m.equals("heads") || m.equals("neurons") || m.equals("layers");
        NmPattern nm = null;
        if (pattern != null) {
            if (!(m.equals("magnitude") || m.equals("wanda") || m.equals("sparsegpt") || m.equals("nm"))) {
                throw new IllegalArgumentException("--pattern " + pattern + ": only for --method magnitude, wanda, sparsegpt or nm");
            }
            try {
                nm = NmPattern.parse(pattern);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--pattern " + pattern + " is not accepted: " + e.getMessage(), e);
            }
        } else if (m.equals("nm")) {
            nm = NmPattern.TWO_FOUR;
        }
        if (sparsity != null && !(sparsity >= 0 && sparsity < 1)) {
            throw new IllegalArgumentException("--sparsity " + sparsity + " is out of range: accepted [0, 1)");
        }
        if (nm != null && sparsity != null && Math.abs(sparsity - nm.sparsity()) > 1e-9) {
            throw new IllegalArgumentException("--sparsity " + sparsity + " contradicts --pattern " + nm + " (sparsity "
                    + nm.sparsity() + "); leave --sparsity out");
        }
        double s = nm != null ? nm.sparsity() : sparsity == null ? Double.NaN : sparsity;
        if (nm == null && sparsity == null) {
            throw new IllegalArgumentException("--sparsity: required for --method " + m + " (a fraction in [0, 1))");
        }
        MagnitudePruning.Scope sc = MagnitudePruning.Scope.LAYER;
        if (scope != null) {
            if (!(m.equals("magnitude") || m.equals("heads") || m.equals("neurons")) || nm != null) {
                throw new IllegalArgumentException("--scope " + scope + ": only for --method magnitude (unstructured), heads or neurons");
            }
            sc = switch (scope.toLowerCase(Locale.ROOT)) {
                case "layer" -> MagnitudePruning.Scope.LAYER;
                case "global" -> MagnitudePruning.Scope.GLOBAL;
                default -> throw new IllegalArgumentException("--scope " + scope + " is not accepted: use layer or global");
            };
        }
        if (m.equals("layers")) sc = MagnitudePruning.Scope.GLOBAL;
        StructureImportance.Criterion criterion = null;
        if (importance != null && !structured) {
            throw new IllegalArgumentException("--importance " + importance + ": only for --method heads, neurons or layers");
        }
        if (structured) {
            String i = importance == null ? "taylor" : importance.toLowerCase(Locale.ROOT);
            criterion = switch (i) {
                case "taylor" -> StructureImportance.Criterion.TAYLOR;
                case "activation" -> StructureImportance.Criterion.ACTIVATION;
                case "weight" -> StructureImportance.Criterion.WEIGHT_NORM;
                default -> throw new IllegalArgumentException("--importance " + importance
                        + " is not accepted: use taylor, activation or weight");
            };
        }
        boolean calibrated = m.equals("wanda") || m.equals("sparsegpt")
                || structured && criterion != StructureImportance.Criterion.WEIGHT_NORM;
        if (!calibrated && (calib != null || calibBrown != null)) {
            throw new IllegalArgumentException("--calib/--calib-brown: --method " + m + (structured ? " with --importance weight" : "")
                    + " uses no calibration data");
        }
        if (calib != null && calibBrown != null) {
            throw new IllegalArgumentException("--calib " + calib + " and --calib-brown " + calibBrown + ": choose one");
        }
        if (calibBrown != null && calibBrown < 1) {
            throw new IllegalArgumentException("--calib-brown " + calibBrown + ": the calibration set is empty; use 1 or more windows");
        }
        if (gradual != null) {
            if (!m.equals("magnitude") || nm != null) {
                throw new IllegalArgumentException("--gradual " + gradual + ": only for unstructured --method magnitude");
            }
            if (gradual < 1) throw new IllegalArgumentException("--gradual " + gradual + " is not accepted: use 1 or more pruning steps");
        }
        if (finetuneSteps < 0) throw new IllegalArgumentException("--finetune-steps " + finetuneSteps + " is not accepted: use 0 or more");
        if (!(finetuneLr > 0) || Double.isInfinite(finetuneLr)) {
            throw new IllegalArgumentException("--finetune-lr " + finetuneLr + " is not accepted: use a finite number > 0");
        }
        if (batch < 1) throw new IllegalArgumentException("--batch " + batch + " is not accepted: use 1 or more");
        if (eval != null && eval < 2) {
            throw new IllegalArgumentException("--eval " + eval + " is not accepted: use 2 or more validation tokens");
        }
        if (!(damp >= 0) || Double.isInfinite(damp)) {
            throw new IllegalArgumentException("--damp " + damp + " is not accepted: use a finite number >= 0 (default 0.01)");
        }
        // ---- files
        Gpt2Config cfg = ModelOutput.gptConfig(model);
        Path parent = ModelOutput.newOutParent(out);
        ModelOutput.checkCalibFile(calib);
        int context = cfg.nPositions();
        Gpt gpt = Gpt.load(model, batch, context);
        QuantizeCommand.checkFinite(gpt, model, "prune");
        List<String> names = LinearLayers.names(gpt);
        if (nm != null) {
            for (String n : names) {
                int width = gpt.parameters().get(n).dim(1);
                if (width % nm.m() != 0) {
                    throw new IllegalArgumentException("--pattern " + nm + ": M = " + nm.m() + " does not divide the input width "
                            + width + " of layer " + n + "; M must divide every layer's input width");
                }
            }
        }
        boolean finetuning = finetuneSteps > 0;
        Tokenizer tokenizer = calibrated || eval != null || finetuning ? ModelTokenizer.of(model, cfg.vocabSize()) : null;
        QuantizeCommand.Calibration cal = calibrated
                ? QuantizeCommand.calibration(calib, calibBrown, seed, tokenizer, context) : null;
        int[] validation = ModelOutput.validation(tokenizer, eval);
        Perplexity.Result before = validation == null ? null
                : Perplexity.evaluate(gpt, validation, Math.min(context, validation.length), batch);
        int[] trainTokens = finetuning ? tokenizer.encode(BrownCorpus.load().text(BrownCorpus.Split.TRAIN)) : null;
        int ftT = Math.min(context, 128);
        TrainConfig ft = finetuning ? TrainConfig.defaults(cfg).withBatch(batch, ftT)
                .withSteps(finetuneSteps, Math.min(finetuneSteps / 10, 100)).withLr(finetuneLr, finetuneLr / 10).withSeed(seed) : null;
        long denseBytes = Files.size(model.resolve("model.safetensors"));
        long paramsBefore = gpt.parameterCount();

        // ---- prune (in memory; every check that can refuse runs before anything is written)
        Map<String, Object> details = new LinkedHashMap<>();
        List<PrunedLayer> layerReports = null;
        PruningMask mask = null;
        Gpt result = gpt;
        String label;
        try {
            switch (m) {
                case "wanda" -> {
                    Wanda.Options o = nm != null ? Wanda.Options.nm(nm) : Wanda.Options.unstructured(s);
                    PruningResult r = Wanda.prune(gpt, cal.windows(), o);
                    mask = r.mask();
                    layerReports = r.layers();
                }
                case "sparsegpt" -> {
                    SparseGpt.Options o = (nm != null ? SparseGpt.Options.nm(nm) : SparseGpt.Options.unstructured(s)).withPercDamp(damp);
                    PruningResult r = SparseGpt.prune(gpt, cal.windows(), o);
                    mask = r.mask();
                    layerReports = r.layers();
                }
                case "magnitude", "nm" -> {
                    if (nm != null) {
                        mask = MagnitudePruning.prune(gpt, nm);
                    } else if (gradual != null) {
                        List<MagnitudePruning.Step> steps = MagnitudePruning.gradual(gpt, trainTokens, ft,
                                new MagnitudePruning.Gradual(0, s, gradual, finetuneSteps, sc));
                        mask = MagnitudePruning.finalMask(gpt);
                        List<Map<String, Object>> rows = new ArrayList<>();
                        for (MagnitudePruning.Step st : steps) {
                            Map<String, Object> row = new LinkedHashMap<>();
                            row.put("t", st.t());
                            row.put("target", st.target());
                            row.put("sparsity", st.sparsity());
                            row.put("finetune_losses", st.finetuneLosses());
                            rows.add(row);
                        }
                        details.put("gradual_steps", rows);
                    } else {
                        mask = MagnitudePruning.prune(gpt, s, sc);
                    }
                }
                default -> {                                                    // heads, neurons, layers
                    Structure st = m.equals("heads") ? Structure.HEAD : m.equals("neurons") ? Structure.NEURON : Structure.LAYER;
                    StructuredPruning.Result r = StructuredPruning.prune(gpt, st, criterion, s, sc,
                            cal == null ? null : cal.windows());
                    result = r.model();
                    details.put("removed", r.removed());
                    details.put("scores", r.scores());
                }
            }
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage(), own = "sparsity " + sparsity + " ";
            if (structured && msg.startsWith(own)) msg = "--sparsity " + sparsity + ": " + msg.substring(own.length());
            throw new IllegalArgumentException(msg, e);
        } catch (IllegalStateException e) {       // Hessian not positive definite after dampening
            throw new IllegalArgumentException(e.getMessage() + " (--damp " + damp + ")", e);
        }
        if (finetuning && gradual == null) {
            MaskedObjective.finetune(result, mask, trainTokens, ft);
            details.put("finetune_steps_done", finetuneSteps);
        }
        Perplexity.Result after = eval == null ? null
                : Perplexity.evaluate(result, validation, Math.min(context, validation.length), batch);
        label = m + (nm != null ? " " + nm : String.format(Locale.ROOT, " %.0f%%", 100 * s))
                + (structured ? " (" + criterion.name().toLowerCase(Locale.ROOT) + ")" : "");

        // ---- write under a temporary name, rename when complete
        Path tmp = ModelOutput.partial(parent, out);
        try {
            result.save(tmp);
            ModelOutput.copyTokenizer(model, tmp);
            Long sparseBytes = null;
            if (!structured) {
                SparseSafetensors.save(tmp.resolve(SPARSE_FILE), result.parameters(), LinearLayers.names(result));
                sparseBytes = Files.size(tmp.resolve(SPARSE_FILE));
            }
            long outBytes = Files.size(tmp.resolve("model.safetensors"));
            PruningMask zeros = PruningMask.ofNonzeros(result.parameters(), LinearLayers.names(result));
            Map<String, Object> report = report(m, s, nm, sc, criterion, cal, layerReports, zeros, details, result, paramsBefore,
                    denseBytes, outBytes, sparseBytes, before, after, validation, ftT);
            Files.writeString(tmp.resolve(REPORT_FILE),
                    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            Files.move(tmp, out);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "pruned %s: %s, %d linear layers, zeros %.4f of the"
                    + " linear weights, parameters %,d -> %,d; dense %,d bytes -> model.safetensors %,d bytes", out, label,
                    LinearLayers.names(result).size(), zeros.sparsity(), paramsBefore, result.parameterCount(), denseBytes, outBytes));
            if (sparseBytes != null) {
                line.append(String.format(Locale.ROOT, ", %s %,d bytes (%.1f %% of dense)", SPARSE_FILE, sparseBytes,
                        100.0 * sparseBytes / denseBytes));
            }
            if (before != null) {
                line.append(String.format(Locale.ROOT, "; validation perplexity %.4f -> %.4f over %,d tokens",
                        before.perplexity(), after.perplexity(), after.tokensPredicted()));
            }
            System.out.println(line);
            return 0;
        } catch (IOException | RuntimeException | Error e) {
            FileTrees.delete(tmp);
            throw e;
        }
    }

    private Map<String, Object> report(String m, double s, NmPattern nm, MagnitudePruning.Scope sc,
                                       StructureImportance.Criterion criterion, QuantizeCommand.Calibration cal,
                                       List<PrunedLayer> layerReports, PruningMask zeros, Map<String, Object> details, Gpt result,
                                       long paramsBefore, long denseBytes, long outBytes, Long sparseBytes,
                                       Perplexity.Result before, Perplexity.Result after, int[] validation, int ftT) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("method", m);
        r.put("sparsity", s);
        r.put("pattern", nm == null ? null : nm.toString());
        r.put("scope", sc.name().toLowerCase(Locale.ROOT));
        r.put("importance", criterion == null ? null : criterion.name().toLowerCase(Locale.ROOT));
        if (m.equals("sparsegpt")) {
            r.put("damp", damp);
            r.put("block_size", 128);
        }
        r.put("gradual_steps_k", gradual);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("steps", finetuneSteps);
        f.put("lr", finetuneLr);
        f.put("batch", batch);
        f.put("window_tokens", ftT);
        f.put("data", finetuneSteps > 0 ? "brown train" : null);
        f.put("mask_held", finetuneSteps > 0 && !(m.equals("heads") || m.equals("neurons") || m.equals("layers")));
        r.put("finetune", f);
        r.put("seed", seed);
        r.put("model", model.toAbsolutePath().toString());
        if (cal != null) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("source", cal.source());
            c.put("windows", cal.windows().size());
            c.put("window_tokens", cal.windows().get(0).length);
            c.put("seed", cal.seed());
            c.put("token_ids_sha256", cal.sha256());
            r.put("calibration", c);
        } else {
            r.put("calibration", null);
        }
        Map<String, PrunedLayer> byName = new LinkedHashMap<>();
        if (layerReports != null) for (PrunedLayer l : layerReports) byName.put(l.name(), l);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String n : zeros.names()) {
            Map<String, Object> row = new LinkedHashMap<>();
            int[] shape = zeros.shape(n);
            row.put("name", n);
            row.put("shape", List.of(shape[0], shape[1]));
            row.put("zeros", zeros.pruned(n));
            row.put("sparsity", zeros.sparsity(n));
            PrunedLayer l = byName.get(n);
            row.put("relative_output_error", l == null || Double.isNaN(l.outputError()) ? null : l.outputError());
            rows.add(row);
        }
        r.put("layers", rows);
        Gpt2Config c = result.config();
        Map<String, Object> structure = new LinkedHashMap<>();
        structure.put("n_layer", c.nLayer());
        List<Integer> heads = new ArrayList<>(), inner = new ArrayList<>();
        for (int l = 0; l < c.nLayer(); l++) {
            heads.add(c.headCount(l));
            inner.add(c.innerSize(l));
        }
        structure.put("heads_per_layer", heads);
        structure.put("inner_per_layer", inner);
        r.put("structure", structure);
        r.putAll(details);
        Map<String, Object> sizes = new LinkedHashMap<>();
        sizes.put("dense_model_bytes", denseBytes);
        sizes.put("model_safetensors_bytes", outBytes);
        sizes.put("sparse_file", sparseBytes == null ? null : SPARSE_FILE);
        sizes.put("sparse_file_bytes", sparseBytes);
        sizes.put("sparse_file_fraction_of_dense", sparseBytes == null ? null : (double) sparseBytes / denseBytes);
        sizes.put("no_sparse_file_because", sparseBytes == null
                ? "structured pruning: the tensors themselves are smaller; model.safetensors is the compact form" : null);
        sizes.put("parameters_before", paramsBefore);
        sizes.put("parameters_after", result.parameterCount());
        sizes.put("linear_weights", zeros.total());
        sizes.put("linear_zeros", zeros.pruned());
        sizes.put("linear_sparsity", zeros.sparsity());
        r.put("sizes", sizes);
        if (before != null) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("split", "brown validation");
            e.put("tokens", validation.length);
            e.put("tokens_predicted", after.tokensPredicted());
            e.put("perplexity_before", before.perplexity());
            e.put("perplexity_after", after.perplexity());
            r.put("validation", e);
        }
        r.put("provenance", Provenance.capture(ProjectPaths.root()).asMap());
        return r;
    }
}
