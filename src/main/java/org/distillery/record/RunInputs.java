package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.data.DatasetFiles;

/**
 * The files and folders a run's options name ({@code --model DIR}, {@code --config FILE}, {@code --calib FILE},
 * ...), fingerprinted in {@code config.json} under {@code inputs}: {@code {"path": ABS, "sha256": HEX}} for a file,
 * {@code {"path": ABS, "sha256": {RELATIVE: HEX, ...}}} for a folder (every regular file below it, sorted). A resume
 * or re-run first checks that they are unchanged ({@link #verify}).
 */
public final class RunInputs {
    private RunInputs() {}

    /** The fingerprint of the file or folder {@code p}. */
    public static ObjectNode fingerprint(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("path", abs.toString());
        if (Files.isDirectory(abs)) {
            ObjectNode sums = o.putObject("sha256");
            try (Stream<Path> s = Files.walk(abs)) {
                for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                    sums.put(abs.relativize(f).toString(), DatasetFiles.sha256(f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + abs + ": " + e.getMessage(), e);
            }
        } else {
            o.put("sha256", DatasetFiles.sha256(abs));
        }
        return o;
    }

    /**
     * Checks that every input of {@code config} ({@code inputs}: option -> fingerprint) still has its recorded
     * content.
     *
     * @throws IllegalArgumentException naming the option, the path and what changed
     */
    public static void verify(JsonNode config) {
        JsonNode inputs = config.path("inputs");
        for (Iterator<Map.Entry<String, JsonNode>> it = inputs.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Path p = Path.of(e.getValue().path("path").asText());
            if (!Files.exists(p)) {
                throw new IllegalArgumentException("input --" + e.getKey() + " " + p + " no longer exists; the run read it");
            }
            JsonNode now = fingerprint(p).get("sha256"), then = e.getValue().get("sha256");
            if (!now.equals(then)) {
                String what = then.isTextual() ? "its sha256 was " + then.asText() + ", now " + now.asText()
                        : "files differ: " + changedFiles(then, now);
                throw new IllegalArgumentException("input --" + e.getKey() + " " + p + " changed since the run (" + what + ")");
            }
        }
    }

    private static String changedFiles(JsonNode then, JsonNode now) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        then.fieldNames().forEachRemaining(names::add);
        now.fieldNames().forEachRemaining(names::add);
        List<String> changed = names.stream().filter(n -> !then.path(n).equals(now.path(n))).toList();
        return String.join(", ", changed.size() > 5 ? changed.subList(0, 5) : changed) + (changed.size() > 5 ? ", ..." : "");
    }
}
