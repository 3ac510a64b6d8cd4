package org.distillery.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading a JSON file given by the user, with the one-line error the commands print. */
public final class JsonFiles {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonFiles() {}

    /**
     * The file's JSON tree (null for an empty file).
     *
     * @param where the start of every message, e.g. {@code "--grid FILE: "}
     * @throws IllegalArgumentException {@code where + "not valid JSON: <parser's first line>"}, also for a file
     *                                  that cannot be read or is not UTF-8
     */
    public static JsonNode read(Path file, String where) {
        try {
            return JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException(where + "not valid JSON: "
                    + (e.getMessage() == null ? e : e.getMessage().lines().findFirst().orElse("")), e);
        }
    }
}
