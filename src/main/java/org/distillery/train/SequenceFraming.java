package org.distillery.train;

import java.util.Arrays;

/**
 * How a classification example (token ids, no special tokens) becomes one right-padded row of T ids for a
 * {@link org.distillery.model.SequenceClassifier}: BERT's {@code [CLS] x [SEP] [PAD]...} ({@link #bert}) or a
 * GPT's plain {@code x [pad]...} ({@link #plain}), the classifier reading the last real token.
 */
public interface SequenceFraming {

    /**
     * Writes example {@code x} (cut to fit) into {@code ids[offset, offset + t)}, padded on the right.
     *
     * @return the row's length in real tokens (specials included), in [1, t]
     */
    int write(int[] x, int[] ids, int offset, int t);

    /** The shortest T a row can have (specials plus one token). */
    int minLength();

    /** A short name for checkpoints and messages, e.g. {@code bert} or {@code plain}. */
    String name();

    /** {@code [CLS] x[:T-2] [SEP] [PAD]...}, the specials of {@code vocab}. */
    static SequenceFraming bert(MaskedLmBatches.Vocabulary vocab) {
        if (vocab == null) throw new IllegalArgumentException("vocab: must not be null");
        return new SequenceFraming() {
            @Override
            public int write(int[] x, int[] ids, int offset, int t) {
                int n = Math.min(x.length, t - 2);
                ids[offset] = vocab.cls();
                System.arraycopy(x, 0, ids, offset + 1, n);
                ids[offset + n + 1] = vocab.sep();
                Arrays.fill(ids, offset + n + 2, offset + t, vocab.pad());
                return n + 2;
            }

            @Override
            public int minLength() { return 3; }

            @Override
            public String name() { return "bert"; }
        };
    }

    /**
     * {@code x[:T]} then id 0 up to T: for a causal model, whose last real token does not see the padding
     * (so any id does).
     */
    static SequenceFraming plain() {
        return new SequenceFraming() {
            @Override
            public int write(int[] x, int[] ids, int offset, int t) {
                int n = Math.min(x.length, t);
                System.arraycopy(x, 0, ids, offset, n);
                Arrays.fill(ids, offset + n, offset + t, 0);
                return n;
            }

            @Override
            public int minLength() { return 1; }

            @Override
            public String name() { return "plain"; }
        };
    }
}
