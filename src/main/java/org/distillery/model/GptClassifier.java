package org.distillery.model;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;

/**
 * Sequence classification on a {@link Gpt}, as Hugging Face's {@code GPT2ForSequenceClassification}: with h the
 * model's last hidden state (after ln_f), E the width and C the number of classes,
 * <pre>
 *   c      = h[b, len_b - 1]                  [B, E]   the last real token of each sequence
 *   logits = c Ws^T                           [B, C]   score (no bias, as in GPT-2's head)
 *   loss   = mean cross-entropy over the B labels
 * </pre>
 * Sequences are right-padded; attention is causal, so the last real token never sees the padding and the
 * padding's ids do not matter. The GPT's forward still computes its LM logits (unused); the gradient reaches
 * it through {@code backward(null, dhidden)} with dhidden non-zero only on the B last-token rows.
 * {@link #parameters()} are the GPT's (its tied embedding included: it is the token embedding) and
 * {@code score.weight}. Head initialisation as GPT-2: N(0, 0.02). Dropout is the GPT's own
 * ({@link Gpt#setDropout}); HF's head adds none.
 *
 * <p>Saved as the GPT's Hugging Face directory plus {@value HeadedClassifier#NAME}; {@link #load} reads both.
 */
public final class GptClassifier extends HeadedClassifier {
    private final Gpt gpt;
    private final int embd;
    private final FloatTensor scoreW, dscoreW;                  // [C, E]
    private final Map<Integer, Buffers> byBatch = new HashMap<>();
    private final Map<Integer, FloatTensor> dhiddenByRows = new HashMap<>();
    private Buffers buf;
    private int lastT;
    private boolean hasLoss;

    /** The head's activations for B sequences. */
    private static final class Buffers {
        final FloatTensor last, logits, dlogits, dlast;          // [B, E], [B, C], [B, C], [B, E]
        final int[] labels, rows;                                // [B], [B]: row of h each last token is

        Buffers(int b, int e, int c) {
            last = FloatTensor.zeros(b, e);
            logits = FloatTensor.zeros(b, c);
            dlogits = FloatTensor.zeros(b, c);
            dlast = FloatTensor.zeros(b, e);
            labels = new int[b];
            rows = new int[b];
        }
    }

    /**
     * A classifier on {@code gpt} (used, not copied: e.g. a pre-trained or compressed model to fine-tune)
     * with a new head.
     *
     * @param classes C &gt;= 2
     * @param seed    head initialisation
     */
    public GptClassifier(Gpt gpt, int classes, long seed) {
        this(gpt, classes);
        Random r = new Random(seed);
        for (int i = 0; i < scoreW.size(); i++) scoreW.set(i, (float) (0.02 * r.nextGaussian()));
    }

    private GptClassifier(Gpt gpt, int classes) {
        super(gpt, "gpt", classes);
        this.gpt = gpt;
        this.embd = gpt.config().nEmbd();
        scoreW = head.add("score.weight", classes, embd);
        dscoreW = head.grad("score.weight");
        collect(name -> true);
    }

    @Override
    public double forward(int[] ids, int[] lengths, int[] labels, int b, int t) {
        if (lengths == null || lengths.length != b) {
            throw new IllegalArgumentException("lengths: need one length per sequence (b = " + b + ") but got "
                    + (lengths == null ? "null" : lengths.length));
        }
        for (int i = 0; i < b; i++) {
            if (lengths[i] < 1 || lengths[i] > t) {
                throw new IllegalArgumentException("lengths: length " + lengths[i] + " of sequence " + i
                        + " is outside [1, t = " + t + "]");
            }
        }
        if (labels != null) {
            if (labels.length != b) throw new IllegalArgumentException("labels: length " + labels.length + " but b = " + b);
            for (int i = 0; i < b; i++) {
                if (labels[i] < 0 || labels[i] >= classes) {
                    throw new IllegalArgumentException("labels: class " + labels[i] + " of sequence " + i
                            + " is outside [0, " + classes + ")");
                }
            }
        }
        gpt.forward(ids, null, b, t);
        buf = byBatch.computeIfAbsent(b, k -> new Buffers(k, embd, classes));
        lastT = t;
        FloatTensor h = gpt.lastHiddenState();                                     // [B*T, E]
        for (int r = 0; r < b; r++) {
            int row = r * t + lengths[r] - 1;
            buf.rows[r] = row;
            for (int j = 0; j < embd; j++) buf.last.set(r * embd + j, h.get(row * embd + j));
        }
        LinearKernel.forward(buf.last, scoreW, null, buf.logits);                  // [B, C]
        hasLoss = labels != null;
        if (!hasLoss) return Double.NaN;
        System.arraycopy(labels, 0, buf.labels, 0, b);
        return CrossEntropyKernel.forwardBackward(buf.logits, buf.labels, CrossEntropyKernel.DEFAULT_IGNORE_INDEX,
                buf.dlogits);
    }

    @Override
    public void backward() {
        if (!hasLoss) throw new IllegalStateException("backward: the last forward had no labels (or there was none)");
        LinearKernel.backward(buf.dlogits, buf.last, scoreW, buf.dlast, dscoreW, null);
        int b = buf.labels.length, n = b * lastT;
        FloatTensor dh = dhiddenByRows.computeIfAbsent(n, k -> FloatTensor.zeros(k, embd));   // [B*T, E]
        dh.fill(0f);
        for (int r = 0; r < b; r++) {
            int row = buf.rows[r];
            for (int j = 0; j < embd; j++) dh.set(row * embd + j, buf.dlast.get(r * embd + j));
        }
        gpt.backward(null, dh);
    }

    @Override
    public FloatTensor logits() {
        if (buf == null) throw new IllegalStateException("logits: no forward has run yet");
        return buf.logits;
    }

    @Override
    public void setDropout(double p, long seed) {
        gpt.setDropout(p, seed);
    }

    /** Training mode (the GPT's {@link Gpt#train()}: dropout, if set; eval forwards did not advance its masks). */
    @Override
    public GptClassifier train() {
        gpt.train();
        return this;
    }

    /** Evaluation mode (the GPT's {@link Gpt#eval()}: no dropout, forward only). */
    @Override
    public GptClassifier eval() {
        gpt.eval();
        return this;
    }

    /** The GPT under the head. */
    public Gpt body() { return gpt; }

    @Override
    public int vocabSize() { return gpt.config().vocabSize(); }

    @Override
    public int maxBatch() { return gpt.maxBatch(); }

    @Override
    public int maxSequenceLength() { return gpt.maxSequenceLength(); }

    /** Reads a directory written by {@link #save}. */
    public static GptClassifier load(Path dir, int maxB, int maxT) {
        int classes = HeadedClassifier.storedClasses(dir, "Gpt.load");
        GptClassifier m = new GptClassifier(Gpt.load(dir, maxB, maxT), classes);
        m.readHead(dir);
        return m;
    }
}
