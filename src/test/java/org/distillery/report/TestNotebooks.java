package org.distillery.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes small nbformat-4 notebooks for the tests (one code cell per source string). */
public final class TestNotebooks {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestNotebooks() {}

    public static Path write(Path file, String kernel, String... cells) throws IOException {
        ObjectNode nb = JSON.createObjectNode();
        nb.put("nbformat", 4).put("nbformat_minor", 5);
        ObjectNode spec = nb.putObject("metadata").putObject("kernelspec");
        spec.put("name", kernel).put("display_name", "Java (Distillery)").put("language", "java");
        ArrayNode arr = nb.putArray("cells");
        int id = 0;
        for (String src : cells) {
            ObjectNode c = arr.addObject();
            c.put("cell_type", "code").put("id", "c" + id++).putNull("execution_count");
            c.putObject("metadata");
            c.putArray("outputs");
            c.put("source", src);
        }
        Files.createDirectories(file.getParent());
        Files.writeString(file, JSON.writeValueAsString(nb));
        return file;
    }
}
