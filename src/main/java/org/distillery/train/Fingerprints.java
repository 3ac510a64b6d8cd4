package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.util.Seeds;

import java.nio.file.Path;

/**
 * Fingerprints of training data, {@code {"length": n, "hash": hex}}, stored in checkpoints so that a
 * resume can check it got the same data: the hash chains {@link Seeds#mix} over the elements (the raw
 * float bits for floats).
 */
final class Fingerprints {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fingerprints() {}

    /** The fingerprint of a token stream (the hash of format-1 GPT checkpoints). */
    static ObjectNode of(int[] values) {
        return node(values.length, Seeds.hash(values));
    }

    /** The fingerprint of float data, by raw bits. */
    static ObjectNode of(float[] values) {
        return node(values.length, Seeds.hash(values));
    }

    private static ObjectNode node(int length, long h) {
        ObjectNode o = JSON.createObjectNode();
        o.put("length", length);
        o.put("hash", Long.toHexString(h));
        return o;
    }

    /**
     * Checks that {@code now} (the fingerprint of the data given for a resume) equals {@code stored}.
     *
     * @param name   the argument's name, e.g. "train"
     * @param what   what the data is, e.g. "token stream"
     */
    static void check(String name, String what, ObjectNode now, JsonNode stored, Path stateFile) {
        if (stored == null || stored.isNull()) {
            throw new IllegalArgumentException(name + ": the checkpoint " + stateFile + " was trained without a " + name
                    + " " + what);
        }
        if (!now.equals(stored)) {
            throw new IllegalArgumentException(name + ": the " + what + " (length " + now.get("length").asText() + ", hash "
                    + now.get("hash").asText() + ") differs from the one in " + stateFile + " (length "
                    + stored.path("length").asText() + ", hash " + stored.path("hash").asText() + ")");
        }
    }
}
