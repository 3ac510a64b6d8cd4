package org.distillery.train;

import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * BERT's masking: the count per sequence, the 80/10/10 split within binomial bounds on a large sample,
 * specials and padding never chosen, uniform positions, row layout, determinism.
 */
class MaskedLmBatchesTest {
    // ids 0..4: [PAD] [UNK] [CLS] [SEP] [MASK], as WordPieceTrainer orders them
    static final int V = 100, PAD = 0, UNK = 1, CLS = 2, SEP = 3, MASK = 4, T = 34;
    static final MaskedLmBatches.Vocabulary VOCAB = new MaskedLmBatches.Vocabulary(V, PAD, CLS, SEP, MASK, List.of(0, 1, 2, 3, 4));

    /** Sequences of random lengths in [1, T-2]; about 1 token in 12 is [UNK] and 1 in 50 a literal [MASK]. */
    static List<int[]> sequences(long seed, int n) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            int[] q = new int[1 + r.nextInt(T - 2)];
            for (int i = 0; i < q.length; i++) {
                int u = r.nextInt(100);
                q[i] = u < 8 ? UNK : u < 10 ? MASK : 5 + r.nextInt(V - 5);
            }
            out.add(q);
        }
        return out;
    }

    static boolean special(int id) {
        return id <= 4;
    }

    @Test
    void maskingFollowsBertsRecipeOnALargeSample() {
        List<int[]> seqs = sequences(1, 500);
        MaskedLmBatches mb = new MaskedLmBatches(seqs, T, VOCAB, 0.15, 42);
        int rows = 80_000, b = 100;
        int[] ids = new int[b * T], lengths = new int[b], labels = new int[b * T];
        long chosen = 0, masked = 0, kept = 0, random = 0;
        long[] randomTokenCounts = new long[V];
        for (long first = 0; first < rows; first += b) {
            mb.fill(first, b, ids, lengths, labels);
            for (int r = 0; r < b; r++) {
                int[] q = seqs.get(mb.sequenceOf(first + r));
                int o = r * T, len = q.length + 2;
                assertEquals(len, lengths[r], "length = tokens + [CLS] + [SEP]");
                assertEquals(CLS, ids[o]);
                assertEquals(SEP, ids[o + len - 1]);
                assertEquals(Bert.IGNORE_INDEX, labels[o], "[CLS] never chosen");
                assertEquals(Bert.IGNORE_INDEX, labels[o + len - 1], "[SEP] never chosen");
                for (int p = len; p < T; p++) {
                    assertEquals(PAD, ids[o + p], "right padding");
                    assertEquals(Bert.IGNORE_INDEX, labels[o + p], "padding never chosen");
                }
                int candidates = 0, k = 0;
                for (int p = 1; p <= q.length; p++) {
                    int orig = q[p - 1], id = ids[o + p], y = labels[o + p];
                    if (special(orig)) {
                        assertEquals(Bert.IGNORE_INDEX, y, "a special token in the text is never chosen");
                        assertEquals(orig, id);
                        continue;
                    }
                    candidates++;
                    if (y == Bert.IGNORE_INDEX) {
                        assertEquals(orig, id, "an unchosen position is unchanged");
                        continue;
                    }
                    k++;
                    assertEquals(orig, y, "label = original id");
                    if (id == MASK) {
                        masked++;
                    } else if (id == orig) {
                        kept++;
                    } else {
                        assertFalse(special(id), "a random replacement is never special: " + id);
                        random++;
                        randomTokenCounts[id]++;
                    }
                }
                int expected = candidates == 0 ? 0 : (int) Math.max(1, Math.round(0.15 * candidates));
                assertEquals(expected, k, "chosen = max(1, round(0.15 C)) for C = " + candidates);
                chosen += k;
            }
        }
        // a random draw equals the original with probability 1/95 (95 non-special ids): counted as kept
        double pMask = 0.8, pRandom = 0.1 * 94 / 95, pKept = 0.1 + 0.1 / 95;
        double fm = (double) masked / chosen, fr = (double) random / chosen, fk = (double) kept / chosen;
        System.out.printf("MLM masking: %d rows, %d chosen; [MASK] %.4f, random %.4f, kept %.4f%n", rows, chosen, fm, fr, fk);
        assertTrue(chosen > 150_000, "sample size " + chosen);
        assertBinomial(pMask, fm, chosen, "[MASK] fraction");
        assertBinomial(pRandom, fr, chosen, "random fraction");
        assertBinomial(pKept, fk, chosen, "kept fraction");
        // replacements are spread over the non-special vocabulary: each id about random / 95 times
        double per = random / 95.0;
        for (int id = 5; id < V; id++) {
            assertEquals(per, randomTokenCounts[id], 5 * Math.sqrt(per), "random replacements of id " + id);
        }
    }

    /** |observed - p| within 5 binomial standard deviations of a sample of n. */
    static void assertBinomial(double p, double observed, long n, String what) {
        double sd = Math.sqrt(p * (1 - p) / n);
        assertEquals(p, observed, 5 * sd, what + " (n = " + n + ", sd = " + sd + ")");
    }

    @Test
    void everyPositionIsEquallyLikely() {
        int[] q = new int[T - 2];
        for (int i = 0; i < q.length; i++) q[i] = 5 + i;
        MaskedLmBatches mb = new MaskedLmBatches(List.of(q), T, VOCAB, 0.15, 7);
        int rows = 20_000;
        int[] ids = new int[T], lengths = new int[1], labels = new int[T];
        long[] hits = new long[T];
        for (int i = 0; i < rows; i++) {
            mb.fill(i, 1, ids, lengths, labels);
            for (int p = 0; p < T; p++) if (labels[p] != Bert.IGNORE_INDEX) hits[p]++;
        }
        double p = 5.0 / 32;     // k = round(0.15 * 32) = 5 of 32 candidates
        assertEquals(0, hits[0]);
        assertEquals(0, hits[T - 1]);
        for (int pos = 1; pos <= 32; pos++) {
            assertEquals(rows * p, hits[pos], 5 * Math.sqrt(rows * p * (1 - p)), "position " + pos);
        }
    }

    @Test
    void rowsArePureFunctionsOfSeedAndIndex() {
        List<int[]> seqs = sequences(3, 50);
        MaskedLmBatches a = new MaskedLmBatches(seqs, T, VOCAB, 0.15, 9), c = new MaskedLmBatches(seqs, T, VOCAB, 0.15, 9);
        int[] ids16 = new int[16 * T], len16 = new int[16], lab16 = new int[16 * T];
        int[] ids4 = new int[4 * T], len4 = new int[4], lab4 = new int[4 * T];
        a.fill(160, 16, ids16, len16, lab16);
        c.fill(172, 4, ids4, len4, lab4);                // the last 4 rows, from a fresh instance
        assertArrayEquals(Arrays.copyOfRange(ids16, 12 * T, 16 * T), ids4);
        assertArrayEquals(Arrays.copyOfRange(lab16, 12 * T, 16 * T), lab4);
        assertArrayEquals(Arrays.copyOfRange(len16, 12, 16), len4);
        int[] again = new int[16 * T];
        a.fill(160, 16, again, new int[16], new int[16 * T]);
        assertArrayEquals(ids16, again, "the same call twice");
        int[] other = new int[16 * T];
        new MaskedLmBatches(seqs, T, VOCAB, 0.15, 10).fill(160, 16, other, new int[16], new int[16 * T]);
        assertFalse(Arrays.equals(ids16, other), "another seed draws other rows");
        // fillSequences: sequence j in order, always masked the same way
        a.fillSequences(5, 4, ids4, len4, lab4);
        for (int r = 0; r < 4; r++) assertEquals(seqs.get(5 + r).length + 2, len4[r]);
        int[] ids4b = new int[4 * T];
        c.fillSequences(5, 4, ids4b, new int[4], new int[4 * T]);
        assertArrayEquals(ids4, ids4b);
    }

    @Test
    void windowsAndVocabularyAndBadArguments() {
        List<int[]> w = MaskedLmBatches.windows(new int[] {5, 6, 7, 8, 9, 10, 11}, 3);
        assertEquals(3, w.size());
        assertArrayEquals(new int[] {11}, w.get(2), "the last window is shorter");
        WordPieceTokenizer tok = new WordPieceTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"), true);
        MaskedLmBatches.Vocabulary v = MaskedLmBatches.Vocabulary.of(tok);
        assertEquals(new MaskedLmBatches.Vocabulary(7, 0, 2, 3, 4, List.of(0, 1, 2, 3, 4)), v);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MaskedLmBatches(List.of(new int[T - 1]), T, VOCAB, 0.15, 0));
        assertTrue(e.getMessage().contains("sequence 0 has length 33 but must be in [1, seqLen - 2 = 32]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MaskedLmBatches(List.of(new int[] {5, 100}), T, VOCAB, 0.15, 0));
        assertTrue(e.getMessage().contains("token 100 at position 1 of sequence 0 is outside [0, vocab size = 100)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MaskedLmBatches(List.of(new int[] {5}), T, VOCAB, 0, 0));
        assertTrue(e.getMessage().contains("maskProb: must be in (0, 1] but was 0.0"), e.getMessage());
        MaskedLmBatches mb = new MaskedLmBatches(List.of(new int[] {UNK, UNK}), T, VOCAB, 0.15, 0);
        int[] labels = new int[T];
        mb.fill(0, 1, new int[T], new int[1], labels);
        assertTrue(Arrays.stream(labels).allMatch(y -> y == Bert.IGNORE_INDEX), "nothing to choose: no labels");
    }
}
