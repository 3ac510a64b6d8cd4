package org.distillery.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.io.Gpt2Config;

/**
 * A benchmark configuration (a JSON file such as {@code src/bench/configs/A.json}): the GPT model
 * shape, the batch, and how many steps to time after how many warm-up steps.
 */
public record BenchConfig(
        @JsonProperty(value = "name", required = true) String name,
        @JsonProperty(value = "vocab_size", required = true) int vocabSize,
        @JsonProperty(value = "d_model", required = true) int dModel,
        @JsonProperty(value = "n_layer", required = true) int nLayer,
        @JsonProperty(value = "n_head", required = true) int nHead,
        @JsonProperty(value = "context", required = true) int context,
        @JsonProperty(value = "batch", required = true) int batch,
        @JsonProperty(value = "steps", required = true) int steps,
        @JsonProperty(value = "warmup_steps", required = true) int warmupSteps,
        @JsonProperty(value = "seed", required = true) long seed) {

    public BenchConfig {
        positive("vocab_size", vocabSize);
        positive("d_model", dModel);
        positive("n_layer", nLayer);
        positive("n_head", nHead);
        positive("context", context);
        positive("batch", batch);
        positive("steps", steps);
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup_steps must be >= 0, got " + warmupSteps);
        }
        if (dModel % nHead != 0) {
            throw new IllegalArgumentException("d_model " + dModel + " is not divisible by n_head " + nHead);
        }
    }

    private static void positive(String field, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, got " + v);
        }
    }

    /** Reads a config file; unknown or missing fields are errors naming the file and the field. */
    public static BenchConfig read(Path file) {
        try {
            return new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .readValue(Files.readString(file), BenchConfig.class);
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("cannot read benchmark config " + file + ": " + msg, e);
        }
    }

    /** The GPT-2 configuration of the benchmarked model (n_positions = context). */
    public Gpt2Config modelConfig() {
        return Gpt2Config.of(vocabSize, context, dModel, nLayer, nHead);
    }

    /**
     * Floating-point operations of one forward pass over the batch: the matrix products (per token
     * 2 x (12 L C^2 + C V)) plus attention's two T x T products computed in full (per token
     * 2 x 2 x L x T x C), as both engines compute them.
     */
    public double forwardFlops() {
        double tokens = (double) batch * context;
        double c = dModel;
        return tokens * (2 * (12 * nLayer * c * c + c * vocabSize) + 4.0 * nLayer * context * c);
    }

    /** A training step: forward + backward, counted as 3 x the forward (the usual estimate). */
    public double trainFlops() {
        return 3 * forwardFlops();
    }
}
