package org.distillery.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format.
 *
 * <p>Layout: 8 bytes little-endian unsigned header length {@code N}; {@code N} bytes of UTF-8 JSON, an object
 * mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} plus an optional
 * {@code "__metadata__"} object of strings; then the data buffer, each tensor little-endian in c-order at its
 * offsets (relative to the first byte after the header). The header is validated strictly before any data
 * is read (see {@link SafetensorsHeader#parse}); every format error is a {@link CheckpointFormatException}
 * whose message starts with the file. I/O errors are {@link UncheckedIOException}s.
 *
 * <p>Reading: {@link #open} reads only the header; {@link Reader#read} then reads one tensor's bytes by
 * positional reads (nothing else is loaded), converting any {@link Dtype} to float32.
 *
 * <p>Writing ({@link #write}) is deterministic: the data is ordered by element size (largest first, so every
 * tensor is aligned to its element size) and then by name, the header lists {@code __metadata__} first and
 * then the tensors in data order, and it is padded with spaces to a multiple of 8 bytes, as the reference
 * Python library does. F32, F16 and BF16 can be written (F16/BF16 rounded to nearest even), and I8 and U8
 * when every value is an integer in range (a value that is not is an error naming the tensor and element).
 * The file is written atomically ({@link AtomicFiles}).
 */
public final class Safetensors {
    private Safetensors() {}

    private static final int CHUNK_BYTES = 1 << 20; // positional read/encode chunk, a multiple of 8
    private static final ObjectMapper JSON = new ObjectMapper();

    // ---------------------------------------------------------------- reading

    /** An open safetensors file: the parsed header and positional reads of single tensors. */
    public static final class Reader implements Closeable {
        private final Path path;
        private final FileChannel channel;
        private final SafetensorsHeader header;
        private final Map<String, TensorInfo> byName;

        private Reader(Path path, FileChannel channel, SafetensorsHeader header) {
            this.path = path;
            this.channel = channel;
            this.header = header;
            this.byName = header.byName();
        }

        /** The file. */
        public Path path() {
            return path;
        }

        /** The validated header (names, dtypes, shapes, offsets, metadata). */
        public SafetensorsHeader header() {
            return header;
        }

        /** The tensor names, sorted. */
        public List<String> names() {
            return List.copyOf(byName.keySet());
        }

        /** The header entry of {@code name}; throws CheckpointFormatException if the file has no such tensor. */
        public TensorInfo info(String name) {
            TensorInfo t = byName.get(name);
            if (t == null) {
                throw new CheckpointFormatException(path + ": missing tensor " + name);
            }
            return t;
        }

        /** Reads tensor {@code name}, converted to float32 (see {@link Dtype}). */
        public NamedTensor read(String name) {
            TensorInfo t = info(name);
            int[] shape;
            try {
                shape = t.intShape();
                if (t.numel() > Integer.MAX_VALUE - 8) {
                    throw new ArithmeticException();
                }
            } catch (ArithmeticException e) {
                throw new CheckpointFormatException(path + ": tensor \"" + name + "\" " + Arrays.toString(t.shape())
                        + " has more elements than a Java array can hold", e);
            }
            float[] data = new float[(int) t.numel()];
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(8, t.byteSize())))
                    .order(ByteOrder.LITTLE_ENDIAN);
            long pos = header.dataStart() + t.begin();
            int done = 0;
            int perChunk = buf.capacity() / t.dtype().bytes();
            try {
                while (done < data.length) {
                    int n = Math.min(perChunk, data.length - done);
                    buf.clear().limit(n * t.dtype().bytes());
                    readFully(buf, pos);
                    pos += buf.limit();
                    buf.flip();
                    t.dtype().decode(buf, data, done, n);
                    done += n;
                }
            } catch (EOFException e) {
                throw new CheckpointFormatException(path + ": file ends inside tensor \"" + name + "\"", e);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path + ": " + IoErrors.reason(e), e);
            }
            return new NamedTensor(name, t.dtype(), shape, data);
        }

        /** Reads every tensor, by sorted name. */
        public Map<String, NamedTensor> readAll() {
            Map<String, NamedTensor> out = new LinkedHashMap<>();
            for (String name : byName.keySet()) {
                out.put(name, read(name));
            }
            return out;
        }

        private void readFully(ByteBuffer buf, long pos) throws IOException {
            while (buf.hasRemaining()) {
                int r = channel.read(buf, pos);
                if (r < 0) {
                    throw new EOFException();
                }
                pos += r;
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot close " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * Opens {@code path} and reads and validates its header; the data is read on demand. Close the reader.
     *
     * @throws CheckpointFormatException if the header is malformed (the message names the file and field)
     * @throws UncheckedIOException      if the file cannot be read
     */
    public static Reader open(Path path) {
        Objects.requireNonNull(path, "path");
        FileChannel ch = null;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
            SafetensorsHeader header = readHeader(path.toString(), ch);
            return new Reader(path, ch, header);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot read " + path + ": " + IoErrors.reason(e), e);
        } catch (RuntimeException | Error e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * Checks that a file's metadata says it is of one of the project's own layouts: {@code metadata[key]} must be
     * {@code version}.
     *
     * @param what the layout, for the message (e.g. "a packed-weights file")
     * @throws CheckpointFormatException naming the file, the key, what it holds and what is accepted
     */
    public static void requireLayout(Path path, Map<String, String> metadata, String key, String version, String what) {
        String found = metadata.get(key);
        if (!version.equals(found)) {
            throw new CheckpointFormatException(path + ": metadata \"" + key + "\" is "
                    + (found == null ? "missing" : "\"" + found + "\"") + " (accepted: \"" + version
                    + "\"): not " + what + " of this layout");
        }
    }

    /** Reads and validates the header of {@code path} only (names, dtypes, shapes) without reading data. */
    public static SafetensorsHeader header(Path path) {
        try (Reader r = open(path)) {
            return r.header();
        }
    }

    /** Reads every tensor of {@code path}, by sorted name, converted to float32. */
    public static Map<String, NamedTensor> readAll(Path path) {
        try (Reader r = open(path)) {
            return r.readAll();
        }
    }

    private static SafetensorsHeader readHeader(String source, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new CheckpointFormatException(source + ": file is " + size
                    + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0, source);
        long n = len.flip().getLong();
        SafetensorsHeader.checkHeaderLength(source, n, size);   // before allocating n bytes
        ByteBuffer json = ByteBuffer.allocate((int) n);
        readFully(ch, json, 8, source);
        return SafetensorsHeader.parse(source, json.array(), size - 8 - n);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, String source) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new CheckpointFormatException(source + ": file ends inside the header");
            }
            pos += r;
        }
    }

    private static void closeQuietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException ignored) {
            // the original error is the one to report
        }
    }

    // ---------------------------------------------------------------- writing

    /** Writes {@code tensors} (each stored as its {@link NamedTensor#dtype()}) without metadata. */
    public static Path write(Path path, Collection<NamedTensor> tensors) {
        return write(path, tensors, Map.of());
    }

    /**
     * Writes {@code tensors} to {@code path} atomically, each stored as its {@link NamedTensor#dtype()}
     * (F32, F16 or BF16), with the given {@code __metadata__} (omitted when empty).
     *
     * @throws IllegalArgumentException if two tensors share a name, a dtype cannot be written, an I8/U8
     *                                  tensor holds a value that is not an integer in range, or the
     *                                  metadata uses the reserved key
     */
    public static Path write(Path path, Collection<NamedTensor> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        Set<String> seen = new HashSet<>();
        for (NamedTensor t : tensors) {
            if (!seen.add(t.name())) {
                throw new IllegalArgumentException("tensors: duplicate name " + t.name());
            }
            if (!t.dtype().writable()) {
                throw new IllegalArgumentException("tensor " + t.name() + ": dtype " + t.dtype()
                        + " cannot be written (accepted: " + Dtype.WRITABLE_NAMES + ")");
            }
            try {
                t.dtype().checkStorable(t.data());      // before the file is opened: nothing half-written
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tensor " + t.name() + ": " + e.getMessage(), e);
            }
            if (t.name().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name " + t.name() + " is reserved for metadata");
            }
        }
        List<NamedTensor> ordered = new ArrayList<>(tensors);
        ordered.sort(Comparator.comparingInt((NamedTensor t) -> -t.dtype().bytes()).thenComparing(NamedTensor::name));
        byte[] headerBytes = headerBytes(ordered, metadata);
        return AtomicFiles.write(path, raw -> {
            OutputStream out = new BufferedOutputStream(raw, 1 << 16);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(headerBytes.length);
            out.write(buf.array(), 0, 8);
            out.write(headerBytes);
            for (NamedTensor t : ordered) {
                int perChunk = CHUNK_BYTES / t.dtype().bytes();
                for (int done = 0; done < t.numel(); done += perChunk) {
                    int n = Math.min(perChunk, t.numel() - done);
                    buf.clear();
                    t.dtype().encode(t.data(), done, n, buf);
                    out.write(buf.array(), 0, buf.position());
                }
            }
            out.flush();
        });
    }

    /** The header JSON of {@code ordered} (already in data order), padded with spaces to a multiple of 8. */
    static byte[] headerBytes(List<NamedTensor> ordered, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsHeader.METADATA_KEY);
            new TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        for (NamedTensor t : ordered) {
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", t.dtype().name());
            ArrayNode shape = e.putArray("shape");
            for (int d : t.shape()) {
                shape.add(d);
            }
            long end = offset + (long) t.numel() * t.dtype().bytes();
            e.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }
}
