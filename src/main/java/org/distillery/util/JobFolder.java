package org.distillery.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The folder of a long, resumable job (a sweep, a compression pipeline): one process at a time works in it (an OS
 * lock on a file in it), and it belongs to the specification it was started with (a later run must bring the same).
 */
public final class JobFolder {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobFolder() {}

    /** An exclusive OS lock on a file, released (with its channel) by {@link #close}. */
    public static final class Lock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;

        private Lock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }

    /**
     * Takes the lock on {@code file} (created if missing) without waiting.
     *
     * @param busy the message when another process (or this one) holds it
     * @throws IllegalArgumentException {@code busy} when the lock is held
     * @throws UncheckedIOException     "cannot lock FILE: ..." when the file cannot be opened or locked
     */
    public static Lock lock(Path file, String busy) {
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) throw new IllegalArgumentException(busy);
            return new Lock(ch, l);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot lock " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * Ties the folder to {@code spec}: writes it as {@code file} (pretty JSON, atomically) the first time, and
     * afterwards accepts only an equal one.
     *
     * @param differs the message when {@code file} holds another specification
     * @throws IllegalArgumentException {@code differs}
     */
    public static void keepFirst(Path file, JsonNode spec, String differs) throws IOException {
        if (Files.exists(file)) {
            if (!spec.equals(JSON.readTree(file.toFile()))) throw new IllegalArgumentException(differs);
        } else {
            AtomicFiles.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(spec) + "\n");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // the error being reported matters more
        }
    }
}
