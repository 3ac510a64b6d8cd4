package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.ArrayList;
import java.util.List;

/**
 * Perplexity of a causal language model on a token stream of N tokens, ppl = exp(total NLL / predicted
 * tokens), with the log-softmax taken in double from the model's logits. Two protocols, context T:
 * <ul>
 *   <li><b>non-overlapping</b> ({@link #evaluate(Gpt, int[], int, int)}): windows [0, T), [T, 2T), ...; in
 *       each window every token after the first is predicted from the tokens before it in the window,
 *       so a full window gives T - 1 predictions and a last window of length r gives r - 1;</li>
 *   <li><b>sliding</b> ({@link #evaluate(Gpt, int[], int, int, int)}, Hugging Face's "perplexity of
 *       fixed-length models" loop): windows [k*stride, min(k*stride + T, N)) for k = 0, 1, ... until one
 *       reaches N; a window scores only its tokens after the previous window's end (all of the first
 *       window), never its own first position. With stride &lt; T every token after the first is scored
 *       exactly once, with up to T - 1 tokens of context; stride = T is the non-overlapping protocol.</li>
 * </ul>
 * Windows of length T are run B at a time through {@link Gpt#forward} in evaluation mode (logits only), or
 * any {@link CausalLm} (e.g. a packed quantized model); a shorter last window runs alone.
 */
public final class Perplexity {
    private Perplexity() {}

    /**
     * @param perplexity      exp(nll)
     * @param nll             mean negative log-likelihood per predicted token (nats)
     * @param tokensPredicted number of scored tokens
     * @param seconds         wall time of the evaluation (s)
     * @param tokensPerSecond tokens run through the model (window tokens, scored or not) per second
     */
    public record Result(double perplexity, double nll, long tokensPredicted, double seconds, double tokensPerSecond) {}

    /** One window: tokens [start, end) of the stream, positions [firstScored, end - start) of it scored. */
    record Window(int start, int end, int firstScored) {
        int length() { return end - start; }

        int scored() { return length() - firstScored; }
    }

    /** The non-overlapping protocol with windows of the context T, B windows per forward. */
    public static Result evaluate(Gpt model, int[] tokens, int contextLength, int batchSize) {
        return evaluate(model, tokens, contextLength, contextLength, batchSize);
    }

    /**
     * The sliding-window protocol.
     *
     * @param model         the model (maxB &gt;= batchSize, maxT &gt;= contextLength)
     * @param tokens        the stream, length &gt;= 2, ids in [0, vocab_size)
     * @param contextLength T, in [2, model max sequence length]
     * @param stride        window advance, in [1, T]
     * @param batchSize     B, windows per forward, in [1, model max batch]
     */
    public static Result evaluate(Gpt model, int[] tokens, int contextLength, int stride, int batchSize) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return evaluate(CausalLm.of(model), tokens, contextLength, stride, batchSize);
    }

    /** The non-overlapping protocol on any causal LM (e.g. a packed quantized model). */
    public static Result evaluate(CausalLm model, int[] tokens, int contextLength, int batchSize) {
        return evaluate(model, tokens, contextLength, contextLength, batchSize);
    }

    /** The sliding-window protocol on any causal LM (e.g. a packed quantized model); parameters as above. */
    public static Result evaluate(CausalLm model, int[] tokens, int contextLength, int stride, int batchSize) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        List<Window> windows = checkedWindows(model.maxBatch(), model.maxSequenceLength(), model.vocabSize(), tokens,
                contextLength, stride, batchSize);
        Scan s = scan(model, null, tokens, windows, batchSize);
        return s.result(s.nll);
    }

    /**
     * A model against a reference on the same scored positions (e.g. a quantized model against its float
     * original): both perplexities and the mean KL(p_reference || p_model) of the next-token distributions,
     * in nats per scored token, computed in double from the logits.
     */
    public record Comparison(Result reference, Result model, double meanKl) {}

    /** {@link #compare(CausalLm, CausalLm, int[], int, int)} of two GPTs (each in evaluation mode). */
    public static Comparison compare(Gpt reference, Gpt model, int[] tokens, int contextLength, int batchSize) {
        if (reference == null) throw new IllegalArgumentException("reference: must not be null");
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return compare(CausalLm.of(reference), CausalLm.of(model), tokens, contextLength, batchSize);
    }

    /**
     * Scores {@code model} and {@code reference} on the same windows of the non-overlapping protocol (context T,
     * B windows per forward; both models are run on each batch in turn).
     *
     * @throws IllegalArgumentException if the vocabularies differ, or as {@link #evaluate(Gpt, int[], int, int)}
     */
    public static Comparison compare(CausalLm reference, CausalLm model, int[] tokens, int contextLength, int batchSize) {
        if (reference == null) throw new IllegalArgumentException("reference: must not be null");
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (reference.vocabSize() != model.vocabSize()) {
            throw new IllegalArgumentException("reference, model: vocab_size " + reference.vocabSize() + " vs "
                    + model.vocabSize() + "; the next-token distributions must be over the same vocabulary");
        }
        int maxB = Math.min(reference.maxBatch(), model.maxBatch());
        int maxT = Math.min(reference.maxSequenceLength(), model.maxSequenceLength());
        List<Window> windows = checkedWindows(maxB, maxT, model.vocabSize(), tokens, contextLength, contextLength, batchSize);
        Scan s = scan(model, reference, tokens, windows, batchSize);
        return new Comparison(s.result(s.referenceNll), s.result(s.nll), s.kl / s.predicted);
    }

    /** Sums over the scored positions of a scan. */
    private static final class Scan {
        double nll, referenceNll, kl, seconds;
        long predicted, seen;

        Result result(double totalNll) {
            double mean = totalNll / predicted;
            return new Result(Math.exp(mean), mean, predicted, seconds, seen / Math.max(seconds, 1e-9));
        }
    }

    /**
     * The windows' summed NLL, batched by equal length, and with a reference, the reference's NLL and the KL to it
     * (the two models' logits are separate buffers: a model's logits stay valid until its next call).
     */
    private static Scan scan(CausalLm model, CausalLm reference, int[] tokens, List<Window> windows, int batchSize) {
        long t0 = System.nanoTime();
        Scan s = new Scan();
        int i = 0;
        while (i < windows.size()) {
            int t = windows.get(i).length();
            int b = 0;
            while (i + b < windows.size() && b < batchSize && windows.get(i + b).length() == t) b++;
            int[] ids = new int[b * t];                                            // [b, t]
            for (int r = 0; r < b; r++) System.arraycopy(tokens, windows.get(i + r).start(), ids, r * t, t);
            FloatTensor logits = model.logits(ids, b, t);                          // [b*t, V]
            FloatTensor ref = reference == null || reference == model ? (reference == null ? null : logits)
                    : reference.logits(ids, b, t);                                 // [b*t, V]
            for (int r = 0; r < b; r++) {
                Window w = windows.get(i + r);
                for (int p = w.firstScored(); p < t; p++) {
                    int row = r * t + p - 1, target = tokens[w.start() + p];
                    s.nll += LogitRows.nll(logits, row, target);
                    if (ref != null) {
                        s.referenceNll += LogitRows.nll(ref, row, target);
                        s.kl += LogitRows.kl(ref, logits, row);
                    }
                }
                s.predicted += w.scored();
            }
            s.seen += (long) b * t;
            i += b;
        }
        s.seconds = (System.nanoTime() - t0) / 1e9;
        return s;
    }

    /** The arguments checked against a model of capacity maxB x maxT and {@code vocab}; the protocol's windows. */
    private static List<Window> checkedWindows(int maxB, int maxT, int vocab, int[] tokens, int contextLength, int stride,
                                               int batchSize) {
        if (tokens == null) throw new IllegalArgumentException("tokens: must not be null");
        if (batchSize < 1 || batchSize > maxB) {
            throw new IllegalArgumentException("batchSize: must be in [1, model max batch = " + maxB + "] but was " + batchSize);
        }
        if (contextLength < 2 || contextLength > maxT) {
            throw new IllegalArgumentException("contextLength: must be in [2, model max sequence length = " + maxT
                    + "] but was " + contextLength);
        }
        List<Window> windows = windows(tokens.length, contextLength, stride);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("tokens: id " + tokens[i] + " at position " + i
                        + " is outside [0, vocab_size = " + vocab + ")");
            }
        }
        return windows;
    }

    /** Number of tokens the non-overlapping protocol predicts on N tokens with context T. */
    public static long predictedTokens(int n, int contextLength) {
        return predictedTokens(n, contextLength, contextLength);
    }

    /** Number of tokens the sliding protocol predicts on N tokens with context T and {@code stride}. */
    public static long predictedTokens(int n, int contextLength, int stride) {
        long s = 0;
        for (Window w : windows(n, contextLength, stride)) s += w.scored();
        return s;
    }

    /** The windows of the protocol (windows that score nothing left out). */
    static List<Window> windows(int n, int contextLength, int stride) {
        if (n < 2) throw new IllegalArgumentException("tokens: need at least 2 tokens to predict one but got " + n);
        if (contextLength < 2) throw new IllegalArgumentException("contextLength: must be >= 2 but was " + contextLength);
        if (stride < 1 || stride > contextLength) {
            throw new IllegalArgumentException("stride: must be in [1, contextLength = " + contextLength + "] but was "
                    + stride);
        }
        List<Window> out = new ArrayList<>();
        int prevEnd = 0;
        for (int begin = 0; begin < n; begin += stride) {
            int end = Math.min(begin + contextLength, n);
            int targetLen = end - prevEnd;                                  // tokens not scored before
            int firstScored = Math.max(1, end - begin - targetLen);
            if (end - begin > firstScored) out.add(new Window(begin, end, firstScored));
            prevEnd = end;
            if (end == n) break;
        }
        return out;
    }
}
