package org.distillery.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Typed access to config.json fields with messages naming the file and field; collects unread fields. */
final class ConfigJson {
    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final String source;
    private final ObjectNode root;
    private final Set<String> read = new HashSet<>();

    ConfigJson(String source, ObjectNode root) {
        this.source = source;
        this.root = root;
    }

    private JsonNode get(String field, boolean required) {
        read.add(field);
        JsonNode v = root.get(field);
        if ((v == null || v.isNull()) && required) {
            throw new CheckpointFormatException(source + ": missing field \"" + field + "\"");
        }
        return v == null || v.isNull() ? null : v;
    }

    String string(String field, String dflt) {
        JsonNode v = get(field, dflt == null);
        if (v == null) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw new CheckpointFormatException(source + ": field \"" + field + "\" = " + v
                    + " is not a string");
        }
        return v.textValue();
    }

    /** An integer field; {@code dflt == null} makes it required. Returns null only for an absent optional. */
    Integer integer(String field, Integer dflt) {
        JsonNode v = get(field, dflt == null);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new CheckpointFormatException(source + ": field \"" + field + "\" = " + v
                    + " is not an integer (accepted: a 32-bit integer)");
        }
        return v.intValue();
    }

    /** An optional integer that may be absent or null (returns null then). */
    Integer optionalInteger(String field) {
        read.add(field);
        JsonNode v = root.get(field);
        return v == null || v.isNull() ? null : integer(field, 0);
    }

    double number(String field, Double dflt) {
        JsonNode v = get(field, dflt == null);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new CheckpointFormatException(source + ": field \"" + field + "\" = " + v + " is not a number");
        }
        return v.doubleValue();
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = get(field, false);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new CheckpointFormatException(source + ": field \"" + field + "\" = " + v + " is not a boolean");
        }
        return v.booleanValue();
    }

    /** The fields not read so far (except model_type), in file order. */
    Map<String, Object> extra() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!read.contains(e.getKey()) && !e.getKey().equals("model_type")) {
                out.put(e.getKey(), MAPPER.convertValue(e.getValue(), Object.class));
            }
        }
        return out;
    }

    /** A config.json object: model_type first. */
    static ObjectNode start(String modelType) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("model_type", modelType);
        return o;
    }

    /** Adds the extras (which never override modelled fields). */
    static ObjectNode finish(ObjectNode o, Map<String, Object> extra) {
        extra.forEach((k, v) -> {
            if (!o.has(k)) {
                o.set(k, MAPPER.valueToTree(v));
            }
        });
        return o;
    }

    /** An unmodifiable copy of an extras map, for record constructors. */
    static Map<String, Object> copy(Map<String, Object> extra) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** Fails unless {@code value >= 1}. */
    static void positive(String field, long value) {
        if (value < 1) {
            throw new IllegalArgumentException("field \"" + field + "\" = " + value
                    + " is not positive (accepted: >= 1)");
        }
    }

    /** Fails unless {@code value} is finite and {@code > 0}. */
    static void positive(String field, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("field \"" + field + "\" = " + value
                    + " is not a positive finite number");
        }
    }

    /** Fails unless {@code hidden % heads == 0}. */
    static void divisible(String hiddenField, int hidden, String headsField, int heads) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("field \"" + hiddenField + "\" = " + hidden
                    + " is not divisible by \"" + headsField + "\" = " + heads);
        }
    }

    /** Fails if {@code value} is blank. */
    static void nonBlank(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("field \"" + field + "\" is blank (accepted: an activation name)");
        }
    }
}
