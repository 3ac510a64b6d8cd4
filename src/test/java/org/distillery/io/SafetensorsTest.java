package org.distillery.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.distillery.formats.FloatFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

class SafetensorsTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- round trips

    private static final float[] SPECIALS = {0f, -0f, 1f, -1f, 0.1f, 1e-8f, -3e-5f, 6.1e-5f, 65504f, 65519.99f,
        65520f, 1e10f, -1e38f, Float.MIN_VALUE, Float.MAX_VALUE, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, 1.00390625f /* BF16 tie */, 1.0009765625f /* F16... */, 2049f};

    @Test
    void roundTripKeepsF32ExactlyAndRoundsF16AndBf16ToNearestEven() {
        SplittableRandom rnd = new SplittableRandom(7);
        float[] values = new float[SPECIALS.length + 200];   // [20, 11]
        System.arraycopy(SPECIALS, 0, values, 0, SPECIALS.length);
        for (int i = SPECIALS.length; i < values.length; i++) {
            values[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-9, 6)));
        }
        int[] shape = {20, 11};
        Path f = dir.resolve("rt.safetensors");
        Safetensors.write(f, List.of(new NamedTensor("w32", Dtype.F32, shape, values),
                new NamedTensor("w16", Dtype.F16, shape, values), new NamedTensor("wbf", Dtype.BF16, shape, values),
                new NamedTensor("nan", Dtype.F16, new int[] {1}, new float[] {Float.NaN})), Map.of("k", "v"));
        Map<String, NamedTensor> back = Safetensors.readAll(f);
        assertEquals(List.of("nan", "w16", "w32", "wbf"), List.copyOf(back.keySet()));
        assertArrayEquals(values, back.get("w32").data());
        assertArrayEquals(shape, back.get("w32").shape());
        for (int i = 0; i < values.length; i++) {
            assertEquals(FloatFormat.FP16.round(values[i]), back.get("w16").data()[i], "F16 of " + values[i]);
            assertEquals(FloatFormat.BF16.round(values[i]), back.get("wbf").data()[i], "BF16 of " + values[i]);
        }
        assertEquals(Float.POSITIVE_INFINITY, back.get("w16").data()[10], "65520 overflows F16 to infinity");
        assertEquals(65504f, back.get("w16").data()[9]);
        assertEquals(1f, back.get("wbf").data()[17], "the BF16 tie 1 + 2^-8 goes to even (1)");
        assertTrue(Float.isNaN(back.get("nan").data()[0]));
        assertEquals(Dtype.F16, back.get("w16").dtype());
        assertEquals(Map.of("k", "v"), Safetensors.header(f).metadata());
    }

    @Test
    void halfAndBf16DecodingMatchAClosedFormForEveryCode() {
        for (int c = 0; c < 1 << 16; c++) {
            int sign = c >>> 15;
            int exp = (c >>> 10) & 0x1F;
            int mant = c & 0x3FF;
            double mag = exp == 0 ? mant * Math.pow(2, -24)
                    : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                    : (1024 + mant) * Math.pow(2, exp - 25);
            float expected = (float) (sign == 1 ? -mag : mag);
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(Dtype.halfToFloat(c)), "F16 " + c);
            assertEquals(Float.floatToRawIntBits(Dtype.bf16ToFloat(c)), c << 16, "BF16 " + c);
        }
    }

    @Test
    void emptyScalarAndNoTensorsRoundTrip() throws IOException {
        Path f = dir.resolve("e.safetensors");
        Safetensors.write(f, List.of(NamedTensor.f32("s", new int[0], new float[] {3f}),
                NamedTensor.f32("z", new int[] {0, 4}, new float[0])));
        Map<String, NamedTensor> back = Safetensors.readAll(f);
        assertArrayEquals(new float[] {3f}, back.get("s").data());
        assertArrayEquals(new int[] {0, 4}, back.get("z").shape());
        Path g = dir.resolve("none.safetensors");
        Safetensors.write(g, List.of());
        assertEquals("{}      ", new String(Files.readAllBytes(g), 8, 8, StandardCharsets.UTF_8));
        assertEquals(List.of(), Safetensors.header(g).tensors());
    }

    @Test
    void writerRejectsDuplicateNamesAndUnwritableTypes() {
        NamedTensor a = NamedTensor.f32("a", new int[] {1}, new float[] {1});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(dir.resolve("x"), List.of(a, a)));
        assertEquals("tensors: duplicate name a", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(dir.resolve("x"), List.of(a.withDtype(Dtype.I64))));
        assertEquals("tensor a: dtype I64 cannot be written (accepted: F32, F16, BF16, I8, U8)", e.getMessage());
    }

    @Test
    void int8AndUint8AreWrittenExactlyAndOutOfRangeValuesRejectedBeforeWriting() throws IOException {
        Path f = dir.resolve("ints.safetensors");
        NamedTensor i8 = new NamedTensor("q", Dtype.I8, new int[] {2, 3}, new float[] {-128, -1, 0, 1, 7, 127});
        NamedTensor u8 = new NamedTensor("u", Dtype.U8, new int[] {4}, new float[] {0, 15, 128, 255});
        Safetensors.write(f, List.of(i8, u8));
        Map<String, NamedTensor> back = Safetensors.readAll(f);
        assertEquals(i8, back.get("q"));
        assertEquals(u8, back.get("u"));
        byte[] bytes = Files.readAllBytes(f);
        assertEquals((byte) 0x80, bytes[bytes.length - 10]);   // q[0] = -128 stored as two's complement 0x80
        assertEquals((byte) 0xFF, bytes[bytes.length - 1]);    // u[3] = 255
        Path g = dir.resolve("bad.safetensors");
        for (NamedTensor bad : List.of(u8.withDtype(Dtype.I8), i8.withDtype(Dtype.U8),
                new NamedTensor("h", Dtype.I8, new int[] {1}, new float[] {0.5f}),
                new NamedTensor("h", Dtype.U8, new int[] {1}, new float[] {Float.NaN}))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Safetensors.write(g, List.of(bad)));
            assertTrue(e.getMessage().startsWith("tensor " + bad.name() + ": element "), e.getMessage());
            assertTrue(e.getMessage().contains("cannot be stored as " + bad.dtype()), e.getMessage());
        }
        assertEquals(List.of("ints.safetensors"), Files.list(dir).map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void indArrayConversionIsCOrderFloat32() {
        NamedTensor t = NamedTensor.f32("m", new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
        INDArray a = t.toINDArray();                                  // [2, 3]
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertEquals(6f, a.getFloat(1, 2));
        assertEquals(t, NamedTensor.of("m", Dtype.F32, a.transpose().transpose()));
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, NamedTensor.of("mt", Dtype.F32, a.transpose()).data());
    }

    // ---------------------------------------------------------------- byte-exact fixtures

    @Test
    void readsAFileWrittenByHand() throws IOException {
        String json = "{\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"__metadata__\":{\"who\":\"hand\"},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[10,12]}}";
        byte[] data = {
            0x00, 0x00, (byte) 0x80, 0x3F,        // a[0] = 1.0f   (0x3F800000)
            0x00, 0x00, 0x00, (byte) 0xC0,        // a[1] = -2.0f  (0xC0000000)
            0x00, 0x3C,                           // b[0] = 1.0    (F16 0x3C00)
            0x49, 0x40};                          // c[0] = 3.140625 (BF16 0x4049)
        Path f = file(json, data);
        try (Safetensors.Reader r = Safetensors.open(f)) {
            assertEquals(List.of("a", "b", "c"), r.names());
            assertEquals(new TensorInfo("c", Dtype.BF16, new long[] {1, 1}, 10, 12), r.info("c"));
            assertEquals(Map.of("who", "hand"), r.header().metadata());
            assertArrayEquals(new float[] {1f, -2f}, r.read("a").data());
            assertArrayEquals(new float[] {1f}, r.read("b").data());
            assertArrayEquals(new float[] {3.140625f}, r.read("c").data());
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> r.read("d"));
            assertEquals(f + ": missing tensor d", e.getMessage());
        }
    }

    @Test
    void readsTheFilesMadeByThePythonFormatRules() throws Exception {
        Path floats = fixture("python_floats.safetensors");
        Map<String, NamedTensor> t = Safetensors.readAll(floats);
        assertEquals(List.of("brain", "empty", "half", "scalar", "weight"), List.copyOf(t.keySet()));
        assertArrayEquals(ramp(6, FloatFormat.FP32), t.get("weight").data());
        assertArrayEquals(new int[] {2, 3}, t.get("weight").shape());
        assertArrayEquals(ramp(4, FloatFormat.FP16), t.get("half").data());
        assertArrayEquals(ramp(3, FloatFormat.BF16), t.get("brain").data());
        assertArrayEquals(new int[] {3, 1}, t.get("brain").shape());
        assertArrayEquals(new float[] {2.5f}, t.get("scalar").data());
        assertArrayEquals(new int[0], t.get("scalar").shape());
        assertArrayEquals(new int[] {0, 3}, t.get("empty").shape());
        assertEquals(Map.of("format", "pt", "source", "make_safetensors_fixture.py"),
                Safetensors.header(floats).metadata());

        Map<String, NamedTensor> m = Safetensors.readAll(fixture("python_mixed.safetensors"));
        assertArrayEquals(ramp(3, FloatFormat.FP32), m.get("double").data());
        assertArrayEquals(new float[] {-3, 0, 1L << 40}, m.get("long").data());
        assertArrayEquals(new float[] {7, -8}, m.get("int").data());
        assertArrayEquals(new int[] {1, 2}, m.get("int").shape());
        assertArrayEquals(new float[] {-32768, 32767}, m.get("short").data());
        assertArrayEquals(new float[] {0, 255}, m.get("byte").data());
        assertArrayEquals(new float[] {1, 0, 1}, m.get("mask").data());
        assertEquals(Dtype.I64, m.get("long").dtype());
    }

    @Test
    void writerOutputIsByteIdenticalToThePythonRules() throws Exception {
        Path floats = fixture("python_floats.safetensors");
        SafetensorsHeader h = Safetensors.header(floats);
        Path mine = dir.resolve("mine.safetensors");
        Safetensors.write(mine, Safetensors.readAll(floats).values(), h.metadata());
        assertArrayEquals(Files.readAllBytes(floats), Files.readAllBytes(mine));
    }

    /** value k = (k - 5) * 0.3 computed in double, rounded to float32, then to {@code format}. */
    private static float[] ramp(int n, FloatFormat format) {
        float[] v = new float[n];
        for (int k = 0; k < n; k++) {
            v[k] = format.round((float) ((k - 5) * 0.3));
        }
        return v;
    }

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(SafetensorsTest.class.getResource("/fixtures/" + name).toURI());
    }

    // ---------------------------------------------------------------- bad input

    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @Test
    void rejectsBadLengthFields() throws IOException {
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[5]);
        assertError(shortFile, "file is 5 bytes, too short for the 8-byte header length");
        assertError(withLength(1000, "{}"), "header length 1000 exceeds the 2 bytes that follow the length field");
        assertError(withLength(200_000_000, "{}"), "header length 200000000 exceeds the limit of 100000000 bytes");
        assertError(withLength(-1, "{}"),
                "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
        assertError(withLength(0, "{}"), "header length 0 is too short for a JSON object (accepted: >= 2)");
    }

    @Test
    void rejectsHeadersThatAreNotAJsonObject() throws IOException {
        assertError(file("[1,2]", new byte[0]), "header is not a JSON object (found array)");
        assertError(file("  ", new byte[0]), "header is empty (expected a JSON object)");
        assertErrorStartsWith(file("{\"a\":", new byte[0]), "header is not valid JSON: ");
        assertErrorStartsWith(file("{} {}", new byte[0]), "header is not valid JSON: ");
        Path f = dir.resolve("utf.safetensors");
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4);
        b.put(new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'});
        Files.write(f, b.array());
        assertError(f, "header is not valid UTF-8");
    }

    @Test
    void rejectsBadMetadata() throws IOException {
        assertError(file("{\"__metadata__\":[1]," + A + "}", new byte[8]),
                "__metadata__ must be an object of strings (found array)");
        assertError(file("{\"__metadata__\":{\"x\":1}," + A + "}", new byte[8]),
                "__metadata__ value of key \"x\" must be a string (found number)");
    }

    @Test
    void rejectsMissingOrWronglyTypedFields() throws IOException {
        assertError(json("\"a\":3"), "tensor \"a\" must be an object with dtype, shape and data_offsets (found number)");
        assertError(json("\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}"), "tensor \"a\": missing field \"dtype\"");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), "tensor \"a\": missing field \"shape\"");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2]}"), "tensor \"a\": missing field \"data_offsets\"");
        assertError(json("\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}"),
                "tensor \"a\": field \"dtype\" must be a string (found number)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}"),
                "tensor \"a\": field \"shape\" must be an array of integers (found number)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape[0] must be an integer (found number)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape[0] must be an integer (found string)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape[0] = 99999999999999999999 is out of range (accepted: a 64-bit integer)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}"),
                "tensor \"a\": field \"data_offsets\" must be an array [begin, end] of 2 integers (found an array of 1)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{}}"),
                "tensor \"a\": field \"data_offsets\" must be an array [begin, end] of 2 integers (found object)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}"),
                "tensor \"a\": unknown field \"extra\" (accepted: dtype, shape, data_offsets)");
    }

    @Test
    void rejectsUnknownDtypesNegativeDimsAndSizeMismatches() throws IOException {
        assertError(json("\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,8]}"),
                "tensor \"a\": unknown dtype \"F4\" (accepted: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, "
                        + "I32, U32, F32, I64, U64, F64)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape[1] = -1 is negative (accepted: >= 0)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}"),
                "tensor \"a\": shape [4294967296, 4294967296] has more elements than a file can hold");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}"),
                "tensor \"a\": data_offsets [8, 0] is invalid (accepted: 0 <= begin <= end)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}"),
                "tensor \"a\": data_offsets [-8, 0] is invalid (accepted: 0 <= begin <= end)");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}"),
                "tensor \"a\": data_offsets [0, 16] reach beyond the data buffer of 8 bytes");
    }

    @Test
    void rejectsOverlapsGapsTrailingBytesAndDuplicates() throws IOException {
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}";
        assertError(file("{" + A + "," + b + "}", new byte[12]), "tensors \"a\" [0, 8) and \"b\" [4, 12) overlap");
        String c = "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}";
        assertError(file("{" + A + "," + c + "}", new byte[16]),
                "gap of 4 bytes in the data buffer before tensor \"c\" [12, 16) (bytes [8, 12) belong to no tensor)");
        assertError(file("{" + c + "}", new byte[16]),
                "gap of 12 bytes in the data buffer before tensor \"c\" [12, 16) (bytes [0, 12) belong to no tensor)");
        assertError(file("{" + A + "}", new byte[12]),
                "4 bytes at the end of the data buffer [8, 12) belong to no tensor");
        assertError(file("{}", new byte[3]), "3 bytes at the end of the data buffer [0, 3) belong to no tensor");
        assertError(file("{" + A + "," + A + "}", new byte[8]), "duplicate tensor name \"a\" in the header");
        assertError(json("\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"),
                "duplicate field \"dtype\" in \"a\"");
    }

    @Test
    void rejectsEmptyNamesAndDeepNestingWithoutStackOverflow() throws IOException {
        assertError(file("{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]),
                "a tensor has an empty name");
        assertErrorStartsWith(file("{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", new byte[0]),
                "header is not valid JSON: Document nesting depth (1001) exceeds the maximum allowed");
    }

    @Test
    void namesAreUtf8AndMetadataRoundTrips() {
        Path f = dir.resolve("u.safetensors");
        NamedTensor t = NamedTensor.f32("größe.\u6743\u91cd \"quoted\"", new int[] {1}, new float[] {4f});
        Safetensors.write(f, List.of(t), Map.of("b", "2", "a", "\u00e9"));
        assertEquals(Map.of(t.name(), t), Safetensors.readAll(f));
        SafetensorsHeader h = Safetensors.header(f);
        assertEquals(List.of("a", "b"), List.copyOf(h.metadata().keySet()));
        assertEquals(0, h.headerLength() % 8);
    }

    @Test
    void reportsATruncatedDataBufferOnlyAsAFormatError() throws IOException {
        // The header is checked against the real file size, so a truncated file is a coverage error.
        assertError(file("{" + A + "}", new byte[6]),
                "tensor \"a\": data_offsets [0, 8] reach beyond the data buffer of 6 bytes");
    }

    // ---------------------------------------------------------------- fuzzing

    @Test
    void randomHeaderMutationsOnlyEverThrowCheckpointFormatException() throws IOException {
        Path valid = dir.resolve("valid.safetensors");
        Safetensors.write(valid, List.of(NamedTensor.f32("w", new int[] {2, 3}, new float[6]),
                new NamedTensor("h", Dtype.F16, new int[] {3}, new float[3]),
                new NamedTensor("b", Dtype.BF16, new int[] {1, 1}, new float[1])), Map.of("m", "v"));
        byte[] good = Files.readAllBytes(valid);
        int headerEnd = 8 + (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] alphabet = "{}[]\",:-0123456789.eE \\ufF3216BDItypeshadt_".getBytes(StandardCharsets.US_ASCII);
        SplittableRandom rnd = new SplittableRandom(20261122L);
        Path f = dir.resolve("fuzz.safetensors");
        int accepted = 0;
        for (int iter = 0; iter < 4000; iter++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] m = good.clone();
            int mutations = 1 + rnd.nextInt(4);
            for (int k = 0; k < mutations; k++) {
                int pos = rnd.nextInt(headerEnd);
                switch (rnd.nextInt(4)) {
                    case 0 -> m[pos] = (byte) rnd.nextInt(256);
                    case 1 -> m[Math.max(8, pos)] = alphabet[rnd.nextInt(alphabet.length)];
                    case 2 -> m[rnd.nextInt(8)] = (byte) rnd.nextInt(256);   // the length field
                    default -> m[Math.max(8, pos)] = m[8 + rnd.nextInt(headerEnd - 8)];
                }
            }
            out.write(m, 0, m.length);
            Files.write(f, out.toByteArray());
            try {
                Safetensors.readAll(f);
                accepted++;
            } catch (CheckpointFormatException expected) {
                assertTrue(expected.getMessage().startsWith(f + ": "), expected.getMessage());
            } catch (Throwable t) {
                fail("iteration " + iter + ": " + t + " for header "
                        + new String(m, 8, Math.min(m.length - 8, headerEnd - 8), StandardCharsets.ISO_8859_1), t);
            }
        }
        // with seed 20261122 about 1% of the mutants stay valid (e.g. a changed metadata value)
        assertTrue(accepted > 0 && accepted < 4000, "mutants accepted: " + accepted);
    }

    // ---------------------------------------------------------------- helpers

    private Path json(String entries) throws IOException {
        return file("{" + entries + "}", new byte[8]);
    }

    private Path file(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return write(h.length, h, data);
    }

    private Path withLength(long length, String header) throws IOException {
        return write(length, header.getBytes(StandardCharsets.UTF_8), new byte[0]);
    }

    private int files;

    private Path write(long length, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length).put(header).put(data);
        Path f = dir.resolve("bad" + files++ + ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static void assertError(Path f, String message) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.readAll(f));
        assertEquals(f + ": " + message, e.getMessage());
    }

    private static void assertErrorStartsWith(Path f, String prefix) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.readAll(f));
        assertTrue(e.getMessage().startsWith(f + ": " + prefix), e.getMessage());
    }
}
