package org.distillery.data;

import java.util.ArrayList;
import java.util.List;
import org.distillery.tokenize.Tokenizer;

/**
 * The downstream task of the BERT notebooks: passages of Brown corpus documents labelled with their
 * document's genre (15 classes, {@link BrownCorpus#CATEGORIES}). Each document is tokenized whole and cut
 * into consecutive, non-overlapping passages of {@code length} tokens; a final piece shorter than half
 * that is dropped, a longer one kept as it is. Documents keep the corpus' train/validation/test split, so no
 * passage of a test document is seen in training.
 */
public final class GenrePassages {
    private GenrePassages() {}

    /**
     * One passage.
     *
     * @param document the Brown document it comes from
     * @param label    the genre's index in {@link BrownCorpus#CATEGORIES}
     * @param tokens   its token ids (no special tokens), 1..length of them
     */
    public record Passage(String document, int label, int[] tokens) {}

    /**
     * @param documents e.g. {@code BrownCorpus.load().documents(Split.TRAIN)}
     * @param length    passage length in tokens, &gt;= 2
     */
    public static List<Passage> of(List<BrownCorpus.Document> documents, Tokenizer tokenizer, int length) {
        if (documents == null) throw new IllegalArgumentException("documents: must not be null");
        if (tokenizer == null) throw new IllegalArgumentException("tokenizer: must not be null");
        if (length < 2) throw new IllegalArgumentException("length: must be >= 2 tokens but was " + length);
        List<Passage> out = new ArrayList<>();
        for (BrownCorpus.Document d : documents) {
            int[] ids = tokenizer.encode(d.text());
            for (int s = 0; s < ids.length; s += length) {
                int n = Math.min(length, ids.length - s);
                if (n * 2 < length) break;
                out.add(new Passage(d.id(), d.categoryIndex(), java.util.Arrays.copyOfRange(ids, s, s + n)));
            }
        }
        return out;
    }

    /** The labels of {@code passages}, in order. */
    public static int[] labels(List<Passage> passages) {
        return passages.stream().mapToInt(Passage::label).toArray();
    }

    /** The token arrays of {@code passages}, in order. */
    public static List<int[]> tokens(List<Passage> passages) {
        return passages.stream().map(Passage::tokens).toList();
    }
}
