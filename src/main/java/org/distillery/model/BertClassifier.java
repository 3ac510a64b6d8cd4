package org.distillery.model;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.CrossEntropyKernel;
import org.distillery.engine.kernels.DropoutKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.distillery.engine.kernels.TanhKernel;
import org.distillery.util.Seeds;

/**
 * Sequence classification on a {@link Bert} encoder, as Hugging Face's {@code BertForSequenceClassification}:
 * with h the encoder's last hidden state, H the width and C the number of classes,
 * <pre>
 *   c      = h[b, 0]                          [B, H]   the [CLS] position of each sequence
 *   pooled = tanh(c Wp^T + bp)                [B, H]   bert.pooler.dense
 *   logits = dropout(pooled) Wc^T + bc        [B, C]   classifier
 *   loss   = mean cross-entropy over the B labels
 * </pre>
 * The encoder runs without its MLM head ({@link Bert#forwardEncoder}); the gradient reaches it through
 * {@code backward(null, dhidden)} with dhidden non-zero only on the [CLS] rows. {@link #parameters()} are
 * the encoder's (the unused MLM head excluded, so the optimiser neither updates nor decays it) and the
 * head's. Head initialisation as BERT: weights N(0, 0.02), biases 0. Dropout on the pooled output (HF's
 * {@code classifier_dropout}, default the hidden dropout) applies in training mode only.
 *
 * <p>Saved as the encoder's Hugging Face BERT directory plus {@value #HEAD_FILE} (the pooler and
 * classifier under their HF names); {@link #load} reads both.
 */
public final class BertClassifier extends HeadedClassifier {
    /** The file holding the pooler and classifier tensors beside the encoder's model.safetensors. */
    public static final String HEAD_FILE = HeadedClassifier.NAME;

    private final Bert bert;
    private final int hidden;
    private final FloatTensor poolW, poolB, clsW, clsB;          // [H, H], [H], [C, H], [C]
    private final FloatTensor dpoolW, dpoolB, dclsW, dclsB;
    private final Map<Integer, Buffers> byBatch = new HashMap<>();
    private final Map<Integer, FloatTensor> dhiddenByRows = new HashMap<>();
    private Buffers buf;
    private int lastT;                                         // T of the last forward (B is buf.b)
    private boolean training = true, hasLoss;
    private double dropout;
    private long encoderSeed, dropoutSeed, forwardCount, stepSeed;

    /** The head's activations for B sequences. */
    private static final class Buffers {
        final int b;
        final FloatTensor cls, pre, pooled, dropped, logits, dlogits, dpooled, dpre, dcls;  // [B, H] / [B, C]
        final int[] labels;

        Buffers(int b, int h, int c) {
            this.b = b;
            cls = FloatTensor.zeros(b, h);
            pre = FloatTensor.zeros(b, h);
            pooled = FloatTensor.zeros(b, h);
            dropped = FloatTensor.zeros(b, h);
            logits = FloatTensor.zeros(b, c);
            dlogits = FloatTensor.zeros(b, c);
            dpooled = FloatTensor.zeros(b, h);
            dpre = FloatTensor.zeros(b, h);
            dcls = FloatTensor.zeros(b, h);
            labels = new int[b];
        }
    }

    /**
     * A classifier on {@code bert} (used, not copied: e.g. a pre-trained encoder to fine-tune) with a new head.
     *
     * @param classes C &gt;= 2
     * @param seed    head initialisation
     */
    public BertClassifier(Bert bert, int classes, long seed) {
        this(bert, classes);
        Random r = new Random(seed);
        for (FloatTensor w : new FloatTensor[] {poolW, clsW}) {
            for (int i = 0; i < w.size(); i++) w.set(i, (float) (0.02 * r.nextGaussian()));
        }
    }

    private BertClassifier(Bert bert, int classes) {
        super(bert, "bert", classes);
        this.bert = bert;
        this.hidden = bert.config().hiddenSize();
        poolW = head.add("bert.pooler.dense.weight", hidden, hidden);
        poolB = head.add("bert.pooler.dense.bias", hidden);
        clsW = head.add("classifier.weight", classes, hidden);
        clsB = head.add("classifier.bias", classes);
        dpoolW = head.grad("bert.pooler.dense.weight");
        dpoolB = head.grad("bert.pooler.dense.bias");
        dclsW = head.grad("classifier.weight");
        dclsB = head.grad("classifier.bias");
        collect(name -> !name.startsWith("cls.predictions."));              // the MLM head is not used
    }

    /**
     * Forward over B sequences of T tokens ([CLS] first, right-padded).
     *
     * @param labels class per sequence [B] in [0, C), or null for logits only
     * @return the mean cross-entropy, or NaN without labels
     */
    @Override
    public double forward(int[] ids, int[] lengths, int[] labels, int b, int t) {
        if (labels != null) {
            if (labels.length != b) throw new IllegalArgumentException("labels: length " + labels.length + " but b = " + b);
            for (int i = 0; i < b; i++) {
                if (labels[i] < 0 || labels[i] >= classes) {
                    throw new IllegalArgumentException("labels: class " + labels[i] + " of sequence " + i + " is outside [0, "
                            + classes + ")");
                }
            }
        }
        bert.forwardEncoder(ids, null, lengths, b, t);
        buf = byBatch.computeIfAbsent(b, k -> new Buffers(k, hidden, classes));
        lastT = t;
        FloatTensor h = bert.lastHiddenState();                                     // [B*T, H]
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < hidden; j++) buf.cls.set(r * hidden + j, h.get(r * t * hidden + j));
        }
        LinearKernel.forward(buf.cls, poolW, poolB, buf.pre);
        TanhKernel.forward(buf.pre, buf.pooled);
        boolean drop = training && dropout > 0;
        if (drop) {
            stepSeed = Seeds.mix(dropoutSeed, ++forwardCount);
            DropoutKernel.forward(buf.pooled, buf.dropped, dropout, stepSeed);
        }
        LinearKernel.forward(drop ? buf.dropped : buf.pooled, clsW, clsB, buf.logits);
        hasLoss = labels != null;
        if (!hasLoss) return Double.NaN;
        System.arraycopy(labels, 0, buf.labels, 0, b);
        return CrossEntropyKernel.forwardBackward(buf.logits, buf.labels, CrossEntropyKernel.DEFAULT_IGNORE_INDEX, buf.dlogits);
    }

    /** Backward of the last forward (which had labels): accumulates into {@link #gradients()}. */
    @Override
    public void backward() {
        if (!hasLoss) throw new IllegalStateException("backward: the last forward had no labels (or there was none)");
        boolean drop = training && dropout > 0;
        LinearKernel.backward(buf.dlogits, drop ? buf.dropped : buf.pooled, clsW, buf.dpooled, dclsW, dclsB);
        if (drop) DropoutKernel.backward(buf.dpooled, buf.dpooled, dropout, stepSeed);
        TanhKernel.backward(buf.dpooled, buf.pooled, buf.dpre);
        LinearKernel.backward(buf.dpre, buf.cls, poolW, buf.dcls, dpoolW, dpoolB);
        int n = buf.b * lastT;
        FloatTensor dh = dhiddenByRows.computeIfAbsent(n, k -> FloatTensor.zeros(k, hidden));   // [B*T, H], 0 but [CLS]
        for (int r = 0; r < buf.b; r++) {
            for (int j = 0; j < hidden; j++) dh.set(r * lastT * hidden + j, buf.dcls.get(r * hidden + j));
        }
        bert.backward(null, dh);
    }

    /** The logits of the last forward, [B, C] (a live buffer). */
    @Override
    public FloatTensor logits() {
        if (buf == null) throw new IllegalStateException("logits: no forward has run yet");
        return buf.logits;
    }

    /**
     * Dropout p on the pooled output and, through {@link Bert#setDropout}, in the encoder; masks are a
     * pure function of (seed, forward count).
     */
    @Override
    public void setDropout(double p, long seed) {
        bert.setDropout(p, seed);
        this.dropout = p;
        this.encoderSeed = seed;
        this.dropoutSeed = Seeds.mix(seed, 0x706F6F6CL);
        this.forwardCount = 0;
    }

    /** Training mode (dropout on, if set; the encoder's dropout masks start again from its seed). */
    @Override
    public BertClassifier train() {
        if (!training && dropout > 0) bert.setDropout(dropout, encoderSeed);
        training = true;
        return this;
    }

    /** Evaluation mode: no dropout on the pooled output (the encoder's dropout is switched off too). */
    @Override
    public BertClassifier eval() {
        training = false;
        bert.setDropout(0, 0);
        return this;
    }

    public Bert encoder() { return bert; }

    @Override
    public int vocabSize() { return bert.config().vocabSize(); }

    @Override
    public int maxBatch() { return bert.maxBatch(); }

    @Override
    public int maxSequenceLength() { return bert.maxSequenceLength(); }

    /** Reads a directory written by {@link #save}. */
    public static BertClassifier load(Path dir, int maxB, int maxT) {
        int classes = HeadedClassifier.storedClasses(dir, "Bert.load");
        BertClassifier m = new BertClassifier(Bert.load(dir, maxB, maxT), classes);
        m.readHead(dir);
        return m;
    }
}
