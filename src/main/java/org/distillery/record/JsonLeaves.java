package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** A JSON tree as its leaves: dotted key -> value (objects descended into; arrays and scalars are leaves). */
final class JsonLeaves {
    private JsonLeaves() {}

    /** The leaves of {@code node} in document order, keys prefixed with {@code prefix} (may be empty). */
    static Map<String, JsonNode> of(JsonNode node, String prefix) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        add(node, prefix, out);
        return out;
    }

    private static void add(JsonNode node, String key, Map<String, JsonNode> out) {
        if (node == null) return;
        if (node.isObject() && node.size() > 0) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                add(e.getValue(), key.isEmpty() ? e.getKey() : key + "." + e.getKey(), out);
            }
        } else {
            out.put(key, node);
        }
    }

    /** A leaf as display text: strings without quotes, null as "", arrays and empty objects as JSON. */
    static String text(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) return "";
        return v.isValueNode() ? v.asText() : v.toString();
    }
}
