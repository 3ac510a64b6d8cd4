package org.distillery.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.util.Seeds;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Masked-language-model batches for BERT (Devlin et al. 2019, section 3.1 and appendix A.1) from a list
 * of token sequences (e.g. {@link #windows} of a WordPiece stream), as a pure function of (seed, row
 * index). Row index i holds:
 * <ul>
 *   <li>sequence number {@code new SplittableRandom(Seeds.mix(seed, i)).nextInt(n)} ({@link #fill}, drawn
 *       with replacement, for training) or sequence i itself ({@link #fillSequences}, for evaluation);</li>
 *   <li>as {@code [CLS] tokens [SEP]} right-padded with {@code [PAD]} to T, with length = tokens + 2;</li>
 *   <li>masking drawn from {@code new SplittableRandom(Seeds.mix(Seeds.mix(seed, MASK_STREAM), i))}: of the
 *       C candidate positions (the sequence's tokens that are not special tokens: never [CLS], [SEP],
 *       padding, nor a [UNK] or [MASK] in the text) choose k = max(1, round(maskProb * C)) uniformly without
 *       replacement (k = 0 when C = 0), as BERT's {@code create_pretraining_data.py}; each chosen position
 *       independently becomes [MASK] with probability 0.8, a token drawn uniformly from the non-special
 *       vocabulary with probability 0.1, or stays unchanged with probability 0.1;</li>
 *   <li>labels: the original id at the chosen positions, {@link Bert#IGNORE_INDEX} (-100) everywhere else.</li>
 * </ul>
 * So a resumed run draws exactly the batches it would have drawn, and micro-batches over consecutive
 * index ranges see the rows of the full batch.
 */
public final class MaskedLmBatches {
    /** Probability that a chosen position becomes [MASK], resp. a random token (else it is kept). */
    public static final double MASK_TOKEN = 0.8, RANDOM_TOKEN = 0.1;
    /** BERT's fraction of masked positions. */
    public static final double BERT_MASK_PROB = 0.15;
    private static final long MASK_STREAM = 0x6D61736B4C4DL;

    /**
     * The token ids masking needs.
     *
     * @param size    vocabulary size V
     * @param pad     [PAD]
     * @param cls     [CLS]
     * @param sep     [SEP]
     * @param mask    [MASK]
     * @param special every special id (the four above and [UNK]): never chosen, never a random replacement
     */
    public record Vocabulary(int size, int pad, int cls, int sep, int mask, List<Integer> special) {
        public Vocabulary {
            if (size < 1) throw new IllegalArgumentException("size: must be >= 1 but was " + size);
            special = List.copyOf(special);
            for (int id : new int[] {pad, cls, sep, mask}) {
                if (id < 0 || id >= size) throw new IllegalArgumentException("special id " + id + " is outside [0, " + size + ")");
                if (!special.contains(id)) throw new IllegalArgumentException("special: must contain " + id + " but was " + special);
            }
            for (int id : special) {
                if (id < 0 || id >= size) throw new IllegalArgumentException("special: id " + id + " is outside [0, " + size + ")");
            }
            if (new java.util.HashSet<>(special).size() >= size) {
                throw new IllegalArgumentException("special: " + special + " covers the whole vocabulary of " + size
                        + "; random replacements need a non-special token");
            }
        }

        /** The ids of a WordPiece tokenizer ({@link WordPieceTokenizer#SPECIAL_TOKENS} are the special ones). */
        public static Vocabulary of(WordPieceTokenizer tok) {
            List<Integer> sp = new ArrayList<>();
            for (String s : WordPieceTokenizer.SPECIAL_TOKENS) sp.add(tok.id(s));
            return new Vocabulary(tok.vocabSize(), tok.padId(), tok.clsId(), tok.sepId(), tok.maskId(), sp);
        }
    }

    private final List<int[]> sequences;
    private final int seqLen;
    private final Vocabulary vocab;
    private final double maskProb;
    private final long seed;
    private final boolean[] isSpecial;         // [V]
    private final int[] nonSpecial;            // the ids a random replacement is drawn from
    private final int[] candidates;            // scratch: candidate positions of one row

    /**
     * @param sequences token sequences without special markers (not copied; must not change), each of
     *                  length in [1, seqLen - 2], ids in [0, V)
     * @param seqLen    T, the row length including [CLS] and [SEP], &gt;= 3
     * @param vocab     the special ids
     * @param maskProb  fraction of candidate positions to choose, in (0, 1] (BERT: 0.15)
     * @param seed      the sampling and masking seed
     */
    public MaskedLmBatches(List<int[]> sequences, int seqLen, Vocabulary vocab, double maskProb, long seed) {
        if (vocab == null) throw new IllegalArgumentException("vocab: must not be null");
        if (seqLen < 3) throw new IllegalArgumentException("seqLen: must be >= 3 ([CLS], a token, [SEP]) but was " + seqLen);
        if (!(maskProb > 0 && maskProb <= 1)) throw new IllegalArgumentException("maskProb: must be in (0, 1] but was " + maskProb);
        if (sequences == null || sequences.isEmpty()) throw new IllegalArgumentException("sequences: must not be null or empty");
        for (int s = 0; s < sequences.size(); s++) {
            int[] q = sequences.get(s);
            if (q == null || q.length < 1 || q.length > seqLen - 2) {
                throw new IllegalArgumentException("sequences: sequence " + s + " has length "
                        + (q == null ? "null" : q.length) + " but must be in [1, seqLen - 2 = " + (seqLen - 2) + "]");
            }
            for (int i = 0; i < q.length; i++) {
                if (q[i] < 0 || q[i] >= vocab.size()) {
                    throw new IllegalArgumentException("sequences: token " + q[i] + " at position " + i + " of sequence " + s
                            + " is outside [0, vocab size = " + vocab.size() + ")");
                }
            }
        }
        this.sequences = sequences;
        this.seqLen = seqLen;
        this.vocab = vocab;
        this.maskProb = maskProb;
        this.seed = seed;
        this.isSpecial = new boolean[vocab.size()];
        for (int id : vocab.special()) isSpecial[id] = true;
        int[] ns = new int[vocab.size()];
        int n = 0;
        for (int id = 0; id < vocab.size(); id++) if (!isSpecial[id]) ns[n++] = id;
        this.nonSpecial = Arrays.copyOf(ns, n);
        this.candidates = new int[seqLen];
    }

    /**
     * A token stream cut into consecutive windows of {@code length} tokens (the last one shorter when
     * the stream does not divide evenly).
     *
     * @param length window length, &gt;= 1 (for rows of T: T - 2)
     */
    public static List<int[]> windows(int[] stream, int length) {
        if (stream == null || stream.length == 0) throw new IllegalArgumentException("stream: must not be null or empty");
        if (length < 1) throw new IllegalArgumentException("length: must be >= 1 but was " + length);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < stream.length; s += length) out.add(Arrays.copyOfRange(stream, s, Math.min(stream.length, s + length)));
        return out;
    }

    /** The number of sequences n. */
    public int size() { return sequences.size(); }

    public int seqLen() { return seqLen; }

    public long seed() { return seed; }

    public double maskProb() { return maskProb; }

    public Vocabulary vocabulary() { return vocab; }

    /** The sequence number row index {@code index} draws in {@link #fill}, in [0, n). */
    public int sequenceOf(long index) {
        if (index < 0) throw new IllegalArgumentException("index: must be >= 0 but was " + index);
        return new SplittableRandom(Seeds.mix(seed, index)).nextInt(sequences.size());
    }

    /**
     * Fills {@code b} training rows, indices [firstIndex, firstIndex + b), each a randomly drawn sequence
     * ({@link #sequenceOf}) masked with the row index's masking stream.
     *
     * @param ids     [b*T] output: masked input ids
     * @param lengths [b] output: [CLS] + tokens + [SEP] per row
     * @param labels  [b*T] output: original ids at chosen positions, -100 elsewhere
     */
    public void fill(long firstIndex, int b, int[] ids, int[] lengths, int[] labels) {
        if (firstIndex < 0) throw new IllegalArgumentException("firstIndex: must be >= 0 but was " + firstIndex);
        checkOut(b, ids, lengths, labels);
        for (int r = 0; r < b; r++) row(sequenceOf(firstIndex + r), firstIndex + r, r, ids, lengths, labels);
    }

    /**
     * Fills {@code b} rows with sequences [first, first + b) in order, sequence j masked with masking
     * stream j (evaluation: every sequence once, the same masks every time).
     */
    public void fillSequences(int first, int b, int[] ids, int[] lengths, int[] labels) {
        if (first < 0 || b < 1 || (long) first + b > sequences.size()) {
            throw new IllegalArgumentException("first, b: sequences [" + first + ", " + ((long) first + b)
                    + ") must lie in [0, n = " + sequences.size() + ")");
        }
        checkOut(b, ids, lengths, labels);
        for (int r = 0; r < b; r++) row(first + r, first + r, r, ids, lengths, labels);
    }

    private void checkOut(int b, int[] ids, int[] lengths, int[] labels) {
        if (b < 1) throw new IllegalArgumentException("b: must be >= 1 but was " + b);
        long n = (long) b * seqLen;
        if (ids == null || ids.length < n) throw new IllegalArgumentException("ids: length must be >= b*T = " + n
                + " but was " + (ids == null ? "null" : ids.length));
        if (labels == null || labels.length < n) throw new IllegalArgumentException("labels: length must be >= b*T = " + n
                + " but was " + (labels == null ? "null" : labels.length));
        if (lengths == null || lengths.length < b) throw new IllegalArgumentException("lengths: length must be >= b = " + b
                + " but was " + (lengths == null ? "null" : lengths.length));
    }

    /** Row r of the outputs: sequence {@code s} with the masks of stream {@code maskIndex}. */
    private void row(int s, long maskIndex, int r, int[] ids, int[] lengths, int[] labels) {
        int[] q = sequences.get(s);
        int o = r * seqLen, len = q.length + 2;
        ids[o] = vocab.cls();
        System.arraycopy(q, 0, ids, o + 1, q.length);
        ids[o + len - 1] = vocab.sep();
        Arrays.fill(ids, o + len, o + seqLen, vocab.pad());
        Arrays.fill(labels, o, o + seqLen, Bert.IGNORE_INDEX);
        lengths[r] = len;
        int c = 0;
        for (int p = 1; p <= q.length; p++) if (!isSpecial[ids[o + p]]) candidates[c++] = p;
        if (c == 0) return;
        int k = (int) Math.max(1, Math.round(maskProb * c));
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(Seeds.mix(seed, MASK_STREAM), maskIndex));
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(c - i);                   // partial Fisher-Yates: candidates[0..k) chosen
            int p = candidates[j];
            candidates[j] = candidates[i];
            candidates[i] = p;
            labels[o + p] = ids[o + p];
            double u = rnd.nextDouble();
            if (u < MASK_TOKEN) {
                ids[o + p] = vocab.mask();
            } else if (u < MASK_TOKEN + RANDOM_TOKEN) {
                ids[o + p] = nonSpecial[rnd.nextInt(nonSpecial.length)];
            }
        }
    }

    /**
     * What determines the rows: T, maskProb, seed, the vocabulary ids and a fingerprint of the sequences
     * (their lengths and tokens), for checkpoints.
     */
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("seq_len", seqLen);
        o.put("mask_prob", maskProb);
        o.put("seed", seed);
        o.put("vocab_size", vocab.size());
        o.put("pad", vocab.pad()).put("cls", vocab.cls()).put("sep", vocab.sep()).put("mask", vocab.mask());
        var sp = o.putArray("special");
        for (int id : vocab.special()) sp.add(id);
        int total = 0;
        for (int[] q : sequences) total += q.length + 1;
        int[] flat = new int[total];
        int at = 0;
        for (int[] q : sequences) {
            flat[at++] = -1 - q.length;                       // a separator that also encodes the length
            System.arraycopy(q, 0, flat, at, q.length);
            at += q.length;
        }
        o.set("sequences", Fingerprints.of(flat).put("count", sequences.size()));
        return o;
    }
}
