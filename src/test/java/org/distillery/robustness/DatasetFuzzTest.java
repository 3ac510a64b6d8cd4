package org.distillery.robustness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.distillery.data.BrownCorpus;
import org.distillery.data.DatasetException;
import org.distillery.data.DatasetFiles;
import org.distillery.data.GenrePassages;
import org.distillery.data.Mnist;
import org.distillery.data.TokenBin;
import org.distillery.tokenize.ByteTokenizer;
import org.junit.jupiter.api.Test;

/**
 * Fuzzing of the dataset readers (Jazzer), as {@link ReaderFuzzTest}: nanoGPT token files ({@link TokenBin}), the
 * Brown corpus' JSONL splits ({@link BrownCorpus}, and {@link GenrePassages} cut from what loaded), a dataset's
 * {@code SHA256SUMS} manifest ({@link DatasetFiles}) and the MNIST IDX pair ({@link Mnist}). Each reader may only
 * answer with its documented exceptions: {@link DatasetException} for the shipped datasets, {@link
 * IllegalArgumentException} for a token file (both naming the file). Seeds:
 * {@code src/test/resources/org/distillery/robustness/DatasetFuzzTestInputs/<target>/}.
 */
class DatasetFuzzTest {
    /** Scratch paths per JVM (the fuzzer calls a target millions of times; no temp-dir churn). */
    private static Path scratch(String name) throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "distillery-dataset-fuzz-" + ProcessHandle.current().pid());
        Files.createDirectories(dir);
        return dir.resolve(name);
    }

    /** The vocabulary the token-file target checks ids against: ids of one byte or a small second byte pass. */
    static final int BIN_VOCAB = 1000;

    @FuzzTest(maxDuration = "10m")
    void tokenBin(byte[] data) throws IOException {
        Path f = scratch("ids.bin");
        Files.write(f, data);
        try {
            int[] ids = TokenBin.read(f, BIN_VOCAB);
            if (ids.length != data.length / 2) throw new IllegalStateException(ids.length + " ids from " + data.length + " bytes");
        } catch (IllegalArgumentException expected) {
            // odd length or an id outside the vocabulary, named
        }
    }

    /** Validation and test splits beside the fuzzed training split (ids that the seeds do not use). */
    private static final String VALIDATION = "{\"id\":\"zv01\",\"category\":\"news\",\"text\":\"A validation document.\"}\n";
    private static final String TEST = "{\"id\":\"zt01\",\"category\":\"humor\",\"text\":\"A test document.\\nTwo lines.\"}\n";

    /**
     * The Brown corpus with the fuzzer's training split: the first byte chooses how the rest is stored (even: the
     * target gzips it, so the fuzzer works on the JSONL lines; odd: written as it is, so it also reaches the gzip
     * layer). The manifest lists the files' true sums, so the JSONL parsing is what is fuzzed.
     */
    @FuzzTest(maxDuration = "10m")
    void brownCorpus(byte[] data) throws IOException {
        if (data.length == 0) return;
        byte[] rest = Arrays.copyOfRange(data, 1, data.length);
        Path root = scratch("brown-root");
        Path dir = root.resolve(BrownCorpus.DIR);
        Files.createDirectories(dir);
        Files.write(dir.resolve("train.jsonl.gz"), (data[0] & 1) == 0 ? gzip(rest) : rest);
        if (!Files.exists(dir.resolve("test.jsonl.gz"))) {      // once: each file verified is remembered per JVM
            Files.write(dir.resolve("validation.jsonl.gz"), gzip(VALIDATION.getBytes(StandardCharsets.UTF_8)));
            Files.write(dir.resolve("test.jsonl.gz"), gzip(TEST.getBytes(StandardCharsets.UTF_8)));
        }
        writeSums(dir, "train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz");
        BrownCorpus brown;
        try {
            brown = BrownCorpus.load(root);
        } catch (DatasetException expected) {
            return;         // not JSON, a missing field, an unknown category, a duplicate id, corrupt gzip: named
        }
        brown.text(BrownCorpus.Split.TRAIN);
        GenrePassages.of(brown.documents(BrownCorpus.Split.TRAIN), new ByteTokenizer(), 8);
    }

    /**
     * A dataset folder's {@code SHA256SUMS} is the fuzzer's bytes; beside it, one file {@code a.txt}. The manifest is
     * read, {@code a.txt} checked against it and every listed file verified.
     */
    @FuzzTest(maxDuration = "10m")
    void datasetSums(byte[] data) throws IOException {
        Path root = scratch("sums-root");
        Path dir = root.resolve("d");
        Files.createDirectories(dir);
        Path a = dir.resolve("a.txt");
        if (!Files.exists(a)) Files.writeString(a, "a\n");
        Files.write(dir.resolve(DatasetFiles.SUMS), data);
        try {
            DatasetFiles.expectedSums(dir);
        } catch (DatasetException expected) {
            return;         // a line not in sha256sum format, a name that is not a file of the folder: named
        }
        try {
            DatasetFiles.verified(dir, "a.txt");
        } catch (DatasetException expected) {
            // not listed, or a different sum
        }
        try {
            DatasetFiles.verifyAll(root);
        } catch (DatasetException expected) {
            // a listed file missing or changed
        }
    }

    /**
     * The MNIST training pair: the first 4 bytes (big-endian) are the length of the images file, which follows; the
     * rest is the labels file. Each may be gzipped or not, as {@code Idx.read} accepts; the manifest holds their sums.
     */
    @FuzzTest(maxDuration = "10m")
    void mnist(byte[] data) throws IOException {
        if (data.length < 4) return;
        int n = ((data[0] & 0xFF) << 24) | ((data[1] & 0xFF) << 16) | ((data[2] & 0xFF) << 8) | (data[3] & 0xFF);
        int cut = 4 + (int) Math.min(Integer.toUnsignedLong(n), data.length - 4);
        Path root = scratch("mnist-root");
        Path dir = root.resolve(Mnist.DIR);
        Files.createDirectories(dir);
        Mnist.Split s = Mnist.Split.TRAIN;
        Files.write(dir.resolve(s.imagesFile()), Arrays.copyOfRange(data, 4, cut));
        Files.write(dir.resolve(s.labelsFile()), Arrays.copyOfRange(data, cut, data.length));
        writeSums(dir, s.imagesFile(), s.labelsFile());
        try {
            Mnist m = Mnist.load(root, s);
            m.pixels();
            m.labelCounts();
        } catch (DatasetException expected) {
            // malformed IDX, not [n, 28, 28] UBYTE images with n UBYTE labels, a label that is not a digit: named
        }
    }

    static byte[] gzip(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Writes {@code dir/SHA256SUMS} with the true sums of {@code files}. */
    static void writeSums(Path dir, String... files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : files) sb.append(DatasetFiles.sha256(dir.resolve(f))).append("  ").append(f).append('\n');
        Files.writeString(dir.resolve(DatasetFiles.SUMS), sb.toString());
    }

    private static byte[] seed(String target, String name) throws IOException {
        try (var in = DatasetFuzzTest.class.getResourceAsStream("DatasetFuzzTestInputs/" + target + "/" + name)) {
            if (in == null) throw new IllegalStateException("seed " + target + "/" + name + " is missing");
            return in.readAllBytes();
        }
    }

    /**
     * Found in review before fuzzing (kept as seeds folder-name, nul-name, absolute-name): a manifest line naming a path
     * outside its folder was hashed ({@code /dev/zero}: for ever) or threw InvalidPathException (a NUL); it is refused.
     */
    @Test
    void manifestNamesOutsideTheFolderAreRefused() throws IOException {
        Path dir = scratch("finding-sums").resolve("d");
        Files.createDirectories(dir);
        for (String seed : List.of("folder-name", "nul-name", "absolute-name")) {
            byte[] b = seed("datasetSums", seed);
            Files.write(dir.resolve(DatasetFiles.SUMS), b);
            String name = new String(b, 66, b.length - 67, StandardCharsets.UTF_8);
            DatasetException e = org.junit.jupiter.api.Assertions.assertThrows(DatasetException.class,
                    () -> DatasetFiles.expectedSums(dir));
            assertEquals(dir.resolve(DatasetFiles.SUMS) + " line 1: \"" + name + "\" is not a file name of " + dir
                    + " (a manifest lists the files beside it, without folders)", e.getMessage(), seed);
        }
    }

    /** The valid seeds load with the content they were made with: the corpora start the fuzzer on accepting paths. */
    @Test
    void validSeedsLoad() throws IOException {
        Path f = scratch("seed.bin");
        Files.write(f, seed("tokenBin", "ids-0-1-999"));
        assertArrayEquals(new int[] {0, 1, 999}, TokenBin.read(f, BIN_VOCAB));

        for (String name : List.of("two-documents", "two-documents-gzipped")) {
            byte[] b = seed("brownCorpus", name);
            Path root = scratch("seed-brown-" + name), dir = root.resolve(BrownCorpus.DIR);
            Files.createDirectories(dir);
            byte[] rest = Arrays.copyOfRange(b, 1, b.length);
            Files.write(dir.resolve("train.jsonl.gz"), (b[0] & 1) == 0 ? gzip(rest) : rest);
            Files.write(dir.resolve("validation.jsonl.gz"), gzip(VALIDATION.getBytes(StandardCharsets.UTF_8)));
            Files.write(dir.resolve("test.jsonl.gz"), gzip(TEST.getBytes(StandardCharsets.UTF_8)));
            writeSums(dir, "train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz");
            BrownCorpus brown = BrownCorpus.load(root);
            assertEquals(List.of("ca01", "cr09"), brown.documents(BrownCorpus.Split.TRAIN).stream().map(BrownCorpus.Document::id).toList(), name);
            assertEquals(14, brown.documents(BrownCorpus.Split.TRAIN).get(1).categoryIndex(), name);
        }

        Path dir = scratch("seed-sums").resolve("d");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("a.txt"), "a\n");
        Files.write(dir.resolve(DatasetFiles.SUMS), seed("datasetSums", "a-txt"));
        assertEquals(dir.resolve("a.txt"), DatasetFiles.verified(dir, "a.txt"));

        byte[] m = seed("mnist", "two-digits");
        Path mroot = scratch("seed-mnist"), mdir = mroot.resolve(Mnist.DIR);
        Files.createDirectories(mdir);
        int n = ((m[0] & 0xFF) << 24) | ((m[1] & 0xFF) << 16) | ((m[2] & 0xFF) << 8) | (m[3] & 0xFF);
        Files.write(mdir.resolve(Mnist.Split.TRAIN.imagesFile()), Arrays.copyOfRange(m, 4, 4 + n));
        Files.write(mdir.resolve(Mnist.Split.TRAIN.labelsFile()), Arrays.copyOfRange(m, 4 + n, m.length));
        writeSums(mdir, Mnist.Split.TRAIN.imagesFile(), Mnist.Split.TRAIN.labelsFile());
        assertArrayEquals(new int[] {3, 7}, Mnist.load(mroot, Mnist.Split.TRAIN).labels());
    }
}
