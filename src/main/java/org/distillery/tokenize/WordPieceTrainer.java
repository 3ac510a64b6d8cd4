package org.distillery.tokenize;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Builds a {@link WordPieceTokenizer} vocabulary from a text. Not BERT's exact (unpublished)
 * likelihood-based procedure; like HuggingFace {@code tokenizers}' WordPiece trainer, it learns the
 * pieces with frequency-based BPE merges and keeps only the vocabulary:
 * <ol>
 *   <li>Pre-tokenize with {@link WordPieceTokenizer#preTokenize} and count each distinct word
 *       (words over {@link WordPieceTokenizer#MAX_CHARS_PER_WORD} characters are skipped: they
 *       encode as {@code [UNK]}).</li>
 *   <li>Write each word as characters, the first as itself and the others with {@code ##}
 *       ({@code "cat"} is {@code c ##a ##t}). The alphabet is every such symbol in the text.</li>
 *   <li>Learn merges with {@link BpeMergeLearner} (most frequent adjacent pair; a tie goes to the
 *       smallest left piece, then right piece, by {@link String#compareTo}); merging {@code c} and
 *       {@code ##a} gives {@code ca}, {@code ##a} and {@code ##t} give {@code ##at}.</li>
 *   <li>Vocabulary: the five special tokens (ids 0-4), the alphabet in {@link String#compareTo}
 *       order, then the merged pieces in merge order (a piece made by two different merges is kept
 *       once), up to {@code vocabSize} tokens. When the text runs out of pairs the vocabulary is
 *       smaller than asked.</li>
 * </ol>
 * Every word of the training text can then be encoded without {@code [UNK]} (the alphabet covers it).
 *
 * @param vocabSize total vocabulary size; at least 5 + the alphabet size of the training text
 * @param lowercase lower-case and strip accents (BERT "uncased")
 */
public record WordPieceTrainer(int vocabSize, boolean lowercase) {
    public WordPieceTrainer {
        int min = WordPieceTokenizer.SPECIAL_TOKENS.size() + 1;
        if (vocabSize < min) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + ": must be >= " + min
                    + " (5 special tokens + at least one character); the text's alphabet sets the real minimum");
        }
    }

    /** Trains on {@code text}. */
    public WordPieceTokenizer train(String text) {
        // Step 1: distinct words with counts, sorted for a reproducible order.
        Map<String, long[]> counts = new HashMap<>();
        for (String w : WordPieceTokenizer.preTokenize(text, lowercase)) {
            if (w.codePointCount(0, w.length()) <= WordPieceTokenizer.MAX_CHARS_PER_WORD) {
                counts.computeIfAbsent(w, k -> new long[1])[0]++;
            }
        }
        TreeMap<String, long[]> sorted = new TreeMap<>(counts);
        // Step 2: the alphabet and words as symbol ids.
        TreeSet<String> alphabet = new TreeSet<>();
        for (String w : sorted.keySet()) {
            int i = 0;
            for (int cp : w.codePoints().toArray()) {
                alphabet.add(i++ == 0 ? new String(Character.toChars(cp)) : WordPieceTokenizer.CONTINUATION
                        + new String(Character.toChars(cp)));
            }
        }
        int fixed = WordPieceTokenizer.SPECIAL_TOKENS.size() + alphabet.size();
        if (vocabSize < fixed) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + ": must be >= " + fixed
                    + " (5 special tokens + the " + alphabet.size() + " characters, initial and ##, of the text)");
        }
        List<String> keys = new ArrayList<>(alphabet);
        Map<String, Integer> symbolOf = new HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            symbolOf.put(keys.get(i), i);
        }
        int[][] words = new int[sorted.size()][];
        long[] freqs = new long[sorted.size()];
        int w = 0;
        for (Map.Entry<String, long[]> e : sorted.entrySet()) {
            int[] cps = e.getKey().codePoints().toArray();
            int[] s = new int[cps.length];
            for (int i = 0; i < cps.length; i++) {
                String c = new String(Character.toChars(cps[i]));
                s[i] = symbolOf.get(i == 0 ? c : WordPieceTokenizer.CONTINUATION + c);
            }
            words[w] = s;
            freqs[w++] = e.getValue()[0];
        }
        // Step 3: merges; a few spare ones make up for pieces that two merges both produce.
        int wanted = vocabSize - fixed;
        BpeMergeLearner.Result r = BpeMergeLearner.learn(words, freqs, keys,
                (a, b) -> a + b.substring(WordPieceTokenizer.CONTINUATION.length()), wanted + wanted / 10 + 16);
        // Step 4: the vocabulary.
        Set<String> vocab = new LinkedHashSet<>(WordPieceTokenizer.SPECIAL_TOKENS);
        vocab.addAll(alphabet);
        for (int i = r.firstNewId(); i < r.keys().size() && vocab.size() < vocabSize; i++) {
            vocab.add(r.keys().get(i));
        }
        return new WordPieceTokenizer(new ArrayList<>(vocab), lowercase);
    }
}
