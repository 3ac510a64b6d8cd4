package org.distillery.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Round trips and malformed-file errors of {@link Idx}, on small files written to a temp folder. */
class IdxTest {
    @TempDir
    Path dir;

    private static byte[] seq(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 37 + 200); // covers values above 127
        }
        return b;
    }

    @Test
    void roundTripsOneTwoAndThreeDimensionsPlainAndGzipped() {
        int[][] shapes = {{5}, {2, 3}, {4, 2, 3}};
        for (int[] dims : shapes) {
            int n = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
            Idx.Tensor t = Idx.Tensor.ofUnsignedBytes(seq(n), dims);
            for (String name : new String[] {"a" + dims.length + ".idx", "a" + dims.length + ".idx.gz"}) {
                Path f = Idx.write(dir.resolve(name), t);
                Idx.Tensor back = Idx.read(f);
                assertEquals(Idx.Type.UBYTE, back.type());
                assertArrayEquals(dims, back.dims());
                assertArrayEquals(seq(n), back.unsignedBytes());
            }
        }
    }

    @Test
    void writesTheStandardHeaderAndGzipsOnlyDotGz() throws IOException {
        Path plain = Idx.write(dir.resolve("x.idx"), Idx.Tensor.ofUnsignedBytes(new byte[] {7, (byte) 255}, 1, 2));
        assertArrayEquals(new byte[] {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7, (byte) 255}, Files.readAllBytes(plain));
        byte[] gz = Files.readAllBytes(Idx.write(dir.resolve("x.idx.gz"), Idx.Tensor.ofUnsignedBytes(new byte[] {7}, 1)));
        assertEquals(0x1F, gz[0] & 0xFF);
        assertEquals(0x8B, gz[1] & 0xFF);
    }

    @Test
    void readsGzipByContentNotByNameAndOtherDtypes() throws IOException {
        // an int32 tensor [2] = {1, -2}, gzip'd, under a name without .gz
        byte[] raw = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFE};
        Path f = dir.resolve("ints.idx");
        Files.write(f, gzip(raw));
        Idx.Tensor t = Idx.read(f);
        assertEquals(Idx.Type.INT, t.type());
        assertArrayEquals(new int[] {2}, t.dims());
        assertEquals(2, t.count());
        assertArrayEquals(Arrays.copyOfRange(raw, 8, 16), t.data());
        DatasetException e = assertThrows(DatasetException.class, t::unsignedBytes);
        assertEquals("IDX tensor holds INT, not UBYTE", e.getMessage());
    }

    private String error(byte[] content) throws IOException {
        Path f = dir.resolve("bad.idx");
        Files.write(f, content);
        return assertThrows(DatasetException.class, () -> Idx.read(f)).getMessage();
    }

    @Test
    void rejectsMalformedFilesWithClearMessages() throws IOException {
        String f = dir.resolve("bad.idx").toString();
        assertEquals(f + ": not an IDX file: 3 bytes, shorter than the 4-byte magic", error(new byte[] {0, 0, 8}));
        assertEquals(f + ": bad IDX magic: first two bytes are 0x12 0x34, expected 0x00 0x00",
                error(new byte[] {0x12, 0x34, 8, 1, 0, 0, 0, 0}));
        assertEquals(f + ": unknown IDX dtype code 0x07 (known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)",
                error(new byte[] {0, 0, 7, 1, 0, 0, 0, 0}));
        assertEquals(f + ": IDX dimension count is 0", error(new byte[] {0, 0, 8, 0}));
        assertEquals(f + ": truncated IDX header: 3 dimensions need 16 header bytes, file has 10",
                error(new byte[] {0, 0, 8, 3, 0, 0, 0, 1, 0, 0}));
        assertEquals(f + ": IDX dimension 0 is negative: -1",
                error(new byte[] {0, 0, 8, 1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF}));
        // [2, 3] ubyte needs 6 data bytes: 5 is too few, 7 too many
        assertEquals(f + ": IDX size mismatch: dims [2, 3] of UBYTE need 6 data bytes after the 12-byte header, file has 5",
                error(new byte[] {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5}));
        assertEquals(f + ": IDX size mismatch: dims [2, 3] of UBYTE need 6 data bytes after the 12-byte header, file has 7",
                error(new byte[] {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7}));
        // [2] shorts need 4 bytes
        assertEquals(f + ": IDX size mismatch: dims [2] of SHORT need 4 data bytes after the 8-byte header, file has 2",
                error(new byte[] {0, 0, 0x0B, 1, 0, 0, 0, 2, 1, 2}));
    }

    @Test
    void rejectsTruncatedGzip() throws IOException {
        byte[] gz = gzip(new byte[] {0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3});
        // cut inside the 8-byte trailer (CRC-32, size)
        assertEquals(dir.resolve("bad.idx") + ": corrupt or truncated gzip data", error(Arrays.copyOf(gz, gz.length - 6)));
        // flip a bit of the deflate data: the stream is invalid or fails its CRC
        byte[] flipped = gz.clone();
        flipped[12] ^= 0x10;
        String msg = error(flipped);
        assertTrue(msg.startsWith(dir.resolve("bad.idx") + ": corrupt or truncated gzip data"), msg);
    }

    @Test
    void missingFileIsADatasetException() {
        Path f = dir.resolve("nope.idx");
        assertEquals("missing IDX file " + f, assertThrows(DatasetException.class, () -> Idx.read(f)).getMessage());
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(buf)) {
            z.write(b);
        }
        return buf.toByteArray();
    }
}
