package org.distillery.io;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The parsed, validated header of a safetensors file: every tensor's {@link TensorInfo} and the optional
 * {@code __metadata__} string map.
 *
 * <p>{@link #parse} is strict. Beyond well-formed UTF-8 JSON it requires: a top-level object without
 * duplicate keys; {@code __metadata__}, if present, an object of string values; every other key a tensor
 * entry with exactly the fields {@code dtype} (a known {@link Dtype} name), {@code shape} (an array of
 * non-negative integers) and {@code data_offsets} ({@code [begin, end]}, integers, begin &lt;= end); the
 * byte count {@code end - begin} equal to the element count times the dtype size; every range inside the
 * data buffer; and the ranges, sorted, covering the buffer exactly: no overlap, no gap, no trailing bytes.
 *
 * @param tensors      the entries, by increasing {@code begin} (the order of the data in the file)
 * @param metadata     the {@code __metadata__} map, empty when absent
 * @param headerLength the JSON header's length in bytes (the number stored in the first 8 bytes)
 * @param dataLength   the data buffer's length in bytes
 */
public record SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata, long headerLength,
                                long dataLength) {

    /** The largest header accepted, in bytes (as in the reference implementation). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** The key of the optional metadata object. */
    public static final String METADATA_KEY = "__metadata__";

    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");

    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Copies the lists; checks that no two tensors share a name. */
    public SafetensorsHeader {
        tensors = List.copyOf(tensors);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        if (headerLength < 0 || dataLength < 0) {
            throw new IllegalArgumentException("headerLength = " + headerLength + ", dataLength = " + dataLength
                    + " (accepted: >= 0)");
        }
    }

    /** The tensor names, sorted. */
    public List<String> names() {
        return tensors.stream().map(TensorInfo::name).sorted().toList();
    }

    /** The entry named {@code name}, if present. */
    public Optional<TensorInfo> find(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** The entries by name, sorted by name. */
    public Map<String, TensorInfo> byName() {
        Map<String, TensorInfo> m = new TreeMap<>();
        tensors.forEach(t -> m.put(t.name(), t));
        return m;
    }

    /** The offset in the file of the first data byte: {@code 8 + headerLength}. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /**
     * Checks the header length read from the first 8 bytes of a file of {@code fileSize} bytes, before any
     * header bytes are allocated.
     *
     * @param source       the file, for messages
     * @param headerLength the length field as a signed long (an unsigned value above 2^63 reads negative)
     * @param fileSize     the file's size in bytes
     */
    public static void checkHeaderLength(String source, long headerLength, long fileSize) {
        String n = Long.toUnsignedString(headerLength);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new CheckpointFormatException(source + ": header length " + n + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        if (headerLength > fileSize - 8) {
            throw new CheckpointFormatException(source + ": header length " + n + " exceeds the "
                    + (fileSize - 8) + " bytes that follow the length field");
        }
        if (headerLength < 2) {
            throw new CheckpointFormatException(source + ": header length " + n
                    + " is too short for a JSON object (accepted: >= 2)");
        }
    }

    /**
     * Parses and validates a header (see the class description).
     *
     * @param source     the file, for messages
     * @param json       the header bytes (UTF-8 JSON, possibly padded with trailing spaces)
     * @param dataLength the size of the data buffer that follows the header, in bytes
     * @throws CheckpointFormatException naming the file and the tensor or field at fault
     */
    public static SafetensorsHeader parse(String source, byte[] json, long dataLength) {
        Objects.requireNonNull(source, "source");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointFormatException(source + ": header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw jsonError(source, e);
        }
        if (root == null || root.isMissingNode()) {
            throw new CheckpointFormatException(source + ": header is empty (expected a JSON object)");
        }
        if (!root.isObject()) {
            throw new CheckpointFormatException(source + ": header is not a JSON object (found "
                    + kind(root) + ")");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> tensors = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(source, e.getValue(), metadata);
            } else {
                tensors.add(readTensor(source, e.getKey(), e.getValue(), dataLength));
            }
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end)
                .thenComparing(TensorInfo::name));
        checkCoverage(source, tensors, dataLength);
        return new SafetensorsHeader(tensors, metadata, json.length, dataLength);
    }

    private static CheckpointFormatException jsonError(String source, JsonProcessingException e) {
        String msg = e.getOriginalMessage();
        if (e instanceof JsonParseException pe && msg != null && msg.startsWith("Duplicate field")
                && pe.getProcessor() != null) {
            JsonStreamContext ctx = pe.getProcessor().getParsingContext();
            String field = ctx == null ? null : ctx.getCurrentName();
            JsonStreamContext parent = ctx == null ? null : ctx.getParent();
            if (parent != null && parent.inRoot()) {
                return new CheckpointFormatException(source + ": duplicate tensor name \"" + field
                        + "\" in the header", e);
            }
            String owner = parent == null ? null : parent.getCurrentName();
            return new CheckpointFormatException(source + ": duplicate field \"" + field + "\" in \"" + owner
                    + "\"", e);
        }
        String where = e.getLocation() == null ? "" : " (at character " + e.getLocation().getCharOffset() + ")";
        String firstLine = msg == null ? "" : msg.lines().findFirst().orElse("");
        return new CheckpointFormatException(source + ": header is not valid JSON: " + firstLine + where, e);
    }

    private static void readMetadata(String source, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new CheckpointFormatException(source + ": " + METADATA_KEY
                    + " must be an object of strings (found " + kind(node) + ")");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(source + ": " + METADATA_KEY + " value of key \"" + e.getKey()
                        + "\" must be a string (found " + kind(e.getValue()) + ")");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo readTensor(String source, String name, JsonNode node, long dataLength) {
        String at = source + ": tensor \"" + name + "\"";
        if (name.isEmpty()) {
            throw new CheckpointFormatException(source + ": a tensor has an empty name");
        }
        if (!node.isObject()) {
            throw new CheckpointFormatException(at + " must be an object with dtype, shape and data_offsets (found "
                    + kind(node) + ")");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!TENSOR_FIELDS.contains(f)) {
                throw new CheckpointFormatException(at + ": unknown field \"" + f
                        + "\" (accepted: dtype, shape, data_offsets)");
            }
        }
        JsonNode dtypeNode = required(at, node, "dtype");
        if (!dtypeNode.isTextual()) {
            throw new CheckpointFormatException(at + ": field \"dtype\" must be a string (found "
                    + kind(dtypeNode) + ")");
        }
        Dtype dtype = Dtype.byName(dtypeNode.textValue()).orElseThrow(() -> new CheckpointFormatException(
                at + ": unknown dtype \"" + dtypeNode.textValue() + "\" (accepted: " + Dtype.acceptedNames() + ")"));

        JsonNode shapeNode = required(at, node, "shape");
        if (!shapeNode.isArray()) {
            throw new CheckpointFormatException(at + ": field \"shape\" must be an array of integers (found "
                    + kind(shapeNode) + ")");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = integer(at, "shape[" + i + "]", shapeNode.get(i));
            if (shape[i] < 0) {
                throw new CheckpointFormatException(at + ": shape[" + i + "] = " + shape[i]
                        + " is negative (accepted: >= 0)");
            }
        }
        JsonNode offNode = required(at, node, "data_offsets");
        if (!offNode.isArray() || offNode.size() != 2) {
            throw new CheckpointFormatException(at + ": field \"data_offsets\" must be an array [begin, end] of 2 "
                    + "integers (found " + (offNode.isArray() ? "an array of " + offNode.size() : kind(offNode)) + ")");
        }
        long begin = integer(at, "data_offsets[0]", offNode.get(0));
        long end = integer(at, "data_offsets[1]", offNode.get(1));
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin < 0 || end < begin) {
            throw new CheckpointFormatException(at + ": " + range + " is invalid (accepted: 0 <= begin <= end)");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorInfo.numel(shape), dtype.bytes());
        } catch (ArithmeticException e) {
            throw new CheckpointFormatException(at + ": shape " + Arrays.toString(shape)
                    + " has more elements than a file can hold", e);
        }
        if (bytes != end - begin) {
            throw new CheckpointFormatException(at + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + bytes + " bytes but " + range + " span " + (end - begin));
        }
        if (end > dataLength) {
            throw new CheckpointFormatException(at + ": " + range + " reach beyond the data buffer of "
                    + dataLength + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonNode required(String at, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null) {
            throw new CheckpointFormatException(at + ": missing field \"" + field + "\"");
        }
        return v;
    }

    private static long integer(String at, String what, JsonNode v) {
        if (v == null || !v.isIntegralNumber()) {
            throw new CheckpointFormatException(at + ": " + what + " must be an integer (found "
                    + (v == null ? "nothing" : kind(v)) + ")");
        }
        if (!v.canConvertToLong()) {
            throw new CheckpointFormatException(at + ": " + what + " = " + v.asText()
                    + " is out of range (accepted: a 64-bit integer)");
        }
        return v.longValue();
    }

    /** Checks that the sorted ranges tile [0, dataLength) exactly. */
    private static void checkCoverage(String source, List<TensorInfo> sorted, long dataLength) {
        long covered = 0;
        TensorInfo last = null;   // the tensor whose end is `covered`
        for (TensorInfo t : sorted) {
            if (t.begin() < covered) {
                throw new CheckpointFormatException(source + ": tensors \"" + last.name() + "\" [" + last.begin()
                        + ", " + last.end() + ") and \"" + t.name() + "\" [" + t.begin() + ", " + t.end()
                        + ") overlap");
            }
            if (t.begin() > covered) {
                throw new CheckpointFormatException(source + ": gap of " + (t.begin() - covered)
                        + " bytes in the data buffer before tensor \"" + t.name() + "\" [" + t.begin() + ", "
                        + t.end() + ") (bytes [" + covered + ", " + t.begin() + ") belong to no tensor)");
            }
            if (t.end() > covered || last == null) {
                covered = t.end();
                last = t;
            }
        }
        if (covered < dataLength) {
            throw new CheckpointFormatException(source + ": " + (dataLength - covered)
                    + " bytes at the end of the data buffer [" + covered + ", " + dataLength
                    + ") belong to no tensor");
        }
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
