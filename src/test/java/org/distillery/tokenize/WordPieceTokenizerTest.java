package org.distillery.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distillery.data.BrownCorpus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WordPieceTokenizerTest {
    /** A hand vocabulary: ids 0-4 the specials, then 5 "un", 6 "##aff", 7 "##able", 8 "u", ... 19 "本". */
    static final List<String> HAND = List.of(
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
            "un", "##aff", "##able", "u", "##n", "##a", "##f", "run", "##ning", "##ni", ",", "!", "cafe", "日", "本");

    private final WordPieceTokenizer tok = new WordPieceTokenizer(HAND, true);

    @Test
    void greedyLongestMatchFirst() {
        // "unaffable": longest prefix "un" (not "u"), then "##aff" (not "##a"), then "##able".
        assertEquals(List.of("un", "##aff", "##able"), tok.tokenize("unaffable"));
        // "running": "run", then "##ning" beats "##n" and "##ni".
        assertEquals(List.of("run", "##ning"), tok.tokenize("running"));
        // Greedy is not optimal: "unaf" -> "un" "##a" "##f".
        assertEquals(List.of("un", "##a", "##f"), tok.tokenize("unaf"));
        // Lower-casing, accent stripping, punctuation split, CJK split.
        assertEquals(List.of("run", "##ning", ",", "un", "##aff", "##able", "!", "cafe", "日", "本"),
                tok.tokenize("  RUNNING,\tUnaffable!\nCafé 日本"));
        assertArrayEquals(new int[] {2, 12, 13, 15, 5, 6, 7, 3}, tok.encodeWithSpecials("running, unaffable"));
        assertEquals("running , unaffable", tok.decode(tok.encode("Running, unaffable")));
    }

    @Test
    void unknownWordsBecomeOneUnk() {
        // "unx": "un" matches but "##x" does not: the whole word is [UNK], not "un" + [UNK].
        assertEquals(List.of("[UNK]", "un", "[UNK]"), tok.tokenize("xyz un unx"));
        assertArrayEquals(new int[] {1, 5, 1}, tok.encode("xyz un unx"));
        assertEquals(List.of("[UNK]"), tok.tokenize("u" + "n".repeat(WordPieceTokenizer.MAX_CHARS_PER_WORD)));
        assertEquals(List.of("un", "##n"), tok.tokenize("unn"));
    }

    @Test
    void specialIds() {
        assertEquals(0, tok.padId());
        assertEquals(1, tok.unkId());
        assertEquals(2, tok.clsId());
        assertEquals(3, tok.sepId());
        assertEquals(4, tok.maskId());
        assertEquals(20, tok.vocabSize());
    }

    @Test
    void vocabTxtRoundTrip(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("vocab.txt");
        tok.save(file);
        List<String> lines = Files.readAllLines(file);
        assertEquals(HAND, lines);
        WordPieceTokenizer back = WordPieceTokenizer.load(file, true);
        assertEquals(HAND, back.tokens());
        assertArrayEquals(tok.encode("unaffable running!"), back.encode("unaffable running!"));
    }

    @Test
    void badVocabularies(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new WordPieceTokenizer(List.of(), true));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());

        List<String> noMask = new ArrayList<>(HAND);
        noMask.remove("[MASK]");
        e = assertThrows(IllegalArgumentException.class, () -> new WordPieceTokenizer(noMask, true));
        assertTrue(e.getMessage().contains("[[MASK]]"), e.getMessage());

        List<String> dup = new ArrayList<>(HAND);
        dup.add("un");
        Path file = dir.resolve("vocab.txt");
        Files.write(file, dup);
        e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.load(file, true));
        assertTrue(e.getMessage().contains("line 21") && e.getMessage().contains("'un'")
                && e.getMessage().contains("repeats line 6"), e.getMessage());

        List<String> blank = new ArrayList<>(HAND);
        blank.add(7, "");
        e = assertThrows(IllegalArgumentException.class, () -> new WordPieceTokenizer(blank, true));
        assertTrue(e.getMessage().contains("line 8"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {5, 20}));
        assertTrue(e.getMessage().contains("20") && e.getMessage().contains("vocab size 20"), e.getMessage());
    }

    @Test
    void trainedOnBrown() {
        BrownCorpus brown = BrownCorpus.load();
        long t0 = System.nanoTime();
        WordPieceTokenizer wp = new WordPieceTrainer(2000, true).train(brown.text(BrownCorpus.Split.TRAIN));
        System.out.printf("WordPiece vocab 2000 on Brown train: %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(2000, wp.vocabSize());
        assertEquals(WordPieceTokenizer.SPECIAL_TOKENS, wp.tokens().subList(0, 5));
        assertTrue(wp.id("the") > 4, "'the' is a learned piece");
        String valid = brown.text(BrownCorpus.Split.VALIDATION);
        List<String> pieces = wp.tokenize(valid);
        long unk = pieces.stream().filter(WordPieceTokenizer.UNK::equals).count();
        List<String> words = WordPieceTokenizer.preTokenize(valid, true);
        System.out.printf("WordPiece on Brown validation: %d words, %d pieces, %d [UNK]%n", words.size(), pieces.size(), unk);
        // Unseen characters are rare in Brown: under 0.1% of the words are [UNK].
        assertTrue(unk < words.size() / 1000, "unk = " + unk);
        // Decoding gives back the pre-tokenized text (words joined by single spaces).
        assertEquals(String.join(" ", words.subList(0, 200)),
                wp.decode(wp.encode(String.join(" ", words.subList(0, 200)))));
        assertFalse(wp.tokens().stream().anyMatch(t -> t.startsWith("####")));
        assertThrows(IllegalArgumentException.class, () -> new WordPieceTrainer(40, true).train(brown.text(BrownCorpus.Split.TEST)));
    }
}
