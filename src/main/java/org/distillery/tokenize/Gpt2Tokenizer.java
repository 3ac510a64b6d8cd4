package org.distillery.tokenize;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * GPT-2's byte-level BPE tokenizer (Radford et al. 2019; the algorithm of openai/gpt-2's
 * {@code encoder.py}), read from and written to GPT-2's two files:
 * <ul>
 *   <li>{@code vocab.json}: a JSON object, token (in {@link ByteLevel} characters) to id; ids must be
 *       exactly {@code 0..n-1}, each once.</li>
 *   <li>{@code merges.txt}: an optional first line starting with {@code #version}, then one merge per
 *       line, {@code "left right"} (one space), in rank order (line 2 is rank 0).</li>
 * </ul>
 *
 * <p>Encoding: 1. cut the text into pre-tokens with {@link ByteLevel#PATTERN}; 2. write each
 * pre-token's UTF-8 bytes as single-byte tokens; 3. repeatedly take the adjacent pair with the
 * lowest merge rank and join all its occurrences (left to right), until no adjacent pair is a merge.
 * Decoding concatenates the tokens' bytes and decodes them as UTF-8 (malformed sequences, possible
 * only for id sequences no encoding produces, become U+FFFD as in {@link ByteTokenizer}), so
 * {@code decode(encode(s)).equals(s)} for every string without unpaired surrogates.
 *
 * <p>Special tokens are the vocabulary entries that are neither a single byte nor the result of a
 * merge (GPT-2: {@code <|endoftext|>}); {@link #encode} never produces them (text that spells one is
 * encoded as ordinary text, like tiktoken's {@code encode_ordinary}); look their ids up with
 * {@link #specialTokens()}.
 */
public final class Gpt2Tokenizer implements Tokenizer {
    /** A merge rule: tokens {@code left} and {@code right} (byte-level characters) join into one. */
    public record Merge(String left, String right) {
        public Merge {
            if (left == null || left.isEmpty() || right == null || right.isEmpty()) {
                throw new IllegalArgumentException("merge (" + left + ", " + right + "): both tokens must be non-empty");
            }
        }
    }

    /** The first line {@link #save} writes to {@code merges.txt}, as in GPT-2's {@code vocab.bpe}. */
    public static final String MERGES_HEADER = "#version: 0.2";
    /** Pre-tokens cached per tokenizer before the cache is cleared. */
    private static final int CACHE_LIMIT = 100_000;

    private final String[] tokens;            // id -> token
    private final Map<String, Integer> ids;   // token -> id
    private final List<Merge> merges;
    private final byte[][] tokenBytes;        // id -> the bytes it stands for
    private final int[] byteIds = new int[256]; // byte value -> id of its single-byte token
    private final Map<Long, Long> pairs = new HashMap<>(); // (left id, right id) -> (rank << 32 | merged id)
    private final Map<String, Integer> specials;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>(); // pre-token -> ids; encode is thread-safe

    /**
     * A tokenizer from a vocabulary and merges in rank order.
     *
     * @throws IllegalArgumentException when the ids are not exactly {@code 0..n-1}, a byte's token is
     *     missing, or a merge names a token not in the vocabulary, yields one that is not, or repeats
     */
    public Gpt2Tokenizer(Map<String, Integer> vocab, List<Merge> merges) {
        this(vocab, merges, null);
    }

    private Gpt2Tokenizer(Map<String, Integer> vocab, List<Merge> merges, int[] mergeLines) {
        if (vocab == null || vocab.isEmpty()) {
            throw new IllegalArgumentException("vocab is empty: a byte-level vocabulary needs at least the 256 byte tokens");
        }
        if (merges == null) {
            throw new IllegalArgumentException("merges must not be null (use List.of() for none)");
        }
        int n = vocab.size();
        tokens = new String[n];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id >= n) {
                throw new IllegalArgumentException("vocab: token '" + e.getKey() + "' has id " + id
                        + ": ids must be in [0, " + n + ") for " + n + " tokens (no gaps)");
            }
            if (tokens[id] != null) {
                throw new IllegalArgumentException("vocab: id " + id + " is given to both '" + tokens[id]
                        + "' and '" + e.getKey() + "': each id must be used once");
            }
            tokens[id] = e.getKey();
        }
        ids = new HashMap<>(vocab);
        boolean[] produced = new boolean[n];
        for (int b = 0; b < 256; b++) {
            String t = String.valueOf(ByteLevel.byteToChar(b));
            Integer id = ids.get(t);
            if (id == null) {
                throw new IllegalArgumentException(String.format(
                        "vocab: no token for byte 0x%02X ('%s'): a byte-level vocabulary needs all 256 byte tokens", b, t));
            }
            byteIds[b] = id;
            produced[id] = true;
        }
        for (int r = 0; r < merges.size(); r++) {
            Merge m = merges.get(r);
            String where = mergeLines == null ? "merge " + r : "merges.txt line " + mergeLines[r];
            Integer a = ids.get(m.left());
            Integer b = ids.get(m.right());
            Integer c = ids.get(m.left() + m.right());
            if (a == null || b == null) {
                throw new IllegalArgumentException(where + " '" + m.left() + " " + m.right() + "': token '"
                        + (a == null ? m.left() : m.right()) + "' is not in the vocabulary");
            }
            if (c == null) {
                throw new IllegalArgumentException(where + " '" + m.left() + " " + m.right() + "': the merged token '"
                        + m.left() + m.right() + "' is not in the vocabulary");
            }
            Long previous = pairs.putIfAbsent(key(a, b), ((long) r << 32) | c);
            if (previous != null) {
                throw new IllegalArgumentException(where + " '" + m.left() + " " + m.right()
                        + "': repeats the merge of rank " + (previous >>> 32));
            }
            produced[c] = true;
        }
        this.merges = List.copyOf(merges);
        tokenBytes = new byte[n][];
        Map<String, Integer> sp = new LinkedHashMap<>();
        for (int id = 0; id < n; id++) {
            tokenBytes[id] = bytesOf(tokens[id]);
            if (!produced[id]) {
                sp.put(tokens[id], id);
            }
        }
        specials = Collections.unmodifiableMap(sp);
    }

    /** Reads {@code dir/vocab.json} and {@code dir/merges.txt}. */
    public static Gpt2Tokenizer load(Path dir) {
        return load(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
    }

    /**
     * Reads a tokenizer from GPT-2's files (GPT-2's own {@code encoder.json} and {@code vocab.bpe}
     * are these two under other names).
     *
     * @throws IllegalArgumentException on malformed content, naming the file and, for merges, the line
     */
    public static Gpt2Tokenizer load(Path vocabJson, Path mergesTxt) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        try {
            ObjectMapper mapper = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            JsonNode root = mapper.readTree(Files.readAllBytes(vocabJson));
            if (root == null || !root.isObject()) {
                throw new IllegalArgumentException(vocabJson + ": expected a JSON object of token -> id");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().canConvertToInt() || !e.getValue().isIntegralNumber()) {
                    throw new IllegalArgumentException(vocabJson + ": token '" + e.getKey() + "' has id "
                            + e.getValue() + ": ids must be integers");
                }
                vocab.put(e.getKey(), e.getValue().intValue());
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(vocabJson + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + vocabJson + ": " + IoErrors.reason(e), e);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(mergesTxt + ": not UTF-8 text (" + e + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + mergesTxt + ": " + IoErrors.reason(e), e);
        }
        List<Merge> merges = new ArrayList<>();
        int[] lineNumbers = new int[lines.size()];
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i == 0 && line.startsWith("#version")) {
                continue;
            }
            if (line.isEmpty() && i == lines.size() - 1) {
                continue;
            }
            int space = line.indexOf(' ');
            if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
                throw new IllegalArgumentException(mergesTxt + " line " + (i + 1) + ": '" + line
                        + "': expected two tokens separated by one space");
            }
            lineNumbers[merges.size()] = i + 1;
            merges.add(new Merge(line.substring(0, space), line.substring(space + 1)));
        }
        try {
            return new Gpt2Tokenizer(vocab, merges, lineNumbers);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(vocabJson.getFileName() + " + " + mergesTxt.getFileName()
                    + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code dir/vocab.json} (ids ascending) and {@code dir/merges.txt}, each atomically. */
    public void save(Path dir) {
        Map<String, Integer> ordered = new LinkedHashMap<>();
        for (int id = 0; id < tokens.length; id++) {
            ordered.put(tokens[id], id);
        }
        AtomicFiles.write(dir.resolve("vocab.json"), out -> new ObjectMapper().writeValue(out, ordered));
        StringBuilder sb = new StringBuilder(MERGES_HEADER).append('\n');
        for (Merge m : merges) {
            sb.append(m.left()).append(' ').append(m.right()).append('\n');
        }
        AtomicFiles.writeString(dir.resolve("merges.txt"), sb.toString());
    }

    @Override
    public int[] encode(String text) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        int[] out = new int[Math.max(16, text.length() / 3)];
        int n = 0;
        Matcher m = ByteLevel.PATTERN.matcher(text);
        while (m.find()) {
            int[] piece = encodePreToken(m.group());
            if (n + piece.length > out.length) {
                out = Arrays.copyOf(out, Math.max(out.length * 2, n + piece.length));
            }
            System.arraycopy(piece, 0, out, n, piece.length);
            n += piece.length;
        }
        return Arrays.copyOf(out, n);
    }

    /** Steps 2 and 3 of the encoding for one pre-token (cached). */
    private int[] encodePreToken(String preToken) {
        int[] cached = cache.get(preToken);
        if (cached != null) {
            return cached;
        }
        byte[] bytes = preToken.getBytes(StandardCharsets.UTF_8);
        int[] s = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            s[i] = byteIds[bytes[i] & 0xFF];
        }
        while (s.length > 1) {
            long best = Long.MAX_VALUE; // (rank << 32 | merged id) of the lowest-rank adjacent pair
            int bestLeft = -1;
            int bestRight = -1;
            for (int i = 0; i + 1 < s.length; i++) {
                Long v = pairs.get(key(s[i], s[i + 1]));
                if (v != null && v < best) {
                    best = v;
                    bestLeft = s[i];
                    bestRight = s[i + 1];
                }
            }
            if (bestLeft < 0) {
                break;
            }
            s = BpeMergeLearner.applyMerge(s, bestLeft, bestRight, (int) best);
        }
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(preToken, s);
        return s;
    }

    @Override
    public String decode(int[] ids) {
        if (ids == null) {
            throw new IllegalArgumentException("ids must not be null");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            Tokenizer.checkId(id, tokens.length);
            out.writeBytes(tokenBytes[id]);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return specials;
    }

    /** The token with id {@code id}, in byte-level characters. */
    public String token(int id) {
        Tokenizer.checkId(id, tokens.length);
        return tokens[id];
    }

    /** The id of {@code token} (byte-level characters), or -1 when it is not in the vocabulary. */
    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    /** The merges in rank order. */
    public List<Merge> merges() {
        return merges;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** The bytes a token stands for: its byte-level characters mapped back, else its UTF-8. */
    private static byte[] bytesOf(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = ByteLevel.charToByte(token.charAt(i));
            if (b < 0) {
                return token.getBytes(StandardCharsets.UTF_8);
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
