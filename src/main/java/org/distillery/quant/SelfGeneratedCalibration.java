package org.distillery.quant;

import org.distillery.model.Gpt;
import org.distillery.model.TextSampler;
import org.distillery.util.Seeds;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Calibration text that the float model writes itself (Norm Tweaking, Li et al. 2024, section "calibration
 * data generation"; the idea of LLM-QAT's data-free generation): no dataset is needed, and the text stays
 * close to what the model has learned. Sample i (of {@code samples}) is built as
 * <pre>
 *   token 0                      a start token drawn uniformly from {@code startTokens} (all ids when null)
 *   tokens 1 .. greedyTokens     greedy (arg-max) continuations            ({@link TextSampler}, temperature 0)
 *   the rest, up to length       sampled at {@code temperature}, from the top {@code topK} (0: all tokens)
 * </pre>
 * The paper draws the first token from a language-specific list of the vocabulary and decodes the first
 * few tokens greedily so that every sample starts plausibly, then samples for diversity; it uses 128 samples
 * of 2048 tokens (scale both down for small models).
 *
 * <p>Determinism: sample i depends only on (model weights, options, i): its start token comes from
 * {@code new SplittableRandom(Seeds.mix(seed, 2i))} and its sampling generator is seeded with
 * {@code Seeds.mix(seed, 2i + 1)}; the same options on the same model give the same windows, and a larger
 * {@code samples} only appends windows.
 *
 * @param samples      number of windows, &gt;= 1
 * @param length       tokens per window, start token included, in [2, model maxT]
 * @param greedyTokens greedy tokens after the start token, in [0, length - 1)
 * @param temperature  sampling temperature after the greedy prefix, &gt; 0
 * @param topK         sample from the topK most likely tokens (0: all)
 * @param startTokens  the ids the first token is drawn from (e.g. the letters), or null for the whole vocabulary
 * @param seed         generation seed
 */
public record SelfGeneratedCalibration(int samples, int length, int greedyTokens, double temperature, int topK,
                                       int[] startTokens, long seed) {

    public SelfGeneratedCalibration {
        if (samples < 1) throw new IllegalArgumentException("samples = " + samples + ": need at least one calibration window");
        if (length < 2) throw new IllegalArgumentException("length = " + length + " must be >= 2 (a start token and a continuation)");
        if (greedyTokens < 0 || greedyTokens >= length - 1) {
            throw new IllegalArgumentException("greedyTokens = " + greedyTokens + " must be in [0, length - 1 = " + (length - 1) + ")");
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature = " + temperature + " must be finite and > 0 (the greedy prefix is greedyTokens)");
        }
        if (topK < 0) throw new IllegalArgumentException("topK = " + topK + " must be >= 0 (0 = all tokens)");
        if (startTokens != null) {
            if (startTokens.length == 0) throw new IllegalArgumentException("startTokens: empty; use null for the whole vocabulary");
            startTokens = startTokens.clone();
        }
    }

    /** The paper's recipe scaled down: 3 greedy tokens, then temperature 1 over all tokens, any start token. */
    public static SelfGeneratedCalibration of(int samples, int length, long seed) {
        return new SelfGeneratedCalibration(samples, length, 3, 1.0, 0, null, seed);
    }

    public SelfGeneratedCalibration withStartTokens(int... ids) {
        return new SelfGeneratedCalibration(samples, length, greedyTokens, temperature, topK, ids, seed);
    }

    public SelfGeneratedCalibration withSampling(double newTemperature, int newTopK) {
        return new SelfGeneratedCalibration(samples, length, greedyTokens, newTemperature, newTopK, startTokens, seed);
    }

    public SelfGeneratedCalibration withGreedyTokens(int n) {
        return new SelfGeneratedCalibration(samples, length, n, temperature, topK, startTokens, seed);
    }

    @Override
    public int[] startTokens() {
        return startTokens == null ? null : startTokens.clone();
    }

    /**
     * Generates the windows with {@code model} (run in evaluation mode, its mode restored; its weights are
     * not changed).
     *
     * @return {@code samples} windows of {@code length} token ids
     */
    public List<int[]> generate(Gpt model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (length > model.maxSequenceLength()) {
            throw new IllegalArgumentException("length = " + length + " exceeds the model's maxT = " + model.maxSequenceLength()
                    + " (a calibration window must fit the context)");
        }
        int vocab = model.config().vocabSize();
        if (startTokens != null) {
            for (int id : startTokens) {
                if (id < 0 || id >= vocab) throw new IllegalArgumentException("startTokens: id " + id + " is outside [0, " + vocab + ")");
            }
        }
        List<int[]> out = new ArrayList<>(samples);
        for (int i = 0; i < samples; i++) {
            SplittableRandom pick = new SplittableRandom(Seeds.mix(seed, 2L * i));
            int start = startTokens == null ? pick.nextInt(vocab) : startTokens[pick.nextInt(startTokens.length)];
            int[] prefix = TextSampler.generate(model, new int[] {start}, TextSampler.Options.greedy(greedyTokens));
            int[] window = TextSampler.generate(model, prefix,
                    new TextSampler.Options(length - prefix.length, temperature, topK, Seeds.mix(seed, 2L * i + 1)));
            out.add(window);
        }
        return out;
    }

    /** All windows concatenated (e.g. for {@link Gptq#calibrationWindows}). */
    public static int[] concatenate(List<int[]> windows) {
        int n = 0;
        for (int[] w : windows) n += w.length;
        int[] all = new int[n];
        int at = 0;
        for (int[] w : windows) {
            System.arraycopy(w, 0, all, at, w.length);
            at += w.length;
        }
        return all;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SelfGeneratedCalibration c && samples == c.samples && length == c.length
                && greedyTokens == c.greedyTokens && Double.compare(temperature, c.temperature) == 0 && topK == c.topK
                && Arrays.equals(startTokens, c.startTokens) && seed == c.seed;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(samples, length, greedyTokens, temperature, topK, Arrays.hashCode(startTokens), seed);
    }

    @Override
    public String toString() {
        return "SelfGeneratedCalibration[samples=" + samples + ", length=" + length + ", greedyTokens=" + greedyTokens
                + ", temperature=" + temperature + ", topK=" + topK + ", startTokens="
                + (startTokens == null ? "all" : Arrays.toString(startTokens)) + ", seed=" + seed + "]";
    }
}
