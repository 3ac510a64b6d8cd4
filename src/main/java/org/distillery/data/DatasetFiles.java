package org.distillery.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.distillery.util.IoErrors;

/**
 * Checks shipped dataset files against the {@code SHA256SUMS} file of their dataset folder
 * ({@code <datasets>/<name>/SHA256SUMS}, {@code sha256sum} format) before a loader reads them.
 *
 * <p>A file is hashed once per JVM: the result is cached under its absolute path, size and
 * modification time, so a file replaced on disk is checked again. Errors are
 * {@link DatasetException}s with one-line messages:
 * <ul>
 *   <li>missing file: {@code missing dataset file <path>: restore it with 'git checkout --
 *       datasets/<name>/<file>' or regenerate it with 'datasets/<name>/make.sh'}</li>
 *   <li>wrong content: {@code checksum mismatch for <path>: expected sha256 <hex>, actual <hex>;
 *       restore it with ... or regenerate it with ...}</li>
 * </ul>
 */
public final class DatasetFiles {
    /** Name of the checksum file in each dataset folder. */
    public static final String SUMS = "SHA256SUMS";

    /** Files verified in this JVM: path + size + mtime + expected hash. */
    private static final Set<String> VERIFIED = ConcurrentHashMap.newKeySet();
    /** Number of files hashed so far (lets tests check the cache). */
    private static final AtomicInteger HASHED = new AtomicInteger();

    /** Every file {@link #verified} handed to a loader in this JVM, in order (see {@link #reads()}). */
    private static final List<Read> READS = Collections.synchronizedList(new ArrayList<>());

    private DatasetFiles() {}

    /** A shipped dataset file a loader read: its absolute path and sha256. */
    public record Read(Path file, String sha256) {}

    /**
     * The dataset files {@link #verified} handed to loaders in this JVM so far, in order, repeats included: a run
     * record takes the entries after the count it saw at its start (the datasets that run read).
     */
    public static List<Read> reads() {
        synchronized (READS) {
            return List.copyOf(READS);
        }
    }

    /**
     * Returns {@code datasetDir/fileName} after checking it against {@code datasetDir/SHA256SUMS}.
     *
     * @param datasetDir a dataset folder, e.g. {@code <root>/datasets/mnist}
     * @param fileName   a file name listed in that folder's {@code SHA256SUMS}
     * @throws DatasetException if the file or {@code SHA256SUMS} is missing, the file is not
     *                          listed, or its sha256 differs
     */
    public static Path verified(Path datasetDir, String fileName) {
        Path file = datasetDir.resolve(fileName);
        String expected = expectedSums(datasetDir).get(fileName);
        if (expected == null) {
            throw new DatasetException(file + " is not listed in " + datasetDir.resolve(SUMS)
                    + "; " + restoreHint(datasetDir, fileName));
        }
        String key;
        try {
            key = file.toAbsolutePath().normalize() + "|" + Files.size(file) + "|"
                    + Files.getLastModifiedTime(file).toMillis() + "|" + expected;
        } catch (NoSuchFileException e) {
            throw missing(datasetDir, fileName);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        if (VERIFIED.contains(key)) {
            READS.add(new Read(file.toAbsolutePath().normalize(), expected));
            return file;
        }
        String actual = sha256(file);
        if (!actual.equals(expected)) {
            throw new DatasetException("checksum mismatch for " + file + ": expected sha256 " + expected
                    + ", actual " + actual + "; " + restoreHint(datasetDir, fileName));
        }
        VERIFIED.add(key);
        READS.add(new Read(file.toAbsolutePath().normalize(), expected));
        return file;
    }

    /**
     * Verifies every file of every dataset under {@code datasetsRoot} (each sub-folder that has a
     * {@code SHA256SUMS}) and returns the file name -> sha256 map, e.g. for provenance records.
     *
     * @throws DatasetException naming the first missing or changed file
     */
    public static Map<String, String> verifyAll(Path datasetsRoot) {
        Map<String, String> all = new LinkedHashMap<>();
        try (var dirs = Files.list(datasetsRoot)) {
            for (Path dir : dirs.filter(d -> Files.isRegularFile(d.resolve(SUMS))).sorted().toList()) {
                for (Map.Entry<String, String> e : expectedSums(dir).entrySet()) {
                    verified(dir, e.getKey());
                    all.put(dir.getFileName() + "/" + e.getKey(), e.getValue());
                }
            }
        } catch (IOException e) {
            throw new DatasetException("cannot list datasets in " + datasetsRoot + ": " + e.getMessage(), e);
        }
        return all;
    }

    /** The file name -> sha256 (lower-case hex) entries of {@code datasetDir/SHA256SUMS}, in file order. */
    public static Map<String, String> expectedSums(Path datasetDir) {
        Path sums = datasetDir.resolve(SUMS);
        String text;
        try {
            text = Files.readString(sums, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw missing(datasetDir, SUMS);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + sums + ": " + IoErrors.reason(e), e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            // sha256sum format: 64 hex digits, a space, ' ' (text) or '*' (binary), the file name
            if (line.length() < 67 || !line.substring(0, 64).matches("[0-9a-fA-F]{64}")
                    || line.charAt(64) != ' ' || (line.charAt(65) != ' ' && line.charAt(65) != '*')) {
                throw new DatasetException(sums + " line " + (i + 1) + " is not in sha256sum format: " + line);
            }
            String name = line.substring(66);
            if (name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\\') >= 0
                    || name.indexOf('\0') >= 0) {
                throw new DatasetException(sums + " line " + (i + 1) + ": \"" + name + "\" is not a file name of "
                        + datasetDir + " (a manifest lists the files beside it, without folders)");
            }
            out.put(name, line.substring(0, 64).toLowerCase());
        }
        return out;
    }

    /** The sha256 of a file's bytes, as 64 lower-case hex digits. */
    public static String sha256(Path file) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int r; (r = in.read(buf)) > 0; ) {
                md.update(buf, 0, r);
            }
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        HASHED.incrementAndGet();
        return HexFormat.of().formatHex(md.digest());
    }

    /** How many files this JVM has hashed (for tests of the per-file cache). */
    static int hashCount() {
        return HASHED.get();
    }

    private static DatasetException missing(Path datasetDir, String fileName) {
        return new DatasetException("missing dataset file " + datasetDir.resolve(fileName) + ": "
                + restoreHint(datasetDir, fileName));
    }

    private static String restoreHint(Path datasetDir, String fileName) {
        String name = datasetDir.toAbsolutePath().normalize().getFileName().toString();
        return "restore it with 'git checkout -- datasets/" + name + "/" + fileName
                + "' or regenerate it with 'datasets/" + name + "/make.sh'";
    }
}
