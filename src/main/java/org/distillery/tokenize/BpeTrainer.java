package org.distillery.tokenize;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * Trains a GPT-2 style byte-level BPE tokenizer ({@link Gpt2Tokenizer}) on a text.
 *
 * <ol>
 *   <li>Cut the text into pre-tokens with GPT-2's {@link ByteLevel#PATTERN} and count each distinct
 *       pre-token (merges never cross a pre-token boundary).</li>
 *   <li>Write each distinct pre-token as its UTF-8 bytes; ids 0..255 are the single bytes in GPT-2's
 *       order ({@link ByteLevel#byteOfId}).</li>
 *   <li>Learn {@code vocabSize - 256 - specialTokens.size()} merges with {@link BpeMergeLearner}:
 *       the most frequent adjacent pair first; a tie goes to the pair whose left token's bytes are
 *       smallest (unsigned lexicographic order, a prefix before its extensions), then the right
 *       token's bytes. Merge {@code i} gets id {@code 256 + i}.</li>
 *   <li>Special tokens take the ids after the merges, in the order given (GPT-2's
 *       {@code <|endoftext|>} is its last id, 50256).</li>
 * </ol>
 * When the text runs out of pairs (every pre-token is one token) training stops early and the
 * vocabulary is smaller than asked.
 *
 * @param vocabSize total vocabulary size, special tokens included; at least {@code 256 + specialTokens.size()}
 * @param specialTokens special tokens, e.g. {@code <|endoftext|>}; may be empty; each non-empty, all distinct
 */
public record BpeTrainer(int vocabSize, List<String> specialTokens) {
    public BpeTrainer {
        if (specialTokens == null) {
            throw new IllegalArgumentException("specialTokens must not be null (use List.of() for none)");
        }
        specialTokens = List.copyOf(specialTokens);
        if (new HashSet<>(specialTokens).size() != specialTokens.size()) {
            throw new IllegalArgumentException("specialTokens = " + specialTokens + ": must be distinct");
        }
        for (String s : specialTokens) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("specialTokens = " + specialTokens + ": must be non-empty strings");
            }
        }
        int min = 256 + specialTokens.size();
        if (vocabSize < min) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + ": must be >= " + min
                    + " (256 byte tokens + " + specialTokens.size() + " special tokens)");
        }
    }

    /** A trainer with GPT-2's one special token, {@code <|endoftext|>}. */
    public static BpeTrainer gpt2Style(int vocabSize) {
        return new BpeTrainer(vocabSize, List.of("<|endoftext|>"));
    }

    /** Trains on {@code text}. */
    public Gpt2Tokenizer train(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        // Step 1: distinct pre-tokens with counts (sorted, so the word order is reproducible).
        Map<String, long[]> counts = new HashMap<>();
        Matcher m = ByteLevel.PATTERN.matcher(text);
        while (m.find()) {
            counts.computeIfAbsent(m.group(), k -> new long[1])[0]++;
        }
        TreeMap<String, long[]> sorted = new TreeMap<>(counts);
        // Step 2: words as byte-token ids.
        int[] idOfByte = new int[256];
        List<String> keys = new ArrayList<>(256);
        for (int id = 0; id < 256; id++) {
            int b = ByteLevel.byteOfId(id);
            idOfByte[b] = id;
            keys.add(String.valueOf((char) b)); // a char per byte: String order = unsigned byte order
        }
        int[][] words = new int[sorted.size()][];
        long[] freqs = new long[sorted.size()];
        int w = 0;
        for (Map.Entry<String, long[]> e : sorted.entrySet()) {
            byte[] bytes = e.getKey().getBytes(StandardCharsets.UTF_8);
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                s[i] = idOfByte[bytes[i] & 0xFF];
            }
            words[w] = s;
            freqs[w++] = e.getValue()[0];
        }
        // Step 3: merges.
        BpeMergeLearner.Result r = BpeMergeLearner.learn(words, freqs, keys, String::concat,
                vocabSize - 256 - specialTokens.size());
        // Build the vocabulary: byte-level character form of each key (keys hold one char per byte).
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> tokenOf = new ArrayList<>(r.keys().size());
        for (String k : r.keys()) {
            String t = ByteLevel.toChars(k.getBytes(StandardCharsets.ISO_8859_1));
            vocab.put(t, tokenOf.size());
            tokenOf.add(t);
        }
        List<Gpt2Tokenizer.Merge> merges = new ArrayList<>(r.size());
        for (int i = 0; i < r.size(); i++) {
            merges.add(new Gpt2Tokenizer.Merge(tokenOf.get(r.left()[i]), tokenOf.get(r.right()[i])));
        }
        // Step 4: special tokens last.
        for (String s : specialTokens) {
            if (vocab.containsKey(s)) {
                throw new IllegalArgumentException("special token '" + s + "' is also a learned token; choose another");
            }
            vocab.put(s, vocab.size());
        }
        return new Gpt2Tokenizer(vocab, merges);
    }
}
