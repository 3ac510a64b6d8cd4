package org.distillery.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Gpt2Tokenizer} on a tiny hand-made vocabulary: merge order, file format, bad input. */
class Gpt2TokenizerTest {
    @TempDir
    Path dir;

    /** The 256 byte tokens in GPT-2's order, then the given tokens. */
    private static Map<String, Integer> vocab(String... extra) {
        Map<String, Integer> v = new LinkedHashMap<>();
        for (int id = 0; id < 256; id++) {
            v.put(String.valueOf(ByteLevel.byteToChar(ByteLevel.byteOfId(id))), id);
        }
        for (String t : extra) {
            v.put(t, v.size());
        }
        return v;
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private static String vocabJson(Map<String, Integer> v) throws IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(v);
    }

    @Test
    void byteOrderIsGpt2s() {
        assertEquals('!', ByteLevel.byteOfId(0));
        assertEquals(' ', ByteLevel.byteOfId(220));   // GPT-2: "Ġ" is id 220
        assertEquals('\n', ByteLevel.byteOfId(198));  // "Ċ" is id 198
        assertEquals('Ġ', ByteLevel.byteToChar(' '));
        assertEquals('Ċ', ByteLevel.byteToChar('\n'));
        assertEquals(' ', ByteLevel.charToByte('Ġ'));
        assertEquals(-1, ByteLevel.charToByte('€'));
        // "\s+(?!\S)" leaves the last space of a run to the word after it; a run at the end stays whole.
        assertEquals(List.of("Hello", ",", " world", "'s", "   ", " 42", "!!", "\n", " x", "\n \n"),
                ByteLevel.preTokenize("Hello, world's    42!!\n x\n \n"));
    }

    @Test
    void mergesApplyByRankNotByPosition() {
        // Ranks: 0 "b c", 1 "a b", 2 "a bc". In "abc" the pair (b,c) has the lower rank, so it wins
        // over (a,b) although (a,b) comes first; then "a bc".
        Gpt2Tokenizer t = new Gpt2Tokenizer(vocab("bc", "ab", "abc"),
                List.of(new Gpt2Tokenizer.Merge("b", "c"), new Gpt2Tokenizer.Merge("a", "b"), new Gpt2Tokenizer.Merge("a", "bc")));
        assertArrayEquals(new int[] {258}, t.encode("abc"));
        assertArrayEquals(new int[] {257, 257}, t.encode("abab"));
        assertArrayEquals(new int[] {'d' - '!'}, t.encode("d"));  // printable ASCII byte b has id b - 33
        assertArrayEquals(new int[] {220, 258}, t.encode(" abc"));  // " abc" is one pre-token; no "Ġa" merge
        assertEquals("abab abc", t.decode(t.encode("abab abc")));
        assertEquals(Map.of(), t.specialTokens());
    }

    @Test
    void saveWritesGpt2Format() throws IOException {
        Gpt2Tokenizer t = new Gpt2Tokenizer(vocab("Ġt", "<|endoftext|>"), List.of(new Gpt2Tokenizer.Merge("Ġ", "t")));
        t.save(dir);
        assertEquals("#version: 0.2\nĠ t\n", Files.readString(dir.resolve("merges.txt")));
        assertTrue(Files.readString(dir.resolve("vocab.json")).endsWith("\"Ġt\":256,\"<|endoftext|>\":257}"));
        Gpt2Tokenizer back = Gpt2Tokenizer.load(dir);
        assertEquals(Map.of("<|endoftext|>", 257), back.specialTokens());
        assertArrayEquals(new int[] {256, 256}, back.encode(" t t"));
    }

    @Test
    void malformedMergesLineNamesLineNumber() throws IOException {
        Path v = write("vocab.json", vocabJson(vocab("ab", "abc")));
        Path m = write("merges.txt", "#version: 0.2\na b\nab  c\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v, m));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("'ab  c'"), e.getMessage());

        Path m2 = write("merges2.txt", "#version: 0.2\na b\nab\n");
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v, m2));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());

        Path m3 = write("merges3.txt", "#version: 0.2\na b\nab d\n");  // "abd" is not in the vocabulary
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v, m3));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("'abd'"), e.getMessage());

        Path m4 = write("merges4.txt", "a b\nab c\na b\n");  // no header: line 1 is rank 0
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v, m4));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("rank 0"), e.getMessage());
    }

    @Test
    void vocabJsonIdGapsAndDuplicates() throws IOException {
        Path m = write("merges.txt", "#version: 0.2\n");
        Map<String, Integer> gap = vocab();
        gap.put("ab", 257);  // 257 tokens, but id 256 is missing
        Path v1 = write("gap.json", vocabJson(gap));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v1, m));
        assertTrue(e.getMessage().contains("'ab' has id 257") && e.getMessage().contains("[0, 257)"), e.getMessage());

        Map<String, Integer> dup = vocab();
        dup.put("ab", 5);
        Path v2 = write("dup.json", vocabJson(dup));
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v2, m));
        assertTrue(e.getMessage().contains("id 5 is given to both"), e.getMessage());

        Path v3 = write("dupkey.json", "{\"a\": 0, \"a\": 1}");
        e = assertThrows(IllegalArgumentException.class, () -> Gpt2Tokenizer.load(v3, m));
        assertTrue(e.getMessage().contains("Duplicate field 'a'"), e.getMessage());

        Map<String, Integer> noSpace = vocab();
        noSpace.remove("Ġ");
        noSpace.put("xy", 220);
        e = assertThrows(IllegalArgumentException.class, () -> new Gpt2Tokenizer(noSpace, List.of()));
        assertTrue(e.getMessage().contains("byte 0x20"), e.getMessage());
    }

    @Test
    void unknownIdOnDecode() {
        Gpt2Tokenizer t = new Gpt2Tokenizer(vocab(), List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {3, 256}));
        assertTrue(e.getMessage().contains("unknown token id 256") && e.getMessage().contains("vocab size 256"), e.getMessage());
    }
}
