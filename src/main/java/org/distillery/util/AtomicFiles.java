package org.distillery.util;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes files so that a reader never sees a half-written one: the content goes to a temporary file
 * beside the target, which is then renamed over it (atomic on the same file system).
 */
public final class AtomicFiles {
    /** The names {@link Files#createTempFile} gives {@link #write}'s temporary files. */
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.\\d+\\.tmp");

    private AtomicFiles() {}

    /** Something that writes a file's content to a stream. */
    @FunctionalInterface
    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Writes {@code target} through {@code writer} via a temporary file and an atomic rename. */
    public static Path write(Path target, Writer writer) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writer.write(out);
            }
            moveReplacing(tmp, target);
            return target;
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + target + ": " + IoErrors.reason(e), e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Writes a UTF-8 text file atomically. */
    public static Path writeString(Path target, String text) {
        return write(target, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes a Tablesaw table as a UTF-8 CSV file (Tablesaw's writer: header row, then one line per row) atomically. */
    public static Path writeCsv(Path target, tech.tablesaw.api.Table table) {
        return write(target, out -> {
            java.io.Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8);
            table.write().csv(w);
            w.flush();
        });
    }

    /** Renames {@code from} to {@code to}, replacing it, atomically where the file system allows. */
    public static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Deletes the temporary files that writes into {@code dir} interrupted by a kill left behind (named
     * {@code .<target name>.<digits>.tmp}, as {@link #write} makes them); other files are left alone.
     * Nothing happens when {@code dir} does not exist.
     *
     * @return the number of files deleted
     */
    public static int deleteTemporaries(Path dir) {
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (TEMPORARY.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(p);
                    n++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the temporary files in " + dir + ": " + e.getMessage(), e);
        }
        return n;
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the original error is the one to report
        }
    }
}
