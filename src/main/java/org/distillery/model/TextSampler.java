package org.distillery.model;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.distillery.engine.kernels.FloatTensor;

/**
 * Generates text from a {@link Gpt}: each new token is drawn from the model's next-token distribution
 * given the last {@code min(length, context)} tokens.
 * <ul>
 *   <li>{@code temperature == 0}: greedy (the arg-max token, the lowest id on ties);</li>
 *   <li>{@code temperature > 0}: sampling from softmax(logits / temperature), restricted to the
 *       {@code topK} most likely tokens when {@code topK > 0} (ties at the cut-off are kept), with a
 *       seeded generator, so the same options give the same text.</li>
 * </ul>
 * No key/value cache: every step re-runs the window (simple and exact; fine for the project's small
 * models).
 */
public final class TextSampler {
    private TextSampler() {}

    /**
     * @param maxNewTokens tokens to generate (>= 0)
     * @param temperature  0 for greedy, else > 0
     * @param topK         0 for no restriction, else the number of most likely tokens to sample from
     * @param seed         seed of the sampling generator
     */
    public record Options(int maxNewTokens, double temperature, int topK, long seed) {
        public Options {
            if (maxNewTokens < 0) {
                throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
            }
            if (!(temperature >= 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be 0 (greedy) or a finite value > 0, got "
                        + temperature);
            }
            if (topK < 0) {
                throw new IllegalArgumentException("topK must be >= 0 (0 = all tokens), got " + topK);
            }
        }

        /** Greedy decoding of {@code n} tokens. */
        public static Options greedy(int n) {
            return new Options(n, 0, 0, 0);
        }
    }

    /** The prompt followed by the generated tokens. */
    public static int[] generate(Gpt model, int[] prompt, Options o) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must hold at least one token");
        }
        return model.inEvalMode(() -> sample(model, prompt, o));
    }

    /** The sampling loop; the model is in evaluation mode. */
    private static int[] sample(Gpt model, int[] prompt, Options o) {
        int context = model.maxSequenceLength();
        int vocab = model.config().vocabSize();
        int[] out = Arrays.copyOf(prompt, prompt.length + o.maxNewTokens());
        SplittableRandom rnd = new SplittableRandom(o.seed());
        double[] p = new double[vocab];
        for (int n = prompt.length; n < out.length; n++) {
            int t = Math.min(n, context);
            int[] window = Arrays.copyOfRange(out, n - t, n);   // [t]
            model.forward(window, null, 1, t);
            FloatTensor logits = model.logits();                 // [t, V]: the last row predicts token n
            out[n] = next(logits, (t - 1) * vocab, vocab, o, rnd, p);
        }
        return out;
    }

    /** The text generated after {@code prompt} (the prompt itself not included). */
    public static String complete(Gpt model, org.distillery.tokenize.Tokenizer tokenizer, String prompt, Options o) {
        int[] p = tokenizer.encode(prompt);
        int[] out = generate(model, p, o);
        return tokenizer.decode(Arrays.copyOfRange(out, p.length, out.length));
    }

    /** The next token from the logits at {@code logits[offset .. offset+vocab)}. */
    static int next(FloatTensor logits, int offset, int vocab, Options o, SplittableRandom rnd, double[] p) {
        if (o.temperature() == 0) {
            int best = 0;
            for (int v = 1; v < vocab; v++) {
                if (logits.get(offset + v) > logits.get(offset + best)) {
                    best = v;
                }
            }
            return best;
        }
        double cut = Double.NEGATIVE_INFINITY;
        if (o.topK() > 0 && o.topK() < vocab) {
            double[] sorted = new double[vocab];
            for (int v = 0; v < vocab; v++) {
                sorted[v] = logits.get(offset + v);
            }
            Arrays.sort(sorted);
            cut = sorted[vocab - o.topK()];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            max = Math.max(max, logits.get(offset + v));
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
            double z = logits.get(offset + v);
            p[v] = z >= cut ? Math.exp((z - max) / o.temperature()) : 0;
            sum += p[v];
        }
        double u = rnd.nextDouble() * sum;
        for (int v = 0; v < vocab; v++) {
            u -= p[v];
            if (u < 0) {
                return v;
            }
        }
        int last = vocab - 1;   // rounding left u >= 0: the last token with non-zero probability
        while (p[last] == 0) {
            last--;
        }
        return last;
    }
}
