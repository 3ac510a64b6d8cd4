package org.distillery.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfConfig;
import org.distillery.record.SweepGrid;
import org.distillery.train.LanguageModelRun;

/**
 * A compression pipeline's configuration file ({@code ./lab pipeline --config FILE}):
 * <pre>
 * {"name": "small",                          optional: default the file's name without .json
 *  "teacher": "runs/teacher/model",          the GPT model directory to compress (relative: to the file's folder)
 *  "distill":  {"student-config": "student.json", "losses": "ce=0.5,clm=0.5"},
 *  "prune":    {"method": "sparsegpt", "sparsity": 0.5, "calib-brown": 16},
 *  "quantize": {"method": "normtweak+gptq", "bits": 4, "calib-brown": 16},
 *  "finetune": {"steps": 60},
 *  "eval":     {"tokens": 16384, "decode-tokens": 64, "repeats": 5}}
 * </pre>
 * A stage's keys are its command's long options without the dashes (values: strings, numbers or booleans, flags true or
 * false), as in a sweep grid. The pipeline sets each stage's input ({@code teacher} of distill, {@code model} of the
 * others), {@code out}, {@code runs}, {@code run-name}, {@code resume}, and {@code eval} of prune and quantize (from
 * {@code eval.tokens}, so that their recorded perplexities use the cost table's tokens). Defaults: distill {@code losses
 * ce=0.5,clm=0.5}; prune {@code method sparsegpt, sparsity 0.5}; quantize {@code method normtweak+gptq, bits 4} and
 * {@code keep-zeros} for the GPTQ methods (the pruned zeros stay zero); finetune {@code train norms} (the only value
 * accepted: it keeps the quantized block weights bit for bit). Paths in options (teacher, student-config, calib) are
 * resolved against the config file's folder. Everything is checked when the file is read, before anything is written;
 * each problem is one message beginning {@code --config FILE: }.
 *
 * @param name     the pipeline's folder name under the runs folder
 * @param teacher  the teacher's model directory (absolute)
 * @param stages   stage command -> option -> value, in pipeline order (distill, prune, quantize, finetune), defaults
 *                 filled in, paths absolute
 * @param eval     the measurement settings
 * @param negatable the negatable flags given as false, as {@code stage.option} (written {@code --no-option})
 */
public record PipelineConfig(String name, Path teacher, Map<String, Map<String, JsonNode>> stages, Eval eval,
                             java.util.Set<String> negatable) {
    /** The stages in order. */
    public static final List<String> STAGES = List.of("distill", "prune", "quantize", "finetune");
    /** The accepted top-level keys. */
    public static final List<String> KEYS = List.of("name", "teacher", "distill", "prune", "quantize", "finetune", "eval");
    /** The options of every stage that the pipeline sets. */
    public static final List<String> RESERVED = List.of("out", "runs", "run-name", "resume");
    /** The prune methods that leave zeros in place (the structured ones change the shapes, which packing does not take). */
    public static final List<String> ZERO_PRUNING = List.of("magnitude", "wanda", "sparsegpt", "nm");
    /** The quantize methods whose {@code --keep-zeros} the pipeline sets. */
    public static final List<String> GPTQ_METHODS = List.of("gptq", "normtweak", "normtweak+gptq");

    /**
     * How each stage is measured ({@link StageCost}).
     *
     * @param tokens       validation perplexity on the first {@code tokens} tokens of Brown's validation split, &gt;= 2
     * @param decodeTokens batch-1 decode steps per timed repeat, &gt;= 1
     * @param repeats      timed repeats (the median is reported), &gt;= 1
     */
    public record Eval(int tokens, int decodeTokens, int repeats) {
        /** The accepted keys of {@code "eval"}. */
        public static final List<String> KEYS = List.of("tokens", "decode-tokens", "repeats");

        public Eval {
            if (tokens < 2) throw new IllegalArgumentException("eval.tokens " + tokens + " is not accepted: use 2 or more");
            if (decodeTokens < 1) {
                throw new IllegalArgumentException("eval.decode-tokens " + decodeTokens + " is not accepted: use 1 or more");
            }
            if (repeats < 1) throw new IllegalArgumentException("eval.repeats " + repeats + " is not accepted: use 1 or more");
        }

        /** 16,384 tokens, 64 decode steps, 5 repeats. */
        public static Eval defaults() {
            return new Eval(16_384, 64, 5);
        }
    }

    public PipelineConfig {
        stages = Collections.unmodifiableMap(new LinkedHashMap<>(stages));
        negatable = java.util.Set.copyOf(negatable);
    }

    /** The option through which a stage gets its input model. */
    public static String inputOption(String stage) {
        return stage.equals("distill") ? "teacher" : "model";
    }

    /**
     * Reads and checks a config file.
     *
     * @param file     the JSON file
     * @param name     a name that replaces the file's {@code "name"} (null: the file's, else the file name)
     * @param commands the commands and their options
     * @throws IllegalArgumentException {@code "--config FILE: ..."} naming the first problem
     */
    public static PipelineConfig read(Path file, String name, SweepGrid.Commands commands) {
        String where = "--config " + file + ": ";
        if (Files.isDirectory(file)) throw new IllegalArgumentException("--config " + file + ": is a folder, not a file");
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--config " + file + ": no such file");
        JsonNode root = org.distillery.util.JsonFiles.read(file, where);
        String fallback = file.getFileName().toString().replaceFirst("\\.json$", "");
        return parse(root, file.toAbsolutePath().normalize().getParent(), where, name, fallback, commands);
    }

    /** {@link #read} on parsed JSON; relative paths are resolved against {@code base}. */
    static PipelineConfig parse(JsonNode root, Path base, String where, String nameOverride, String fallbackName,
                                SweepGrid.Commands commands) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(where + "a pipeline config is a JSON object with \"teacher\", "
                    + String.join(", ", STAGES.stream().map(s -> "\"" + s + "\"").toList()) + " and optionally \"name\", \"eval\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(where + "unknown key '" + k + "'; accepted: " + String.join(", ", KEYS));
            }
        }
        // ---- name
        String name;
        if (nameOverride != null) {
            name = checkName(nameOverride, "--name '" + nameOverride + "'", where);
        } else if (root.has("name")) {
            JsonNode n = root.get("name");
            if (!n.isTextual()) throw new IllegalArgumentException(where + "\"name\" must be a string, got " + n);
            name = checkName(n.asText(), "name '" + n.asText() + "'", where);
        } else {
            name = checkName(fallbackName, "its file name '" + fallbackName + "' as the name", where);
        }
        // ---- teacher
        JsonNode t = root.get("teacher");
        if (t == null) throw new IllegalArgumentException(where + "\"teacher\" is missing: give the teacher's GPT model directory");
        if (!t.isTextual()) throw new IllegalArgumentException(where + "\"teacher\" must be a path (string), got " + t);
        Path teacher = base.resolve(t.asText()).toAbsolutePath().normalize();
        checkGptDir(where + "teacher " + teacher, teacher);
        // ---- stages
        Map<String, Map<String, JsonNode>> stages = new LinkedHashMap<>();
        java.util.Set<String> negatable = new java.util.TreeSet<>();
        for (String stage : STAGES) {
            JsonNode s = root.get(stage);
            if (s == null) {
                throw new IllegalArgumentException(where + "\"" + stage + "\" is missing: the pipeline runs " + String.join(", ", STAGES)
                        + "; give each an object of its options ({} for the defaults)");
            }
            if (!s.isObject()) throw new IllegalArgumentException(where + "\"" + stage + "\" must be an object of option -> value, got " + s);
            stages.put(stage, stage(where, stage, s, base, commands));
            commands.options(stage).forEach((k, kind) -> {
                if (kind == SweepGrid.Kind.NEGATABLE_FLAG) negatable.add(stage + "." + k);
            });
        }
        // ---- eval
        Eval eval = Eval.defaults();
        JsonNode e = root.get("eval");
        if (e != null) {
            if (!e.isObject()) throw new IllegalArgumentException(where + "\"eval\" must be an object, got " + e);
            Map<String, Integer> v = new LinkedHashMap<>(Map.of("tokens", eval.tokens(), "decode-tokens", eval.decodeTokens(),
                    "repeats", eval.repeats()));
            for (Iterator<Map.Entry<String, JsonNode>> it = e.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if (!Eval.KEYS.contains(f.getKey())) {
                    throw new IllegalArgumentException(where + "unknown key 'eval." + f.getKey() + "'; accepted: " + String.join(", ", Eval.KEYS));
                }
                if (!f.getValue().isIntegralNumber() || !f.getValue().canConvertToInt()) {
                    throw new IllegalArgumentException(where + "eval." + f.getKey() + " must be an integer, got " + f.getValue());
                }
                v.put(f.getKey(), f.getValue().intValue());
            }
            try {
                eval = new Eval(v.get("tokens"), v.get("decode-tokens"), v.get("repeats"));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(where + ex.getMessage(), ex);
            }
        }
        for (String stage : List.of("prune", "quantize")) stages.get(stage).put("eval", IntNode.valueOf(eval.tokens()));
        return new PipelineConfig(name, teacher, stages, eval, negatable);
    }

    private static Map<String, JsonNode> stage(String where, String stage, JsonNode s, Path base, SweepGrid.Commands commands) {
        Map<String, SweepGrid.Kind> options = commands.options(stage);
        List<String> set = new ArrayList<>(RESERVED);
        set.add(inputOption(stage));
        if (stage.equals("prune") || stage.equals("quantize")) set.add("eval");
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (set.contains(k)) {
                throw new IllegalArgumentException(where + "'" + k + "' of \"" + stage + "\" is set by the pipeline"
                        + (k.equals(inputOption(stage)) ? " (the previous stage's model" + (stage.equals("distill") ? ": \"teacher\")" : ")")
                        : k.equals("eval") ? " (from eval.tokens)" : "") + "; remove it");
            }
            if (!options.containsKey(k)) {
                throw new IllegalArgumentException(where + stage + " has no option --" + k + " (in \"" + stage + "\"); its options: "
                        + String.join(", ", options.keySet().stream().filter(o -> !set.contains(o)).sorted().toList()));
            }
            if (!v.isTextual() && !v.isNumber() && !v.isBoolean()) {
                throw new IllegalArgumentException(where + stage + "." + k + " " + v + " is not a string, number or boolean");
            }
            if (options.get(k) != SweepGrid.Kind.VALUE && !v.isBoolean()) {
                throw new IllegalArgumentException(where + stage + "." + k + " " + v + ": --" + k + " is a flag; use true or false");
            }
            m.put(k, v);
        }
        switch (stage) {
            case "distill" -> {
                m.putIfAbsent("losses", TextNode.valueOf("ce=0.5,clm=0.5"));
                JsonNode sc = m.get("student-config");
                if (sc == null) {
                    throw new IllegalArgumentException(where + "distill.student-config is missing: give the student's run file"
                            + " (the format of ./lab train)");
                }
                Path f = base.resolve(sc.asText()).toAbsolutePath().normalize();
                if (!Files.isRegularFile(f)) throw new IllegalArgumentException(where + "distill.student-config " + f + ": no such file");
                try {
                    LanguageModelRun.read(f);
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException(where + "distill.student-config " + ex.getMessage(), ex);
                }
                m.put("student-config", TextNode.valueOf(f.toString()));
            }
            case "prune" -> {
                m.putIfAbsent("method", TextNode.valueOf("sparsegpt"));
                String method = m.get("method").asText().toLowerCase(Locale.ROOT);
                if (!ZERO_PRUNING.contains(method)) {
                    throw new IllegalArgumentException(where + "prune.method " + m.get("method").asText() + " is not accepted here: use "
                            + String.join(", ", ZERO_PRUNING) + " (the pipeline quantizes the pruned model with its zeros kept;"
                            + " structured pruning changes the shapes)");
                }
                if (!method.equals("nm")) m.putIfAbsent("sparsity", com.fasterxml.jackson.databind.node.DoubleNode.valueOf(0.5));
            }
            case "quantize" -> {
                m.putIfAbsent("method", TextNode.valueOf("normtweak+gptq"));
                m.putIfAbsent("bits", IntNode.valueOf(4));
                String bits = m.get("bits").asText();
                if (!bits.equals("4") && !bits.equals("8")) {
                    throw new IllegalArgumentException(where + "quantize.bits " + bits + " is not accepted here: use 4 or 8 (the"
                            + " pipeline deploys and times the packed model, and only 4 and 8 bits pack)");
                }
                if (m.containsKey("group") && m.containsKey("act-order") && m.get("act-order").asBoolean()) {
                    throw new IllegalArgumentException(where + "quantize.act-order with quantize.group is not accepted here: its"
                            + " groups do not pack, and the pipeline deploys the packed model");
                }
                if (GPTQ_METHODS.contains(m.get("method").asText().toLowerCase(Locale.ROOT))) {
                    m.putIfAbsent("keep-zeros", BooleanNode.TRUE);
                }
            }
            case "finetune" -> {
                m.putIfAbsent("train", TextNode.valueOf("norms"));
                if (!m.get("train").asText().equals("norms")) {
                    throw new IllegalArgumentException(where + "finetune.train " + m.get("train").asText() + " is not accepted here:"
                            + " use norms (block linear weights kept bit for bit, so the quantized model stays quantized)");
                }
            }
            default -> throw new IllegalStateException(stage);
        }
        if (m.containsKey("calib")) {
            Path f = base.resolve(m.get("calib").asText()).toAbsolutePath().normalize();
            if (!Files.isRegularFile(f)) throw new IllegalArgumentException(where + stage + ".calib " + f + ": no such file");
            m.put("calib", TextNode.valueOf(f.toString()));
        }
        return m;
    }

    /** Checks that {@code dir} is a GPT model directory (config.json of model_type gpt2 and model.safetensors). */
    static void checkGptDir(String what, Path dir) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(what + ": no such folder");
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IllegalArgumentException(what + ": no config.json there (not a model directory)");
        HfConfig c;
        try {
            c = HfConfig.read(config);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
        if (!(c instanceof Gpt2Config)) {
            throw new IllegalArgumentException(what + ": config.json has model_type " + c.modelType() + "; need " + Gpt2Config.MODEL_TYPE);
        }
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            throw new IllegalArgumentException(what + ": no model.safetensors there (config.json without weights)");
        }
    }

    private static String checkName(String name, String what, String where) {
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._=+,-]{0,199}")) {
            throw new IllegalArgumentException(where + what + " is not accepted: use up to 200 letters, digits and . _ = + , -"
                    + " (starting with a letter or digit)");
        }
        return name;
    }

    /** A stage's command-line arguments (its options, then the input option), without the pipeline's run options. */
    public List<String> args(String stage, Path input) {
        List<String> args = new ArrayList<>();
        args.add(stage);
        stages.get(stage).forEach((k, v) -> {
            if (v.isBoolean()) {
                if (v.asBoolean()) args.add("--" + k);
                else if (negatable.contains(stage + "." + k)) args.add("--no-" + k);
            } else {
                args.add("--" + k);
                args.add(v.asText());
            }
        });
        args.add("--" + inputOption(stage));
        args.add(input.toString());
        return args;
    }

    /** The config as JSON, with the defaults and absolute paths (what the pipeline folder keeps as config.json). */
    public ObjectNode toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.put("name", name);
        o.put("teacher", teacher.toString());
        stages.forEach((stage, opts) -> {
            ObjectNode s = o.putObject(stage);
            opts.forEach(s::set);
        });
        o.putObject("eval").put("tokens", eval.tokens()).put("decode-tokens", eval.decodeTokens()).put("repeats", eval.repeats());
        return o;
    }
}
