package org.distillery.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distillery.data.BrownCorpus;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {
    private static BrownCorpus brown;
    private static Gpt2Tokenizer brown512;
    private static double trainSeconds;

    @BeforeAll
    static void trainOnBrown() {
        brown = BrownCorpus.load();
        String train = brown.text(BrownCorpus.Split.TRAIN);
        long t0 = System.nanoTime();
        brown512 = BpeTrainer.gpt2Style(512).train(train);
        trainSeconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("BPE vocab 512 on Brown train (%d chars): %.2f s%n", train.length(), trainSeconds);
    }

    private static List<String> mergeStrings(Gpt2Tokenizer t) {
        List<String> out = new ArrayList<>();
        for (Gpt2Tokenizer.Merge m : t.merges()) {
            out.add(m.left() + " " + m.right());
        }
        return out;
    }

    @Test
    void handWorkedMerges() {
        // Pre-tokens: "ab" x1, " ab" x2, " abc" x1 (a space is written 'Ġ').
        // Pair counts: (a,b)=4, (Ġ,a)=3, (b,c)=1 -> merge "a b".
        // Then words [ab], [Ġ,ab] x2, [Ġ,ab,c]: (Ġ,ab)=3, (ab,c)=1 -> merge "Ġ ab".
        // Then [Ġab] x2, [Ġab,c]: (Ġab,c)=1 -> merge "Ġab c". No pair is left.
        Gpt2Tokenizer t = new BpeTrainer(256 + 3, List.of()).train("ab ab ab abc");
        assertEquals(List.of("a b", "Ġ ab", "Ġab c"), mergeStrings(t));
        assertEquals(259, t.vocabSize());
        assertEquals(256, t.id("ab"));
        assertEquals(258, t.id("Ġabc"));
        assertArrayEquals(new int[] {256, 258, 257}, t.encode("ab abc ab"));
    }

    @Test
    void tieBreakBySmallestLeftThenRightBytes() {
        // "abcd": (a,b), (b,c), (c,d) all 1 -> smallest left bytes: "a b".
        // [ab,c,d]: (ab,c), (c,d) both 1 -> left "ab" < "c" -> "ab c"; then "abc d".
        Gpt2Tokenizer t = new BpeTrainer(300, List.of("<|endoftext|>")).train("abcd");
        assertEquals(List.of("a b", "ab c", "abc d"), mergeStrings(t));
        // Out of pairs after 3 merges: the vocabulary is 256 + 3 + 1 special, smaller than asked.
        assertEquals(260, t.vocabSize());
        assertEquals(java.util.Map.of("<|endoftext|>", 259), t.specialTokens());
    }

    @Test
    void repeatedSymbolsMergeLeftToRight() {
        // "aaaaa" once: (a,a) counted 4 times -> "a a"; [aa,aa,a]: (aa,aa)=1, (aa,a)=1 -> right "a" < "aa" -> "aa a".
        Gpt2Tokenizer t = new BpeTrainer(258, List.of()).train("aaaaa");
        assertEquals(List.of("a a", "aa a"), mergeStrings(t));
        assertArrayEquals(new int[] {256, 257}, t.encode("aaaaa"));
    }

    @Test
    void incrementalLearnerMatchesNaiveReference() {
        String text = brown.text(BrownCorpus.Split.VALIDATION).substring(0, 30_000);
        int[][] words = wordsOf(text);
        int[][] copy = new int[words.length][];
        for (int i = 0; i < words.length; i++) {
            copy[i] = words[i].clone();
        }
        long[] freqs = new long[words.length];
        java.util.Arrays.fill(freqs, 1);
        List<String> keys = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            keys.add(String.valueOf((char) b));
        }
        BpeMergeLearner.Result fast = BpeMergeLearner.learn(words, freqs, keys, String::concat, 300);
        BpeMergeLearner.Result naive = BpeMergeLearner.learnNaive(copy, freqs, keys, String::concat, 300);
        assertEquals(300, fast.size());
        assertArrayEquals(naive.left(), fast.left());
        assertArrayEquals(naive.right(), fast.right());
        assertEquals(naive.keys(), fast.keys());
    }

    /** One word per pre-token occurrence (frequency 1 each, duplicates allowed), symbols = bytes. */
    private static int[][] wordsOf(String text) {
        List<String> pre = ByteLevel.preTokenize(text);
        int[][] out = new int[pre.size()][];
        for (int i = 0; i < out.length; i++) {
            byte[] b = pre.get(i).getBytes(StandardCharsets.UTF_8);
            out[i] = new int[b.length];
            for (int j = 0; j < b.length; j++) {
                out[i][j] = b[j] & 0xFF;
            }
        }
        return out;
    }

    @Test
    void brownTokenizerRoundTripsAndCompresses() {
        String valid = brown.text(BrownCorpus.Split.VALIDATION);
        int[] ids = brown512.encode(valid);
        assertEquals(valid, brown512.decode(ids));
        assertEquals(512, brown512.vocabSize());
        assertEquals(255 + 256, brown512.id("<|endoftext|>"));
        int bytes = new ByteTokenizer().encode(valid).length;
        double bytesPerToken = (double) bytes / ids.length;
        System.out.printf("Brown validation: %d bytes, %d BPE-512 tokens, %.3f bytes/token%n", bytes, ids.length, bytesPerToken);
        // A byte tokenizer has exactly 1 byte/token. Bound: the 255 merges must at least halve the
        // token count (> 2 bytes/token); measured 2.100 (deterministic: training has no randomness).
        assertTrue(bytesPerToken > 2.0, "bytes/token = " + bytesPerToken);
        // The first merge on English text is the space before 't' (" the", " to", ...), then "he".
        assertEquals(List.of("Ġ t", "h e"), mergeStrings(brown512).subList(0, 2));
    }

    @Test
    void saveLoadRoundTrip(@TempDir Path dir) {
        brown512.save(dir);
        Gpt2Tokenizer back = Gpt2Tokenizer.load(dir);
        assertEquals(brown512.merges(), back.merges());
        String s = "The jury said it didn't find   any evidence.\n\n 1961 — café 😀";
        assertArrayEquals(brown512.encode(s), back.encode(s));
        assertEquals(s, back.decode(back.encode(s)));
    }

    @Test
    void vocabSizeTooSmall() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BpeTrainer(256, List.of("<|endoftext|>")));
        assertTrue(e.getMessage().contains("vocabSize = 256") && e.getMessage().contains(">= 257"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(300, List.of("x", "x")));
    }
}
