package org.distillery.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.data.DatasetFiles;
import org.distillery.data.TokenBin;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.model.ModelTokenizer;
import org.distillery.quant.ActivationQuantizer;
import org.distillery.quant.QuantizationReport;
import org.distillery.report.Provenance;
import org.distillery.util.IoErrors;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab eval --model DIR --data FILE}: perplexity of a GPT model directory on a text. A directory written by
 * {@code ./lab quantize} whose {@code quantization.json} records an activation quantization (SmoothQuant's W8A8) is
 * evaluated with it: the activation quantizer is installed on the loaded model
 * ({@link QuantizationReport#activationQuantizer}).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity of a GPT model directory on a text file (tokenized with the model's "
                + "tokenizer) or a nanoGPT-style .bin of uint16 token ids: non-overlapping windows of the "
                + "model context, every token after a window's first predicted; --stride for sliding windows. "
                + "A W8A8 directory of ./lab quantize (activation_quantization in its quantization.json) is "
                + "evaluated with its activations quantized."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "text file, or .bin of little-endian uint16 ids")
    Path data;

    @Option(names = "--context", paramLabel = "T", description = "window length (default: the model's n_positions)")
    Integer context;

    @Option(names = "--stride", paramLabel = "S", description = "sliding-window stride (default: none, non-overlapping windows)")
    Integer stride;

    @Option(names = "--batch", defaultValue = "8", description = "windows per forward pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @picocli.CommandLine.Mixin
    RunOptions runs = new RunOptions();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return runs.record(spec, null, false, (target, resuming) -> evaluate());
    }

    /** The work: the perplexity, printed; returns the result (the JSON of --json). */
    private com.fasterxml.jackson.databind.JsonNode evaluate() throws IOException {
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + ": no config.json there");
        }
        ModelOutput.requireFile("--data", data);
        if (batch < 1) {
            throw new IllegalArgumentException("--batch " + batch + " is not accepted: use 1 or more");
        }
        if (!(org.distillery.io.HfConfig.read(model.resolve("config.json")) instanceof org.distillery.io.Gpt2Config cfg)) {
            throw new IllegalArgumentException("--model " + model + ": config.json is not a GPT-2 model (model_type gpt2)");
        }
        ModelOutput.requireWeights(model);
        int n = cfg.nPositions();
        int t = context == null ? n : context;
        if (t < 2 || t > n) {
            throw new IllegalArgumentException("--context " + t + " is not accepted: use 2 to the model's n_positions " + n);
        }
        if (stride != null && (stride < 1 || stride > t)) {
            throw new IllegalArgumentException("--stride " + stride + " is not accepted: use 1 to the context " + t);
        }
        Gpt gpt = Gpt.load(model, batch, t);
        ActivationQuantizer activations = QuantizationReport.activationQuantizer(model, gpt.config().nLayer());
        if (activations != null) activations.install(gpt);
        int vocab = gpt.config().vocabSize();
        int[] tokens = data.toString().endsWith(".bin") ? tokenBin(data, vocab) : ModelTokenizer.of(model, vocab).encode(text(data));
        if (tokens.length < 2) {
            throw new IllegalArgumentException("--data " + data + ": " + tokens.length + " token" + (tokens.length == 1 ? "" : "s")
                    + "; perplexity needs at least 2 (one to predict from, one to predict)");
        }
        Perplexity.Result r = stride == null ? Perplexity.evaluate(gpt, tokens, t, batch)
                : Perplexity.evaluate(gpt, tokens, t, stride, batch);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("perplexity", r.perplexity());
        out.put("nll", r.nll());
        out.put("tokens", r.tokensPredicted());
        out.put("tokens_per_s", r.tokensPerSecond());
        out.put("seconds", r.seconds());
        out.put("context", t);
        out.put("stride", stride);
        out.put("activation_quantization", activations == null ? null : activations.name());
        out.put("model", model.toAbsolutePath().toString());
        out.put("data", data.toAbsolutePath().toString());
        out.put("data_sha256", DatasetFiles.sha256(data));
        out.putAll(Provenance.capture(ProjectPaths.root()).asMap());
        if (json) {
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
        } else {
            System.out.printf(Locale.ROOT, "perplexity %.4f (nll %.4f nats/token) over %,d predicted tokens; "
                    + "%,.0f tokens/s, %.1f s%s%n", r.perplexity(), r.nll(), r.tokensPredicted(), r.tokensPerSecond(), r.seconds(),
                    activations == null ? "" : "; activations quantized " + activations.name() + " (" + QuantizeCommand.REPORT_FILE + ")");
        }
        return new ObjectMapper().valueToTree(out);
    }

    /** The text of {@code --data}; a file that is not UTF-8 is a bad argument. */
    private static String text(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("--data " + file + ": not UTF-8 text (a .bin file of uint16 ids must end in .bin)", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("--data " + file + ": cannot read it: " + IoErrors.reason(e), e);
        }
    }

    /** The ids of a nanoGPT-style .bin ({@link TokenBin}); a malformed file is a bad {@code --data}. */
    private static int[] tokenBin(Path file, int vocab) {
        try {
            return TokenBin.read(file, vocab);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--data " + e.getMessage(), e);
        }
    }
}
