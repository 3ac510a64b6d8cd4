package org.distillery.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.util.ProjectPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checksum verification: the shipped files match their SHA256SUMS, and a corrupted or missing
 * file in a copy of a dataset folder gives the exact one-line errors.
 */
class DatasetFilesTest {
    @TempDir
    Path root;

    /** Copies {@code datasets/<name>} to {@code root/<name>}. */
    private Path copyDataset(String name) throws IOException {
        Path from = ProjectPaths.datasets().resolve(name);
        Path to = Files.createDirectories(root.resolve(name));
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static String sha256(byte[] b) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void shippedSumsListEveryDataFileWithItsRealHash() throws Exception {
        Map<String, String> mnist = DatasetFiles.expectedSums(ProjectPaths.datasets().resolve("mnist"));
        assertEquals(List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"), List.copyOf(mnist.keySet()));
        Map<String, String> brown = DatasetFiles.expectedSums(ProjectPaths.datasets().resolve("brown"));
        assertEquals(List.of("train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz"), List.copyOf(brown.keySet()));
        for (String name : new String[] {"mnist", "brown"}) {
            Path dir = ProjectPaths.datasets().resolve(name);
            for (Map.Entry<String, String> e : DatasetFiles.expectedSums(dir).entrySet()) {
                assertEquals(e.getValue(), sha256(Files.readAllBytes(dir.resolve(e.getKey()))), e.getKey());
                assertEquals(dir.resolve(e.getKey()), DatasetFiles.verified(dir, e.getKey()));
            }
        }
    }

    @Test
    void corruptedFileGivesTheChecksumError() throws Exception {
        Path dir = copyDataset("mnist");
        Path f = dir.resolve("t10k-labels-idx1-ubyte.gz");
        String expected = DatasetFiles.expectedSums(dir).get("t10k-labels-idx1-ubyte.gz");
        byte[] b = Files.readAllBytes(f);
        b[b.length / 2] ^= 0x01;
        Files.write(f, b);
        DatasetException e = assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TEST));
        assertEquals("checksum mismatch for " + f + ": expected sha256 " + expected + ", actual " + sha256(b)
                + "; restore it with 'git checkout -- datasets/mnist/t10k-labels-idx1-ubyte.gz'"
                + " or regenerate it with 'datasets/mnist/make.sh'", e.getMessage());
        // the train split is untouched and still loads from the copy
        assertEquals(8004, Mnist.load(root, Mnist.Split.TRAIN).size());
    }

    @Test
    void corruptedBrownFileGivesTheChecksumError() throws Exception {
        Path dir = copyDataset("brown");
        Path f = dir.resolve("validation.jsonl.gz");
        String expected = DatasetFiles.expectedSums(dir).get("validation.jsonl.gz");
        byte[] b = Files.readAllBytes(f);
        b[100] ^= (byte) 0x80;
        Files.write(f, b);
        DatasetException e = assertThrows(DatasetException.class, () -> BrownCorpus.load(root));
        assertEquals("checksum mismatch for " + f + ": expected sha256 " + expected + ", actual " + sha256(b)
                + "; restore it with 'git checkout -- datasets/brown/validation.jsonl.gz'"
                + " or regenerate it with 'datasets/brown/make.sh'", e.getMessage());
    }

    @Test
    void missingFileGivesTheRestoreHint() throws Exception {
        Path dir = copyDataset("mnist");
        Files.delete(dir.resolve("train-images-idx3-ubyte.gz"));
        DatasetException e = assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TRAIN));
        assertEquals("missing dataset file " + dir.resolve("train-images-idx3-ubyte.gz")
                + ": restore it with 'git checkout -- datasets/mnist/train-images-idx3-ubyte.gz'"
                + " or regenerate it with 'datasets/mnist/make.sh'", e.getMessage());
        Files.delete(dir.resolve("SHA256SUMS"));
        e = assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TEST));
        assertEquals("missing dataset file " + dir.resolve("SHA256SUMS")
                + ": restore it with 'git checkout -- datasets/mnist/SHA256SUMS'"
                + " or regenerate it with 'datasets/mnist/make.sh'", e.getMessage());
        e = assertThrows(DatasetException.class, () -> BrownCorpus.load(root));
        assertEquals("missing dataset file " + root.resolve("brown").resolve("SHA256SUMS")
                + ": restore it with 'git checkout -- datasets/brown/SHA256SUMS'"
                + " or regenerate it with 'datasets/brown/make.sh'", e.getMessage());
    }

    @Test
    void unlistedFileIsRejected() throws Exception {
        Path dir = copyDataset("mnist");
        Files.writeString(dir.resolve("extra.bin"), "x");
        DatasetException e = assertThrows(DatasetException.class, () -> DatasetFiles.verified(dir, "extra.bin"));
        assertEquals(dir.resolve("extra.bin") + " is not listed in " + dir.resolve("SHA256SUMS")
                + "; restore it with 'git checkout -- datasets/mnist/extra.bin'"
                + " or regenerate it with 'datasets/mnist/make.sh'", e.getMessage());
    }

    @Test
    void eachFileIsHashedOncePerJvm() throws Exception {
        Path dir = copyDataset("mnist");
        DatasetFiles.verified(dir, "t10k-labels-idx1-ubyte.gz");
        int before = DatasetFiles.hashCount();
        for (int i = 0; i < 3; i++) {
            DatasetFiles.verified(dir, "t10k-labels-idx1-ubyte.gz");
        }
        assertEquals(before, DatasetFiles.hashCount());
        // a file changed after its check (new size) is hashed again, and now fails
        Files.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), new byte[] {1, 2, 3});
        assertThrows(DatasetException.class, () -> DatasetFiles.verified(dir, "t10k-labels-idx1-ubyte.gz"));
        assertEquals(before + 1, DatasetFiles.hashCount());
    }

    @Test
    void verifyAllChecksEveryShippedFileAndNamesTheFirstBadOne() throws IOException {
        copyDataset("mnist");
        copyDataset("brown");
        Map<String, String> all = DatasetFiles.verifyAll(root);
        assertEquals(7, all.size());
        assertEquals(DatasetFiles.sha256(root.resolve("brown/test.jsonl.gz")), all.get("brown/test.jsonl.gz"));

        Path labels = root.resolve("mnist/t10k-labels-idx1-ubyte.gz");
        Files.delete(labels);
        DatasetException e = assertThrows(DatasetException.class, () -> DatasetFiles.verifyAll(root));
        assertEquals("missing dataset file " + labels + ": restore it with 'git checkout -- "
                + "datasets/mnist/t10k-labels-idx1-ubyte.gz' or regenerate it with 'datasets/mnist/make.sh'",
                e.getMessage());
    }
}
