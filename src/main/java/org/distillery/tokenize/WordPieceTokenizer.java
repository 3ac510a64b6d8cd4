package org.distillery.tokenize;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * BERT's WordPiece tokenizer (Devlin et al. 2019; Wu et al. 2016, section 4.1), with BERT's
 * {@code vocab.txt} format: one token per line, id = line number - 1; a piece that continues a word
 * is written with the prefix {@code ##}.
 *
 * <p>Encoding: 1. {@link #preTokenize} the text into words; 2. for each word, greedy
 * longest-match-first: take the longest vocabulary entry that starts the rest of the word
 * ({@code ##}-prefixed after the first piece), repeat; when no entry matches, or the word is longer
 * than {@link #MAX_CHARS_PER_WORD} characters, the whole word becomes {@code [UNK]} (as BERT does).
 *
 * <p>Pre-tokenization (BERT's "basic tokenizer", simplified): when {@code lowercase}, lower-case
 * (root locale), decompose (NFD) and drop combining marks ("Café" to "cafe"); drop control
 * characters; split on whitespace; every punctuation character (Unicode category P*, or an ASCII
 * symbol such as {@code $ + < = > ^ ` | ~}) and every CJK ideograph becomes a word of its own.
 *
 * <p>Decoding joins pieces with spaces, gluing {@code ##} pieces to the piece before; it is lossy
 * (case, accents, spacing around punctuation): {@code decode(encode(s))} is the pre-tokenized text.
 *
 * <p>The five {@link #SPECIAL_TOKENS} must be in the vocabulary; {@link WordPieceTrainer} puts them at
 * ids 0-4 ({@code [PAD]}=0, {@code [UNK]}=1, {@code [CLS]}=2, {@code [SEP]}=3, {@code [MASK]}=4);
 * BERT's own vocabularies have them elsewhere (e.g. 0, 100, 101, 102, 103), so use {@link #padId()}
 * etc. rather than constants.
 */
public final class WordPieceTokenizer implements Tokenizer {
    public static final String PAD = "[PAD]";
    public static final String UNK = "[UNK]";
    public static final String CLS = "[CLS]";
    public static final String SEP = "[SEP]";
    public static final String MASK = "[MASK]";
    /** The special tokens, in the id order {@link WordPieceTrainer} gives them (0..4). */
    public static final List<String> SPECIAL_TOKENS = List.of(PAD, UNK, CLS, SEP, MASK);
    /** Prefix of a piece that continues a word. */
    public static final String CONTINUATION = "##";
    /** Words longer than this (in code points) become {@code [UNK]}, as in BERT. */
    public static final int MAX_CHARS_PER_WORD = 100;

    private final List<String> tokens;
    private final Map<String, Integer> ids = new HashMap<>();
    private final boolean lowercase;
    private final Map<String, Integer> specials;

    /**
     * A tokenizer over {@code vocab} (id = index).
     *
     * @throws IllegalArgumentException when the vocabulary is empty, a token is empty or holds
     *     whitespace, a token repeats, or a special token is missing
     */
    public WordPieceTokenizer(List<String> vocab, boolean lowercase) {
        if (vocab == null || vocab.isEmpty()) {
            throw new IllegalArgumentException("vocab is empty: it needs at least the special tokens " + SPECIAL_TOKENS);
        }
        for (int id = 0; id < vocab.size(); id++) {
            String t = vocab.get(id);
            if (t == null || t.isEmpty() || t.codePoints().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("vocab line " + (id + 1) + " (id " + id + "): token '" + t
                        + "' must be non-empty and hold no whitespace");
            }
            Integer previous = ids.putIfAbsent(t, id);
            if (previous != null) {
                throw new IllegalArgumentException("vocab line " + (id + 1) + " (id " + id + "): token '" + t
                        + "' repeats line " + (previous + 1) + " (id " + previous + "); tokens must be distinct");
            }
        }
        List<String> missing = new ArrayList<>();
        Map<String, Integer> sp = new LinkedHashMap<>();
        for (String s : SPECIAL_TOKENS) {
            if (ids.containsKey(s)) {
                sp.put(s, ids.get(s));
            } else {
                missing.add(s);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("vocab lacks the special tokens " + missing + ": all of "
                    + SPECIAL_TOKENS + " are required");
        }
        this.tokens = List.copyOf(vocab);
        this.lowercase = lowercase;
        this.specials = Collections.unmodifiableMap(sp);
    }

    /** Reads a BERT {@code vocab.txt} (UTF-8, one token per line). */
    public static WordPieceTokenizer load(Path vocabTxt, boolean lowercase) {
        List<String> lines;
        try {
            lines = Files.readAllLines(vocabTxt, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(vocabTxt + ": not UTF-8 text (" + e + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + vocabTxt + ": " + IoErrors.reason(e), e);
        }
        try {
            return new WordPieceTokenizer(lines, lowercase);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(vocabTxt + ": " + e.getMessage(), e);
        }
    }

    /** Writes the vocabulary as {@code vocab.txt} (one token per line, LF-terminated), atomically. */
    public void save(Path vocabTxt) {
        StringBuilder sb = new StringBuilder();
        for (String t : tokens) {
            sb.append(t).append('\n');
        }
        AtomicFiles.writeString(vocabTxt, sb.toString());
    }

    /** Step 1: the words of {@code text} (see the class comment). */
    public static List<String> preTokenize(String text, boolean lowercase) {
        if (text == null) {
            throw new IllegalArgumentException("text must not be null");
        }
        String s = text;
        if (lowercase) {
            s = Normalizer.normalize(s.toLowerCase(Locale.ROOT), Normalizer.Form.NFD);
        }
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            int type = Character.getType(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                flush(word, words);
            } else if (type == Character.CONTROL || cp == 0xFFFD
                    || (lowercase && type == Character.NON_SPACING_MARK)) {
                continue;
            } else if (isPunctuation(cp, type) || Character.UnicodeScript.of(cp) == Character.UnicodeScript.HAN) {
                flush(word, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                word.appendCodePoint(cp);
            }
        }
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (word.length() > 0) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    private static boolean isPunctuation(int cp, int type) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        return type == Character.CONNECTOR_PUNCTUATION || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }

    /** The pieces of {@code text} (steps 1 and 2), e.g. {@code ["un", "##aff", "##able"]}. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String word : preTokenize(text, lowercase)) {
            wordPieces(word, out);
        }
        return out;
    }

    /** Step 2 for one word: greedy longest-match-first, or {@code [UNK]} for the whole word. */
    private void wordPieces(String word, List<String> out) {
        if (word.codePointCount(0, word.length()) > MAX_CHARS_PER_WORD) {
            out.add(UNK);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < word.length()) {
            String found = null;
            int end = word.length();
            while (end > start) {
                String piece = start == 0 ? word.substring(0, end) : CONTINUATION + word.substring(start, end);
                if (ids.containsKey(piece)) {
                    found = piece;
                    break;
                }
                end -= Character.charCount(word.codePointBefore(end));
            }
            if (found == null) {
                out.subList(mark, out.size()).clear();
                out.add(UNK);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    @Override
    public int[] encode(String text) {
        List<String> pieces = tokenize(text);
        int[] out = new int[pieces.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(pieces.get(i));
        }
        return out;
    }

    /** BERT's single-sentence input: {@code [CLS]}, the pieces of {@code text}, {@code [SEP]}. */
    public int[] encodeWithSpecials(String text) {
        int[] body = encode(text);
        int[] out = new int[body.length + 2];
        out[0] = clsId();
        System.arraycopy(body, 0, out, 1, body.length);
        out[out.length - 1] = sepId();
        return out;
    }

    @Override
    public String decode(int[] ids) {
        if (ids == null) {
            throw new IllegalArgumentException("ids must not be null");
        }
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            Tokenizer.checkId(id, tokens.size());
            String t = tokens.get(id);
            if (t.startsWith(CONTINUATION) && t.length() > CONTINUATION.length() && sb.length() > 0) {
                sb.append(t, CONTINUATION.length(), t.length());
            } else {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(t);
            }
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return tokens.size();
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return specials;
    }

    /** The vocabulary, id order. */
    public List<String> tokens() {
        return tokens;
    }

    /** Whether text is lower-cased and stripped of accents before matching. */
    public boolean lowercase() {
        return lowercase;
    }

    /** The id of {@code token}, or -1 when it is not in the vocabulary. */
    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    public int padId() {
        return specials.get(PAD);
    }

    public int unkId() {
        return specials.get(UNK);
    }

    public int clsId() {
        return specials.get(CLS);
    }

    public int sepId() {
        return specials.get(SEP);
    }

    public int maskId() {
        return specials.get(MASK);
    }
}
