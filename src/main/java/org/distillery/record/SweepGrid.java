package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sweep's grid file: one command, options every cell shares, and axes whose values are crossed:
 * <pre>
 * {"command": "quantize",
 *  "base": {"model": "teacher/", "calib-brown": 16},
 *  "axes": {"method": ["rtn", "gptq"], "bits": [2, 3, 4], "seed": [1, 2]}}
 * </pre>
 * Keys are the command's long option names without the dashes; values are strings, numbers or booleans (a flag is
 * given with true and left out with false). The cells are the cross product of the axes, the first axis varying
 * slowest; each cell's name is {@code AXIS=VALUE} joined by {@code _} (a value with characters other than letters,
 * digits, {@code . + -}, or longer than 32 characters, is shortened and gets 6 hex digits of its sha256), the same
 * on every run of the grid. Reading checks everything up front; each problem is one message naming it.
 *
 * @param command the command every cell runs
 * @param base    option -> value shared by every cell
 * @param axes    option -> values, in file order
 * @param negated the flags given as false that are written as {@code --no-NAME} (negatable options)
 */
public record SweepGrid(String command, Map<String, JsonNode> base, Map<String, List<JsonNode>> axes, Set<String> negated) {
    /** The accepted top-level keys. */
    public static final List<String> KEYS = List.of("command", "base", "axes");
    /** Options the sweep sets itself for every cell. */
    public static final List<String> RESERVED = List.of("out", "runs", "run-name", "resume");

    /** What an option takes: a value, or nothing (a flag; a negatable one also has {@code --no-NAME}). */
    public enum Kind { VALUE, FLAG, NEGATABLE_FLAG }

    /** The commands a grid may run and their options: name (no dashes) -> kind. */
    public interface Commands {
        List<String> names();

        Map<String, Kind> options(String command);
    }

    /** One cell: its name, its axis values and the command's arguments (base, then axes). */
    public record Cell(String name, Map<String, JsonNode> values, List<String> args) {}

    /**
     * Reads and checks a grid file.
     *
     * @throws IllegalArgumentException "--grid FILE: ..." naming the first problem
     */
    public static SweepGrid read(Path file, Commands commands) {
        String where = "--grid " + file + ": ";
        JsonNode root = org.distillery.util.JsonFiles.read(file, where);
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(where + "a grid is a JSON object with \"command\", \"axes\" and optionally \"base\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(where + "unknown key '" + k + "'; accepted: " + String.join(", ", KEYS));
            }
        }
        String accepted = "accepted: " + String.join(", ", commands.names());
        JsonNode cmd = root.get("command");
        if (cmd == null) throw new IllegalArgumentException(where + "\"command\" is missing; " + accepted);
        if (!cmd.isTextual() || !commands.names().contains(cmd.asText())) {
            throw new IllegalArgumentException(where + "unknown command " + cmd + "; " + accepted);
        }
        String command = cmd.asText();
        Map<String, Kind> options = commands.options(command);
        JsonNode baseNode = root.get("base");
        if (baseNode != null && !baseNode.isObject()) {
            throw new IllegalArgumentException(where + "\"base\" must be an object of option -> value, got " + baseNode);
        }
        JsonNode axesNode = root.get("axes");
        if (axesNode == null || !axesNode.isObject() || axesNode.size() == 0) {
            throw new IllegalArgumentException(where + "\"axes\" must be an object of option -> list of values with at least"
                    + " one axis" + (axesNode == null ? "; it is missing" : ", got " + axesNode));
        }
        Map<String, JsonNode> base = new LinkedHashMap<>();
        if (baseNode != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = baseNode.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                checkOption(where, command, options, e.getKey(), "base");
                checkValue(where, options, e.getKey(), e.getValue(), "base option '" + e.getKey() + "'");
                base.put(e.getKey(), e.getValue());
            }
        }
        Map<String, List<JsonNode>> axes = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = axesNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            checkOption(where, command, options, k, "axes");
            if (base.containsKey(k)) {
                throw new IllegalArgumentException(where + "'" + k + "' is in both base and axes; keep one");
            }
            JsonNode values = e.getValue();
            if (!values.isArray()) {
                throw new IllegalArgumentException(where + "axis '" + k + "' must be a list of values, got " + values);
            }
            if (values.isEmpty()) {
                throw new IllegalArgumentException(where + "axis '" + k + "' is empty; give it at least one value");
            }
            List<JsonNode> list = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (JsonNode v : values) {
                checkValue(where, options, k, v, "axis '" + k + "' value");
                if (!seen.add(v.asText())) {
                    throw new IllegalArgumentException(where + "axis '" + k + "' lists " + v + " twice");
                }
                list.add(v);
            }
            axes.put(k, List.copyOf(list));
        }
        Set<String> negated = new java.util.TreeSet<>();
        options.forEach((k, kind) -> {
            if (kind == Kind.NEGATABLE_FLAG) negated.add(k);
        });
        return new SweepGrid(command, Collections.unmodifiableMap(base), Collections.unmodifiableMap(axes),
                Collections.unmodifiableSet(negated));
    }

    private static void checkOption(String where, String command, Map<String, Kind> options, String key, String section) {
        if (RESERVED.contains(key)) {
            throw new IllegalArgumentException(where + "'" + key + "' is set by the sweep for each cell; remove it from " + section);
        }
        if (!options.containsKey(key)) {
            throw new IllegalArgumentException(where + command + " has no option --" + key + " (in " + section + "); its options: "
                    + String.join(", ", options.keySet().stream().filter(o -> !RESERVED.contains(o)).sorted().toList()));
        }
    }

    private static void checkValue(String where, Map<String, Kind> options, String key, JsonNode v, String what) {
        if (!v.isTextual() && !v.isNumber() && !v.isBoolean()) {
            throw new IllegalArgumentException(where + what + " " + v + " is not a string, number or boolean");
        }
        if (options.get(key) != Kind.VALUE && !v.isBoolean()) {
            throw new IllegalArgumentException(where + what + " " + v + ": --" + key + " is a flag; use true or false");
        }
    }

    /** The cells: the cross product of the axes, the first axis varying slowest. */
    public List<Cell> cells() {
        List<Map<String, JsonNode>> combos = new ArrayList<>();
        combos.add(new LinkedHashMap<>());
        for (Map.Entry<String, List<JsonNode>> axis : axes.entrySet()) {
            List<Map<String, JsonNode>> next = new ArrayList<>();
            for (Map<String, JsonNode> c : combos) {
                for (JsonNode v : axis.getValue()) {
                    Map<String, JsonNode> m = new LinkedHashMap<>(c);
                    m.put(axis.getKey(), v);
                    next.add(m);
                }
            }
            combos = next;
        }
        List<Cell> cells = new ArrayList<>();
        for (Map<String, JsonNode> values : combos) {
            List<String> args = new ArrayList<>();
            base.forEach((k, v) -> addArg(args, k, v, negated.contains(k)));
            values.forEach((k, v) -> addArg(args, k, v, negated.contains(k)));
            List<String> parts = new ArrayList<>();
            values.forEach((k, v) -> parts.add(k + "=" + namePart(v.asText())));
            String name = String.join("_", parts);
            if (name.length() > 200) name = name.substring(0, 190) + "-" + sha256(name).substring(0, 8);
            cells.add(new Cell(name, Collections.unmodifiableMap(values), List.copyOf(args)));
        }
        return cells;
    }

    /** The grid as JSON (what the sweep folder keeps as grid.json). */
    public JsonNode toJson() {
        ObjectMapper json = new ObjectMapper();
        var o = json.createObjectNode();
        o.put("command", command);
        var b = o.putObject("base");
        base.forEach(b::set);
        var a = o.putObject("axes");
        axes.forEach((k, v) -> a.set(k, json.valueToTree(v)));
        return o;
    }

    private static void addArg(List<String> args, String key, JsonNode v, boolean negatable) {
        if (v.isBoolean()) {
            if (v.asBoolean()) args.add("--" + key);
            else if (negatable) args.add("--no-" + key);
        } else {
            args.add("--" + key);
            args.add(v.asText());
        }
    }

    private static String namePart(String v) {
        if (v.matches("[A-Za-z0-9.+-]{1,32}")) return v;
        String clean = v.replaceAll("[^A-Za-z0-9.+-]", "-");
        return (clean.length() > 24 ? clean.substring(0, 24) : clean) + "-" + sha256(v).substring(0, 6);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
