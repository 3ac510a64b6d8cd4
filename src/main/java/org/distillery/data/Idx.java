package org.distillery.data;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * Reads and writes IDX files, the format of the original MNIST distribution, plain or gzip'd.
 *
 * <p>Layout (big-endian): two zero bytes (the magic), a dtype code, the number of dimensions
 * {@code d} (1-255), {@code d} dimension sizes as 32-bit integers, then the values in row-major
 * order. Dtype codes: {@code 0x08} unsigned byte, {@code 0x09} signed byte, {@code 0x0B} short,
 * {@code 0x0C} int, {@code 0x0D} float, {@code 0x0E} double. All of them are read (the values are
 * kept as their raw big-endian bytes); {@link Tensor#unsignedBytes()} gives the common ubyte case.
 *
 * <p>{@link #read} recognises gzip by its magic bytes ({@code 1f 8b}), whatever the file name.
 * {@link #write} gzips when the name ends in {@code .gz} (header mtime 0, so output is
 * reproducible) and writes atomically. Every malformed input (bad magic, unknown dtype, zero
 * dimensions, truncated header, data shorter or longer than the dimensions say, corrupt gzip) is a
 * {@link DatasetException} naming the file and the problem.
 */
public final class Idx {
    private Idx() {}

    /** IDX value types with their dtype code and size in bytes. */
    public enum Type {
        UBYTE(0x08, 1), BYTE(0x09, 1), SHORT(0x0B, 2), INT(0x0C, 4), FLOAT(0x0D, 4), DOUBLE(0x0E, 8);

        /** The dtype code (third byte of the file). */
        public final int code;
        /** Bytes per value. */
        public final int size;

        Type(int code, int size) {
            this.code = code;
            this.size = size;
        }

        /** The type with dtype {@code code}, or null. */
        public static Type ofCode(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /**
     * An IDX array: its type, dimension sizes and raw values.
     *
     * @param type the value type
     * @param dims the dimension sizes, e.g. {@code [n, 28, 28]}
     * @param data the values as big-endian bytes, row-major; {@code product(dims) * type.size} long
     */
    public record Tensor(Type type, int[] dims, byte[] data) {
        /** Checks that {@code data} has exactly {@code product(dims) * type.size} bytes. */
        public Tensor {
            if (dims.length < 1 || dims.length > 255) {
                throw new IllegalArgumentException("IDX needs 1 to 255 dimensions, got " + dims.length);
            }
            long need = (long) valueCount(dims, "dims " + Arrays.toString(dims)) * type.size;
            if (data.length != need) {
                throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " of " + type
                        + " need " + need + " bytes, got " + data.length);
            }
            dims = dims.clone();
        }

        /** An unsigned-byte tensor over {@code data} (not copied) with the given dimensions. */
        public static Tensor ofUnsignedBytes(byte[] data, int... dims) {
            return new Tensor(Type.UBYTE, dims, data);
        }

        /** The dimension sizes (a copy). */
        @Override
        public int[] dims() {
            return dims.clone();
        }

        /** Number of values, the product of the dimensions. */
        public int count() {
            return data.length / type.size;
        }

        /** The values of an unsigned-byte tensor (read them with {@code b & 0xFF}); not a copy. */
        public byte[] unsignedBytes() {
            if (type != Type.UBYTE) {
                throw new DatasetException("IDX tensor holds " + type + ", not UBYTE");
            }
            return data;
        }
    }

    /** Reads an IDX file, gzip'd or not. */
    public static Tensor read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DatasetException("missing IDX file " + file);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        if (bytes.length >= 2 && (bytes[0] & 0xFF) == 0x1F && (bytes[1] & 0xFF) == 0x8B) {
            bytes = gunzip(file, bytes);
        }
        return parse(file.toString(), bytes);
    }

    /** Parses IDX bytes (not gzip'd); {@code name} is used in error messages. */
    public static Tensor parse(String name, byte[] b) {
        if (b.length < 4) {
            throw new DatasetException(name + ": not an IDX file: " + b.length + " bytes, shorter than the 4-byte magic");
        }
        if (b[0] != 0 || b[1] != 0) {
            throw new DatasetException(String.format("%s: bad IDX magic: first two bytes are 0x%02X 0x%02X, expected 0x00 0x00",
                    name, b[0] & 0xFF, b[1] & 0xFF));
        }
        Type type = Type.ofCode(b[2] & 0xFF);
        if (type == null) {
            throw new DatasetException(String.format("%s: unknown IDX dtype code 0x%02X (known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)",
                    name, b[2] & 0xFF));
        }
        int ndims = b[3] & 0xFF;
        if (ndims == 0) {
            throw new DatasetException(name + ": IDX dimension count is 0");
        }
        int header = 4 + 4 * ndims;
        if (b.length < header) {
            throw new DatasetException(name + ": truncated IDX header: " + ndims + " dimensions need "
                    + header + " header bytes, file has " + b.length);
        }
        int[] dims = new int[ndims];
        for (int i = 0; i < ndims; i++) {
            int p = 4 + 4 * i;
            dims[i] = ((b[p] & 0xFF) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
            if (dims[i] < 0) {
                throw new DatasetException(name + ": IDX dimension " + i + " is negative: " + dims[i]);
            }
        }
        long need = (long) valueCount(dims, name + ": IDX dims " + Arrays.toString(dims)) * type.size;
        long have = b.length - header;
        if (have != need) {
            throw new DatasetException(name + ": IDX size mismatch: dims " + Arrays.toString(dims) + " of " + type
                    + " need " + need + " data bytes after the " + header + "-byte header, file has " + have);
        }
        return new Tensor(type, dims, Arrays.copyOfRange(b, header, b.length));
    }

    /** The IDX bytes of {@code t} (not gzip'd). */
    public static byte[] toBytes(Tensor t) {
        int[] dims = t.dims();
        ByteArrayOutputStream buf = new ByteArrayOutputStream(4 + 4 * dims.length + t.data().length);
        try (DataOutputStream out = new DataOutputStream(buf)) {
            out.write(new byte[] {0, 0, (byte) t.type().code, (byte) dims.length});
            for (int d : dims) {
                out.writeInt(d); // big-endian
            }
            out.write(t.data());
        } catch (IOException e) {
            throw new IllegalStateException(e); // cannot happen in memory
        }
        return buf.toByteArray();
    }

    /** Writes {@code t} to {@code file} atomically, gzip'd iff the name ends in {@code .gz}. */
    public static Path write(Path file, Tensor t) {
        byte[] bytes = toBytes(t);
        boolean gz = file.getFileName().toString().endsWith(".gz");
        return AtomicFiles.write(file, out -> {
            if (gz) {
                try (OutputStream z = new GZIPOutputStream(nonClosing(out))) {
                    z.write(bytes);
                }
            } else {
                out.write(bytes);
            }
        });
    }

    private static byte[] gunzip(Path file, byte[] gz) {
        try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        } catch (ZipException | java.io.EOFException e) {
            String detail = e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
            throw new DatasetException(file + ": corrupt or truncated gzip data" + detail, e);
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
    }

    /** Product of dims, failing if it exceeds what a Java array can hold. */
    private static int valueCount(int[] dims, String what) {
        long n = 1;
        for (int d : dims) {
            n *= d;
            if (n > Integer.MAX_VALUE - 8) {
                throw new DatasetException(what + ": more values than a Java array holds");
            }
        }
        return (int) n;
    }

    private static OutputStream nonClosing(OutputStream out) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush();
            }
        };
    }
}
