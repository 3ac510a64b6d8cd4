package org.distillery.quant.packed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.CausalLm;
import org.distillery.eval.LogitRows;
import org.distillery.model.Gpt;
import org.distillery.model.Mlp;
import org.distillery.notebook.Profile;
import org.distillery.train.TeacherRuns;

/**
 * What int8 activations ({@link PackedGpt#withInt8Activations()}) do to a model's predictions: the packed model
 * with exact products against the same model with integer products (W4A8 for 4-bit weights, W8A8 for 8-bit ones), on
 * windows of validation text short enough (B * T below {@link QuantizedLinear#BATCHED_FROM}) that every linear layer
 * that supports them runs an integer matrix-vector kernel.
 * Per position: KL(exact || integer) of the next-token distributions, whether the two agree on the most likely token,
 * and the cross-entropy of the true next token under each (their exponentials over all positions are the two
 * perplexities). Run on a trained model directory:
 * <pre>
 *   java --add-modules jdk.incubator.vector -XX:PerMethodTrapLimit=100000 -cp target/classes:$(cat target/classpath.txt) \
 *        org.distillery.quant.packed.Int8ActivationQuality MODEL_DIR [WINDOWS]
 * </pre>
 * (the full-profile teacher's validation bytes, {@code TeacherRuns.brownBytes(Profile.FULL)}; 3,000 windows of 3
 * tokens unless told).
 */
public final class Int8ActivationQuality {
    private Int8ActivationQuality() {}

    /** Tokens per window: 1 x 3 stays below {@link QuantizedLinear#BATCHED_FROM}. */
    public static final int WINDOW = QuantizedLinear.BATCHED_FROM - 1;

    /**
     * Averages over the positions compared.
     *
     * @param positions       positions compared (windows x {@link #WINDOW})
     * @param kl              mean KL(exact || other) in nats per token
     * @param top1Agreement   fraction of positions where both models' most likely next token is the same
     * @param perplexity      exp(mean cross-entropy of the true next token), exact model
     * @param otherPerplexity the same for the other model
     */
    public record Result(int positions, double kl, double top1Agreement, double perplexity, double otherPerplexity) {
        /** otherPerplexity / perplexity - 1. */
        public double perplexityChange() { return otherPerplexity / perplexity - 1; }
    }

    /**
     * Compares {@code other} with {@code exact} on {@code windows} windows of {@link #WINDOW} tokens of
     * {@code tokens}, starting at positions spread over the text (window w at {@code (97 w) mod (length - WINDOW)}).
     *
     * @throws IllegalArgumentException when the models' vocabularies differ, windows &lt; 1, or the text is shorter
     *                                  than two windows
     */
    public static Result compare(CausalLm exact, CausalLm other, int[] tokens, int windows) {
        if (exact.vocabSize() != other.vocabSize()) {
            throw new IllegalArgumentException("models: vocabularies of " + exact.vocabSize() + " and "
                    + other.vocabSize() + " tokens differ");
        }
        if (windows < 1) throw new IllegalArgumentException("windows: " + windows + ", need at least 1");
        if (tokens == null || tokens.length < 2 * (WINDOW + 1)) {
            throw new IllegalArgumentException("tokens: need at least " + 2 * (WINDOW + 1) + ", got "
                    + (tokens == null ? "null" : tokens.length));
        }
        double kl = 0, ce = 0, ceOther = 0;
        int agree = 0, n = 0;
        for (int w = 0; w < windows; w++) {
            int s = (int) (97L * w % (tokens.length - WINDOW));
            int[] ids = Arrays.copyOfRange(tokens, s, s + WINDOW);
            FloatTensor le = exact.logits(ids, 1, WINDOW), lo = other.logits(ids, 1, WINDOW);   // [WINDOW, vocab]
            for (int t = 0; t < WINDOW; t++) {
                kl += LogitRows.kl(le, lo, t);
                if (Mlp.argmax(le, t) == Mlp.argmax(lo, t)) agree++;
                int next = tokens[s + t + 1];
                ce += LogitRows.nll(le, t, next);
                ceOther += LogitRows.nll(lo, t, next);
                n++;
            }
        }
        return new Result(n, kl / n, (double) agree / n, Math.exp(ce / n), Math.exp(ceOther / n));
    }

    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            throw new IllegalArgumentException("arguments: MODEL_DIR [WINDOWS], got " + args.length + " arguments");
        }
        Path dir = Path.of(args[0]);
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            throw new IllegalArgumentException("MODEL_DIR: " + dir + " has no model.safetensors");
        }
        int windows = args.length > 1 ? Integer.parseInt(args[1]) : 3000;
        Gpt gpt = Gpt.load(dir, 1, WINDOW);
        int[] val = TeacherRuns.brownBytes(Profile.FULL).corpus().validation();
        for (Object[] c : new Object[][] {{PackedFormat.INT4, 128}, {PackedFormat.INT4_ASYM, 128}, {PackedFormat.Q4_0, 32}}) {
            PackedFormat f = (PackedFormat) c[0];
            int g = (Integer) c[1];
            PackedGpt exact = PackedGpt.quantize(gpt, f, g);
            Result r = compare(exact, exact.withInt8Activations(), val, windows);
            System.out.printf("%s g%d: %,d positions (windows of %d tokens, batch 1): KL(exact || A8) %.2e nats/token, "
                    + "top-1 agreement %.2f %%, perplexity exact %.4f, A8 %.4f (%+.2f %%)%n", f.id(), g, r.positions(),
                    WINDOW, r.kl(), 100 * r.top1Agreement(), r.perplexity(), r.otherPerplexity(),
                    100 * r.perplexityChange());
        }
    }
}
