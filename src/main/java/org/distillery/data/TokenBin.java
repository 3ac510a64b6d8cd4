package org.distillery.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;
import org.distillery.util.IoErrors;

/**
 * nanoGPT's token files ({@code train.bin}, {@code val.bin}): the token ids of a text as little-endian uint16, nothing
 * else (no header), so a file of {@code n} ids is {@code 2 n} bytes.
 *
 * <p>Reading checks every id against the vocabulary. A malformed file (an odd number of bytes, an id outside the
 * vocabulary, more ids than a Java array holds) is an {@link IllegalArgumentException} whose message starts with the
 * file; a file that cannot be read is an {@link UncheckedIOException}. The ids are read in chunks straight into the
 * result, so reading needs the result's memory only (no copy of the file's bytes).
 */
public final class TokenBin {
    private TokenBin() {}

    /** The most ids a file may hold: the largest Java array. */
    public static final int MAX_IDS = Integer.MAX_VALUE - 8;

    private static final int CHUNK_BYTES = 1 << 16;

    /**
     * Reads the ids of {@code file}, each checked to be below {@code vocab}.
     *
     * @param vocab the model's vocabulary size, &gt;= 1 (every uint16 id fits one of 65,536 or more)
     * @throws IllegalArgumentException naming the file and what is wrong, or naming {@code vocab} when it is out of range
     * @throws UncheckedIOException     if the file cannot be read (missing, a directory, no permission)
     */
    public static int[] read(Path file, int vocab) {
        Objects.requireNonNull(file, "file");
        if (vocab < 1) throw new IllegalArgumentException("vocab: " + vocab + " is not accepted: use 1 or more tokens");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % 2 != 0) {
                throw new IllegalArgumentException(file + ": " + size + " bytes is not a whole number of uint16 ids");
            }
            if (size / 2 > MAX_IDS) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "%s: %,d ids is more than the %,d a Java array holds",
                        file, size / 2, MAX_IDS));
            }
            int[] ids = new int[(int) (size / 2)];                  // [n]
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            long pos = 0;
            for (int i = 0; i < ids.length; ) {
                buf.clear().limit((int) Math.min(CHUNK_BYTES, size - pos));
                while (buf.hasRemaining()) {
                    int r = ch.read(buf, pos + buf.position());
                    if (r < 0) throw new EOFException(file + " ended at byte " + (pos + buf.position()) + " of " + size);
                }
                pos += buf.limit();
                buf.flip();
                while (buf.hasRemaining()) {
                    int id = Short.toUnsignedInt(buf.getShort());
                    if (id >= vocab) {
                        throw new IllegalArgumentException(file + ": token id " + id + " at position " + i
                                + " is outside the model's vocabulary of " + vocab);
                    }
                    ids[i++] = id;
                }
            }
            return ids;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }
}
