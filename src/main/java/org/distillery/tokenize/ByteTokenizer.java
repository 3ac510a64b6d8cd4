package org.distillery.tokenize;

import java.nio.charset.StandardCharsets;

/**
 * The trivial tokenizer: one token per UTF-8 byte, id = unsigned byte value, vocab size 256.
 *
 * <p>{@link #decode} turns the bytes back into text with Java's UTF-8 decoder in replacement mode:
 * each malformed or truncated sequence (a lone continuation byte, a lead byte without its
 * continuations, an overlong form, a surrogate, a byte 0xF5-0xFF) becomes one U+FFFD per maximal
 * ill-formed subpart (Unicode's "best practice", chapter 3.9), and decoding goes on with the next
 * byte. E.g. {@code [0x61, 0xE2, 0x82, 0x62]} ("a", a truncated euro sign, "b") decodes to
 * {@code "a\uFFFDb"}. Decoding any ids of a valid UTF-8 string returns that string.
 */
public final class ByteTokenizer implements Tokenizer {
    /** Vocabulary size: one id per byte value. */
    public static final int VOCAB_SIZE = 256;

    @Override
    public int[] encode(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        if (ids == null) {
            throw new IllegalArgumentException("ids must not be null");
        }
        byte[] bytes = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            Tokenizer.checkId(ids[i], VOCAB_SIZE);
            bytes[i] = (byte) ids[i];
        }
        // String(byte[], UTF_8) replaces malformed input (never throws), as documented above.
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }
}
