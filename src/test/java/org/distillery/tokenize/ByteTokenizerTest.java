package org.distillery.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
    private final ByteTokenizer tok = new ByteTokenizer();

    @Test
    void encodesUtf8Bytes() {
        // "a" = 0x61, "é" = C3 A9, "€" = E2 82 AC, "😀" = F0 9F 98 80
        assertArrayEquals(new int[] {0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80},
                tok.encode("aé€😀"));
        assertEquals(256, tok.vocabSize());
        assertArrayEquals(new int[0], tok.encode(""));
    }

    @Test
    void roundTrip() {
        String s = "Hello, world!\n\tnaïve café — 日本語 😀 ";
        assertEquals(s, tok.decode(tok.encode(s)));
    }

    @Test
    void invalidUtf8BecomesReplacementCharacters() {
        assertEquals("a\uFFFDb", tok.decode(new int[] {0x61, 0x80, 0x62}));       // lone continuation byte
        assertEquals("a\uFFFDb", tok.decode(new int[] {0x61, 0xE2, 0x82, 0x62})); // truncated euro sign: one U+FFFD
        assertEquals("\uFFFD", tok.decode(new int[] {0xFF}));                     // never valid in UTF-8
        assertEquals("\uFFFD\uFFFD", tok.decode(new int[] {0xC0, 0xAF}));          // overlong '/': each byte replaced
        assertEquals("x\uFFFD", tok.decode(new int[] {0x78, 0xF0, 0x9F, 0x98}));    // truncated emoji at the end
    }

    @Test
    void unknownIdNamesIdAndVocabSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {65, 256}));
        assertTrue(e.getMessage().contains("256") && e.getMessage().contains("vocab size 256"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-1}));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
    }
}
