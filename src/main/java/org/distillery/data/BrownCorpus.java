package org.distillery.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.distillery.util.IoErrors;
import org.distillery.util.ProjectPaths;

/**
 * The shipped Brown corpus ({@code datasets/brown/}, see its README): 500 documents with the
 * part-of-speech tags removed, each labelled with one of 15 genre {@link #CATEGORIES}, split by
 * document into train (392), validation (54) and test (54). Within a document, sentences of a
 * paragraph are separated by a space and paragraphs by {@code "\n"}; {@link #text(Split)} joins
 * documents with {@link #DOCUMENT_SEPARATOR} ({@code "\n\n"}). Files are checked against
 * {@code SHA256SUMS} before they are read.
 *
 * <pre>{@code
 * BrownCorpus brown = BrownCorpus.load();
 * String train = brown.text(BrownCorpus.Split.TRAIN);
 * for (BrownCorpus.Document d : brown.documents(BrownCorpus.Split.TEST)) { ... d.categoryIndex() ... }
 * }</pre>
 */
public final class BrownCorpus {
    /** Dataset folder name under {@code datasets/}. */
    public static final String DIR = "brown";

    /**
     * The 15 genre categories in the corpus' order (file letters a-r without i, o, q); a
     * category's index in this list is its class index.
     */
    public static final List<String> CATEGORIES = List.of(
            "news", "editorial", "reviews", "religion", "hobbies", "lore", "belles_lettres",
            "government", "learned", "fiction", "mystery", "science_fiction", "adventure",
            "romance", "humor");

    /** Separator between documents in {@link #text(Split)}. */
    public static final String DOCUMENT_SEPARATOR = "\n\n";

    /** The three splits, with the file each is stored in. */
    public enum Split {
        TRAIN("train"), VALIDATION("validation"), TEST("test");

        /** Split name, as in the file name {@code <name>.jsonl.gz}. */
        public final String name;

        Split(String name) {
            this.name = name;
        }

        /** The split's file name. */
        public String fileName() {
            return name + ".jsonl.gz";
        }
    }

    /**
     * One document.
     *
     * @param id       Brown document id, e.g. {@code ca01}
     * @param category genre category, one of {@link #CATEGORIES}
     * @param split    the split it belongs to
     * @param text     plain text: sentences joined by spaces, paragraphs by {@code "\n"}
     */
    public record Document(String id, String category, Split split, String text) {
        /** The category's index in {@link #CATEGORIES} (0-14). */
        public int categoryIndex() {
            return BrownCorpus.categoryIndex(category);
        }
    }

    private final Map<Split, List<Document>> bySplit; // documents of each split, sorted by id

    private BrownCorpus(Map<Split, List<Document>> bySplit) {
        this.bySplit = bySplit;
    }

    /** Loads all splits from the project's {@code datasets/} folder. */
    public static BrownCorpus load() {
        return load(ProjectPaths.datasets());
    }

    /**
     * Loads all splits from {@code datasetsRoot/brown/}, checking each file's sha256 first.
     *
     * @throws DatasetException if a file is missing, fails its checksum or is malformed
     */
    public static BrownCorpus load(Path datasetsRoot) {
        Path dir = datasetsRoot.resolve(DIR);
        ObjectMapper json = new ObjectMapper();
        Map<Split, List<Document>> bySplit = new EnumMap<>(Split.class);
        Set<String> ids = new HashSet<>();
        for (Split split : Split.values()) {
            Path file = DatasetFiles.verified(dir, split.fileName());
            List<Document> docs = new ArrayList<>();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
                int lineNo = 0;
                for (String line; (line = in.readLine()) != null; ) {
                    lineNo++;
                    Document d = parse(json, line, split, file + " line " + lineNo);
                    if (!ids.add(d.id())) {
                        throw new DatasetException(file + " line " + lineNo + ": duplicate document id " + d.id());
                    }
                    docs.add(d);
                }
            } catch (IOException e) {
                throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
            }
            bySplit.put(split, Collections.unmodifiableList(docs));
        }
        return new BrownCorpus(bySplit);
    }

    private static Document parse(ObjectMapper json, String line, Split split, String where) {
        JsonNode n;
        try {
            n = json.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new DatasetException(where + ": not JSON: " + e.getOriginalMessage(), e);
        }
        if (n == null || !n.path("id").isTextual() || !n.path("category").isTextual() || !n.path("text").isTextual()) {
            throw new DatasetException(where + ": expected an object with string fields id, category, text");
        }
        String category = n.get("category").asText();
        if (!CATEGORIES.contains(category)) {
            throw new DatasetException(where + ": unknown category " + category);
        }
        return new Document(n.get("id").asText(), category, split, n.get("text").asText());
    }

    /** Index of {@code category} in {@link #CATEGORIES}. */
    public static int categoryIndex(String category) {
        int i = CATEGORIES.indexOf(category);
        if (i < 0) {
            throw new IllegalArgumentException("unknown Brown category: " + category);
        }
        return i;
    }

    /** The documents of a split, sorted by id (unmodifiable). */
    public List<Document> documents(Split split) {
        return bySplit.get(split);
    }

    /** All 500 documents: train, then validation, then test, each sorted by id. */
    public List<Document> documents() {
        List<Document> all = new ArrayList<>();
        for (Split s : Split.values()) {
            all.addAll(bySplit.get(s));
        }
        return Collections.unmodifiableList(all);
    }

    /** The texts of a split's documents, in id order, joined with {@link #DOCUMENT_SEPARATOR}. */
    public String text(Split split) {
        List<String> texts = new ArrayList<>();
        for (Document d : bySplit.get(split)) {
            texts.add(d.text());
        }
        return String.join(DOCUMENT_SEPARATOR, texts);
    }
}
