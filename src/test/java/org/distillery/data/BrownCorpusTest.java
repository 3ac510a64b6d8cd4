package org.distillery.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped Brown corpus: counts per split and category, the split rule, tag-free text. */
class BrownCorpusTest {
    static BrownCorpus brown;

    @BeforeAll
    static void load() {
        brown = BrownCorpus.load();
    }

    @Test
    void fifteenCategoriesInCorpusOrder() {
        assertEquals(15, BrownCorpus.CATEGORIES.size());
        assertEquals(List.of("news", "editorial", "reviews", "religion", "hobbies", "lore", "belles_lettres",
                "government", "learned", "fiction", "mystery", "science_fiction", "adventure", "romance", "humor"),
                BrownCorpus.CATEGORIES);
        assertEquals(0, BrownCorpus.categoryIndex("news"));
        assertEquals(14, BrownCorpus.categoryIndex("humor"));
    }

    @Test
    void countsPerSplitAndCategory() {
        assertEquals(392, brown.documents(BrownCorpus.Split.TRAIN).size());
        assertEquals(54, brown.documents(BrownCorpus.Split.VALIDATION).size());
        assertEquals(54, brown.documents(BrownCorpus.Split.TEST).size());
        assertEquals(500, brown.documents().size());
        int[] train = {34, 21, 13, 13, 28, 38, 59, 24, 64, 23, 18, 4, 23, 23, 7};
        int[] held = {5, 3, 2, 2, 4, 5, 8, 3, 8, 3, 3, 1, 3, 3, 1}; // validation and test alike
        int[][] expected = {train, held, held};
        for (BrownCorpus.Split s : BrownCorpus.Split.values()) {
            int[] counts = new int[15];
            for (BrownCorpus.Document d : brown.documents(s)) {
                assertEquals(s, d.split());
                counts[d.categoryIndex()]++;
            }
            assertEquals(java.util.Arrays.toString(expected[s.ordinal()]), java.util.Arrays.toString(counts), s.name);
        }
    }

    @Test
    void splitRuleByPositionWithinCategory() {
        List<String> valNews = new ArrayList<>();
        for (BrownCorpus.Document d : brown.documents(BrownCorpus.Split.VALIDATION)) {
            if (d.category().equals("news")) {
                valNews.add(d.id());
            }
        }
        assertEquals(List.of("ca02", "ca12", "ca22", "ca32", "ca42"), valNews);
        List<String> testSmall = new ArrayList<>();
        for (BrownCorpus.Document d : brown.documents(BrownCorpus.Split.TEST)) {
            if (d.category().equals("science_fiction") || d.category().equals("humor")) {
                testSmall.add(d.id());
            }
        }
        assertEquals(List.of("cm04", "cr04"), testSmall);
    }

    @Test
    void textHasNoTagsAndReadsNaturally() {
        BrownCorpus.Document ca01 = brown.documents(BrownCorpus.Split.TRAIN).get(0);
        assertEquals("ca01", ca01.id());
        assertEquals("news", ca01.category());
        assertTrue(ca01.text().startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent"
                + " primary election produced \"no evidence\" that any irregularities took place.\nThe jury further said"
                + " in term-end presentments that the City Executive Committee, which had over-all charge of the"
                + " election, \"deserves the praise"), ca01.text().substring(0, 300));
        assertTrue(ca01.text().contains("Mayor-nominate Ivan Allen Jr.\n"));
        assertTrue(ca01.text().contains("\nMerger proposed\nHowever, the jury said"));
        String ce01 = brown.documents(BrownCorpus.Split.TRAIN).stream().filter(d -> d.id().equals("ce01"))
                .findFirst().orElseThrow().text();
        assertTrue(ce01.contains("he was only 4' 10'' tall"));
        Pattern tag = Pattern.compile("\\S/(at|nn|nns|np|jj|vbd|vb|cc|rb|in-tl|nn-tl|np-tl|nn-hl)\\b");
        Pattern quoteToken = Pattern.compile("(?<![0-9])''|''\"");
        for (BrownCorpus.Document d : brown.documents()) {
            String t = d.text();
            assertFalse(tag.matcher(t).find(), d.id());
            assertFalse(t.contains("/at ") || t.contains("``") || t.contains("\t"), d.id());
            // '' survives only as an inch mark after a number (4' 10''), never as a quote token
            assertFalse(quoteToken.matcher(t).find(), d.id());
            assertFalse(t.isEmpty() || t.startsWith(" ") || t.endsWith("\n") || t.contains("\n\n"), d.id());
        }
    }

    @Test
    void splitTextJoinsDocumentsWithBlankLine() {
        List<BrownCorpus.Document> docs = brown.documents(BrownCorpus.Split.TEST);
        String text = brown.text(BrownCorpus.Split.TEST);
        long chars = 0;
        for (BrownCorpus.Document d : docs) {
            chars += d.text().length();
        }
        assertEquals(646771 + 2L * (54 - 1), text.length()); // characters per README + separators
        assertEquals(chars + 2L * (docs.size() - 1), text.length());
        assertTrue(text.startsWith(docs.get(0).text() + "\n\n" + docs.get(1).text() + "\n\n"));
        assertEquals(53, text.split("\n\n", -1).length - 1);
    }

    /** Writes a fake {@code root/brown} with the given JSON lines per split and a matching SHA256SUMS. */
    private static void fakeCorpus(Path root, String train, String validation, String test) throws Exception {
        Path dir = Files.createDirectories(root.resolve("brown"));
        String[] bodies = {train, validation, test};
        StringBuilder sums = new StringBuilder();
        for (BrownCorpus.Split s : BrownCorpus.Split.values()) {
            Path f = dir.resolve(s.fileName());
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
                out.write(bodies[s.ordinal()].getBytes(StandardCharsets.UTF_8));
            }
            sums.append(DatasetFiles.sha256(f)).append("  ").append(s.fileName()).append('\n');
        }
        Files.writeString(dir.resolve("SHA256SUMS"), sums);
    }

    @Test
    void loadsFromARootAndRejectsBadRecords(@TempDir Path root) throws Exception {
        fakeCorpus(root, "{\"id\":\"ca01\",\"category\":\"news\",\"text\":\"A b.\\nC d.\"}\n",
                "{\"id\":\"cr01\",\"category\":\"humor\",\"text\":\"Ha.\"}\n", "");
        BrownCorpus small = BrownCorpus.load(root);
        assertEquals(2, small.documents().size());
        assertEquals("A b.\nC d.", small.text(BrownCorpus.Split.TRAIN));
        assertEquals(14, small.documents(BrownCorpus.Split.VALIDATION).get(0).categoryIndex());
        assertEquals("", small.text(BrownCorpus.Split.TEST));

        Path train = root.resolve("brown").resolve("train.jsonl.gz");
        fakeCorpus(root, "{\"id\":\"ca01\",\"category\":\"poetry\",\"text\":\"x\"}\n", "", "");
        assertEquals(train + " line 1: unknown category poetry",
                assertThrows(DatasetException.class, () -> BrownCorpus.load(root)).getMessage());
        fakeCorpus(root, "{\"id\":\"ca01\",\"category\":\"news\"}\n", "", "");
        assertEquals(train + " line 1: expected an object with string fields id, category, text",
                assertThrows(DatasetException.class, () -> BrownCorpus.load(root)).getMessage());
        fakeCorpus(root, "{\"id\":\"ca01\",\"category\":\"news\",\"text\":\"x\"}\n",
                "{\"id\":\"ca01\",\"category\":\"news\",\"text\":\"y\"}\n", "");
        assertEquals(root.resolve("brown").resolve("validation.jsonl.gz") + " line 1: duplicate document id ca01",
                assertThrows(DatasetException.class, () -> BrownCorpus.load(root)).getMessage());
    }
}
