package org.distillery.workshop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.distillery.util.ProjectPaths;

/**
 * One notebook's workshop part as committed: its exercise cells (found by their {@code "workshop"} metadata:
 * {@code {"role": "intro" | "setup"}} or {@code {"exercise": "NN.k", "role": "task" | "attempt" | "check"}}), the
 * imports of the cells before them, and its reference solutions ({@code notebooks/solutions/NAME.jsh}, one block per
 * exercise after a {@code //// NN.k} line).
 */
record WorkshopNotebook(String name, List<String> imports, String setup, Map<String, Map<String, String>> cells,
                        Map<String, String> solutions) {
    private static final Pattern BLOCK = Pattern.compile("(?m)^//// (\\d\\d\\.\\d+)\\s*$");

    /** The notebooks with exercises. */
    static final List<String> NAMES = List.of("00-number-formats", "01-teacher", "10-hinton-distillation",
            "11-distilbert-students", "12-distilgpt2-students", "20-quantization-sweep", "30-pruning", "40-compression-pipeline");

    static Path notebooks() {
        return ProjectPaths.root().resolve("notebooks");
    }

    static WorkshopNotebook read(String name) {
        try {
            JsonNode nb = new ObjectMapper().readTree(notebooks().resolve(name + ".ipynb").toFile());
            List<String> imports = new ArrayList<>();
            String setup = null;
            Map<String, Map<String, String>> cells = new LinkedHashMap<>();
            boolean inWorkshop = false;
            for (JsonNode c : nb.get("cells")) {
                StringBuilder src = new StringBuilder();
                JsonNode source = c.get("source");                          // nbformat allows a string or a list of lines
                if (source.isTextual()) src.append(source.asText());
                else for (JsonNode line : source) src.append(line.asText());
                JsonNode meta = c.path("metadata").path("workshop");
                if (meta.isMissingNode()) {
                    if (inWorkshop) throw new AssertionError(name + ": a cell without workshop metadata after the exercises");
                    if ("code".equals(c.get("cell_type").asText())) {
                        for (String l : src.toString().split("\n")) if (l.startsWith("import ")) imports.add(l);
                    }
                    continue;
                }
                inWorkshop = true;
                if ("setup".equals(meta.path("role").asText())) setup = src.toString();
                if (meta.has("exercise")) {
                    cells.computeIfAbsent(meta.get("exercise").asText(), k -> new LinkedHashMap<>()).put(meta.get("role").asText(), src.toString());
                }
            }
            return new WorkshopNotebook(name, imports, setup, cells, solutions(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> solutions(String name) throws IOException {
        Path f = notebooks().resolve("solutions").resolve(name + ".jsh");
        Map<String, String> out = new LinkedHashMap<>();
        if (!Files.exists(f)) return out;
        String text = Files.readString(f, StandardCharsets.UTF_8);
        Matcher m = BLOCK.matcher(text);
        List<int[]> starts = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        while (m.find()) {
            ids.add(m.group(1));
            starts.add(new int[] {m.start(), m.end()});
        }
        for (int i = 0; i < ids.size(); i++) {
            int end = i + 1 < ids.size() ? starts.get(i + 1)[0] : text.length();
            if (out.put(ids.get(i), text.substring(starts.get(i)[1], end).strip()) != null) {
                throw new AssertionError(f + ": two solutions of " + ids.get(i));
            }
        }
        return out;
    }
}
