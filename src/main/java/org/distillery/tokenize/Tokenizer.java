package org.distillery.tokenize;

import java.util.Map;

/**
 * Text to token ids and back. Implementations: {@link ByteTokenizer} (UTF-8 bytes),
 * {@link Gpt2Tokenizer} (byte-level BPE, GPT-2's format) and {@link WordPieceTokenizer} (BERT).
 *
 * <p>Ids are dense: every id in {@code [0, vocabSize())} names a token. {@link #decode} rejects an
 * id outside that range with an {@link IllegalArgumentException} naming the id and the vocab size.
 */
public interface Tokenizer {
    /** Token ids of {@code text}; special-token strings in the text are encoded as ordinary text. */
    int[] encode(String text);

    /** The text of {@code ids}; whether {@code decode(encode(s)).equals(s)} holds is per implementation. */
    String decode(int[] ids);

    /** Number of ids, special tokens included. */
    int vocabSize();

    /** Special tokens (text to id), in id order; empty when the tokenizer has none. */
    default Map<String, Integer> specialTokens() {
        return Map.of();
    }

    /** Throws naming the id and the vocab size when {@code id} is not in {@code [0, vocabSize)}. */
    static void checkId(int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException(
                    "unknown token id " + id + ": ids must be in [0, " + vocabSize + ") (vocab size " + vocabSize + ")");
        }
    }
}
