package org.distillery.util;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/** Whole folders: deleting, copying and creating them (reports, checkpoints, temporary folders, outputs). */
public final class FileTrees {
    private FileTrees() {}

    /** Writes the files of a new folder. */
    @FunctionalInterface
    public interface FolderWriter {
        void write(Path folder) throws IOException;
    }

    /**
     * Checks that {@code dir} does not exist (not even as a dangling link) and that its parent folder does.
     *
     * @return the parent folder (absolute)
     */
    public static Path requireNew(Path dir) {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(dir + " already exists: choose a new folder (outputs are never overwritten)");
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new IllegalArgumentException(dir + ": the folder " + parent + " does not exist");
        }
        return parent;
    }

    /**
     * Creates the new folder {@code dir} whole or not at all: {@code writer} fills a temporary folder beside it
     * ({@code .<name>.partial-<random>}, rwxr-xr-x where POSIX), which is renamed to {@code dir} when the writer
     * returns. When the writer (or the rename) fails, the temporary folder is deleted and the error rethrown.
     *
     * @throws IllegalArgumentException when {@code dir} exists or its parent does not ({@link #requireNew})
     */
    public static void createAtomically(Path dir, FolderWriter writer) {
        Path tmp = temporaryBeside(requireNew(dir), dir);
        try {
            writer.write(tmp);
            Files.move(tmp, dir);
        } catch (IOException e) {
            delete(tmp);
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            delete(tmp);
            throw e;
        }
    }

    /**
     * A new empty folder {@code parent/.<name of dir>.partial-<random>} (rwxr-xr-x where POSIX) to write {@code dir}
     * into before renaming it.
     */
    public static Path temporaryBeside(Path parent, Path dir) {
        Path tmp;
        try {
            tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".partial-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder in " + parent + ": " + e.getMessage(), e);
        }
        try {                                        // createTempDirectory makes it owner-only (rwx------)
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: keep the default
        } catch (IOException e) {
            delete(tmp);
            throw new UncheckedIOException("cannot set the permissions of " + tmp + ": " + e.getMessage(), e);
        }
        return tmp;
    }

    /** Deletes {@code dir} and everything below it; nothing happens when it does not exist. */
    public static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** Copies the folder {@code from} to {@code to} (created), replacing files that exist there. */
    public static void copy(Path from, Path to) {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + from + " to " + to, e);
        }
    }
}
