package org.distillery.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level conventions (Radford et al. 2019, section 2.2; the {@code encoder.py} of
 * openai/gpt-2), shared by {@link Gpt2Tokenizer} and {@link BpeTrainer}:
 * <ol>
 *   <li>Pre-tokenization: text is cut into pre-tokens by {@link #PATTERN} (contractions, an optional
 *       space plus letters / digits / other symbols, runs of whitespace); merges never cross a
 *       pre-token boundary.</li>
 *   <li>Byte to unicode: every byte gets a printable character so that tokens are readable strings
 *       in {@code vocab.json} / {@code merges.txt}. The 188 bytes that are printable Latin-1
 *       ({@code '!'..'~'}, {@code '¡'..'¬'}, {@code '®'..'ÿ'}) map to themselves; the other 68
 *       (controls, space, DEL, NBSP, soft hyphen) map, in byte order, to U+0100, U+0101, ...
 *       (so space is {@code 'Ġ'} U+0120, newline {@code 'Ċ'} U+010A).</li>
 * </ol>
 */
public final class ByteLevel {
    private ByteLevel() {}

    /** GPT-2's pre-tokenization regex, as in its {@code encoder.py}. */
    public static final String REGEX =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /**
     * {@link #REGEX} compiled with {@link Pattern#UNICODE_CHARACTER_CLASS}, so that {@code \s} is
     * Unicode whitespace as in Python's {@code regex} module (Java's default {@code \s} is ASCII only).
     */
    public static final Pattern PATTERN = Pattern.compile(REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[0x100 + 68];
    /** Bytes in GPT-2's id order: the 188 printable bytes ascending, then the other 68 ascending. */
    private static final int[] BYTE_ORDER = new int[256];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            if (isPrintable(b)) {
                BYTE_TO_CHAR[b] = (char) b;
                BYTE_ORDER[next++] = b;
            }
        }
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            if (!isPrintable(b)) {
                BYTE_TO_CHAR[b] = (char) (0x100 + extra++);
                BYTE_ORDER[next++] = b;
            }
        }
        for (int b = 0; b < 256; b++) {
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private static boolean isPrintable(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The printable character standing for byte {@code b} (0..255). */
    public static char byteToChar(int b) {
        if (b < 0 || b > 255) {
            throw new IllegalArgumentException("b = " + b + ": a byte value must be in [0, 255]");
        }
        return BYTE_TO_CHAR[b];
    }

    /** The byte that {@code c} stands for, or -1 when {@code c} is not a byte-level character. */
    public static int charToByte(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * The byte with GPT-2 id {@code id} (0..255): GPT-2 numbers single bytes in the order of
     * {@code bytes_to_unicode}, printable bytes first ({@code '!'} is id 0, space is id 220).
     */
    public static int byteOfId(int id) {
        if (id < 0 || id > 255) {
            throw new IllegalArgumentException("id = " + id + ": a byte token id must be in [0, 255]");
        }
        return BYTE_ORDER[id];
    }

    /** {@code bytes} written with the byte-level characters, one character per byte. */
    public static String toChars(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** Pre-tokens of {@code text} by {@link #PATTERN}, in order; together they cover the text. */
    public static List<String> preTokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = PATTERN.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
