package org.distillery.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.cli.Lab;
import org.distillery.cli.LabCommands;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every bad pipeline config gives its exact one-line message, through the library and ./lab pipeline, and writes nothing. */
class PipelineConfigTest {
    @TempDir
    Path tmp;

    static final String STUDENT = """
            {"data": {"dataset": "brown", "tokenizer": "byte", "validation_tokens": 600},
             "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 16, "n_embd": 16,
                                 "n_layer": 1, "n_head": 2, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"},
                       "batch_size": 4, "seq_len": 16, "steps": 3, "lr_max": 1e-2, "lr_min": 1e-3,
                       "warmup_steps": 1, "weight_decay": 0.0, "grad_clip": 1.0, "grad_accum_steps": 1,
                       "seed": 3, "eval_interval": 0, "eval_batches": 1, "checkpoint_interval": 0,
                       "keep_checkpoints": 1, "freeze_pattern": ""}}""";

    private Path teacher() {
        Path dir = tmp.resolve("teacher");
        if (!Files.exists(dir)) new Gpt(Gpt2Config.of(256, 16, 16, 2, 2), 1, 16, 5).save(dir);
        return dir;
    }

    /** A valid config with {@code replace} (top-level key -> JSON text, null removes it) applied. */
    private Path config(Map<String, String> replace) throws Exception {
        teacher();
        Files.writeString(tmp.resolve("student.json"), STUDENT);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("name", "\"p\"");
        m.put("teacher", "\"teacher\"");
        m.put("distill", "{\"student-config\": \"student.json\"}");
        m.put("prune", "{\"calib-brown\": 4}");
        m.put("quantize", "{\"calib-brown\": 4}");
        m.put("finetune", "{\"steps\": 2}");
        m.put("eval", "{\"tokens\": 600}");
        m.putAll(replace);
        StringBuilder s = new StringBuilder("{");
        m.forEach((k, v) -> {
            if (v == null) return;
            if (s.length() > 1) s.append(", ");
            s.append('"').append(k).append("\": ").append(v);
        });
        return Files.writeString(tmp.resolve("pipeline.json"), s.append('}').toString());
    }

    private static String options(String command, String... without) {
        return String.join(", ", new LabCommands().options(command).keySet().stream()
                .filter(o -> !List.of("out", "runs", "run-name", "resume").contains(o) && !List.of(without).contains(o)).sorted().toList());
    }

    @Test
    void aValidConfigGetsItsDefaults() throws Exception {
        PipelineConfig c = PipelineConfig.read(config(Map.of()), null, new LabCommands());
        assertEquals("p", c.name());
        assertEquals(teacher().toAbsolutePath().normalize(), c.teacher());
        assertEquals(List.of("distill", "--student-config", tmp.resolve("student.json").toAbsolutePath().toString(), "--losses",
                "ce=0.5,clm=0.5", "--teacher", "/t"), c.args("distill", Path.of("/t")));
        assertEquals(List.of("prune", "--calib-brown", "4", "--method", "sparsegpt", "--sparsity", "0.5", "--eval", "600", "--model", "/m"),
                c.args("prune", Path.of("/m")));
        assertEquals(List.of("quantize", "--calib-brown", "4", "--method", "normtweak+gptq", "--bits", "4", "--keep-zeros", "--eval",
                "600", "--model", "/m"), c.args("quantize", Path.of("/m")));
        assertEquals(List.of("finetune", "--steps", "2", "--train", "norms", "--model", "/m"), c.args("finetune", Path.of("/m")));
        assertEquals(new PipelineConfig.Eval(600, 64, 5), c.eval());
        assertEquals("q", PipelineConfig.read(config(Map.of()), "q", new LabCommands()).name());
        PipelineConfig sym = PipelineConfig.read(config(Map.of("quantize", "{\"calib-brown\": 4, \"sym\": false}")), null, new LabCommands());
        assertTrue(sym.args("quantize", Path.of("/m")).contains("--no-sym"));
    }

    @Test
    void everyBadConfigIsOneExactLineAndWritesNothing() throws Exception {
        Path t = teacher().toAbsolutePath().normalize();
        Path student = tmp.resolve("student.json").toAbsolutePath().normalize();
        Path noWeights = tmp.resolve("no-weights");
        Files.createDirectories(noWeights);
        Files.copy(t.resolve("config.json"), noWeights.resolve("config.json"));
        Map<Map<String, String>, String> cases = new LinkedHashMap<>();
        cases.put(Map.of("stages", "{}"), "unknown key 'stages'; accepted: name, teacher, distill, prune, quantize, finetune, eval");
        cases.put(mapOfNull("teacher"), "\"teacher\" is missing: give the teacher's GPT model directory");
        cases.put(Map.of("teacher", "3"), "\"teacher\" must be a path (string), got 3");
        cases.put(Map.of("teacher", "\"missing\""), "teacher " + tmp.toAbsolutePath().normalize().resolve("missing") + ": no such folder");
        cases.put(Map.of("teacher", "\".\""), "teacher " + tmp.toAbsolutePath().normalize() + ": no config.json there (not a model directory)");
        cases.put(Map.of("teacher", "\"no-weights\""), "teacher " + noWeights.toAbsolutePath().normalize()
                + ": no model.safetensors there (config.json without weights)");
        cases.put(Map.of("name", "\"a b\""), "name 'a b' is not accepted: use up to 200 letters, digits and . _ = + , - (starting with a letter or digit)");
        cases.put(mapOfNull("quantize"), "\"quantize\" is missing: the pipeline runs distill, prune, quantize, finetune; give each an"
                + " object of its options ({} for the defaults)");
        cases.put(Map.of("prune", "[]"), "\"prune\" must be an object of option -> value, got []");
        cases.put(Map.of("prune", "{\"bits\": 4}"), "prune has no option --bits (in \"prune\"); its options: " + options("prune", "model", "eval"));
        cases.put(Map.of("prune", "{\"model\": \"x\"}"), "'model' of \"prune\" is set by the pipeline (the previous stage's model); remove it");
        cases.put(Map.of("quantize", "{\"eval\": 5}"), "'eval' of \"quantize\" is set by the pipeline (from eval.tokens); remove it");
        cases.put(Map.of("distill", "{\"student-config\": \"student.json\", \"teacher\": \"x\"}"),
                "'teacher' of \"distill\" is set by the pipeline (the previous stage's model: \"teacher\"); remove it");
        cases.put(Map.of("finetune", "{\"out\": \"x\"}"), "'out' of \"finetune\" is set by the pipeline; remove it");
        cases.put(Map.of("distill", "{}"), "distill.student-config is missing: give the student's run file (the format of ./lab train)");
        cases.put(Map.of("distill", "{\"student-config\": \"nope.json\"}"), "distill.student-config " + tmp.toAbsolutePath().normalize()
                .resolve("nope.json") + ": no such file");
        cases.put(Map.of("distill", "{\"student-config\": \"pipeline.json\"}"), "distill.student-config " + tmp.toAbsolutePath().normalize()
                .resolve("pipeline.json") + ": needs \"data\": {\"dataset\": ..., \"tokenizer\": ...} (strings)");
        cases.put(Map.of("prune", "{\"method\": \"heads\"}"), "prune.method heads is not accepted here: use magnitude, wanda, sparsegpt,"
                + " nm (the pipeline quantizes the pruned model with its zeros kept; structured pruning changes the shapes)");
        cases.put(Map.of("quantize", "{\"bits\": 3}"), "quantize.bits 3 is not accepted here: use 4 or 8 (the pipeline deploys and"
                + " times the packed model, and only 4 and 8 bits pack)");
        cases.put(Map.of("quantize", "{\"group\": 8, \"act-order\": true}"), "quantize.act-order with quantize.group is not accepted"
                + " here: its groups do not pack, and the pipeline deploys the packed model");
        cases.put(Map.of("quantize", "{\"keep-zeros\": \"yes\"}"), "quantize.keep-zeros \"yes\": --keep-zeros is a flag; use true or false");
        cases.put(Map.of("quantize", "{\"bits\": [4]}"), "quantize.bits [4] is not a string, number or boolean");
        cases.put(Map.of("finetune", "{\"train\": \"all\"}"), "finetune.train all is not accepted here: use norms (block linear"
                + " weights kept bit for bit, so the quantized model stays quantized)");
        cases.put(Map.of("prune", "{\"calib\": \"none.txt\"}"), "prune.calib " + tmp.toAbsolutePath().normalize().resolve("none.txt")
                + ": no such file");
        cases.put(Map.of("eval", "{\"tokens\": 1}"), "eval.tokens 1 is not accepted: use 2 or more");
        cases.put(Map.of("eval", "{\"repeat\": 1}"), "unknown key 'eval.repeat'; accepted: tokens, decode-tokens, repeats");
        cases.put(Map.of("eval", "{\"repeats\": 1.5}"), "eval.repeats must be an integer, got 1.5");
        Path runs = tmp.resolve("runs");
        for (Map.Entry<Map<String, String>, String> c : cases.entrySet()) {
            Path file = config(c.getKey());
            String where = "--config " + file + ": ";
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PipelineConfig.read(file, null, new LabCommands()), c.getValue());
            assertEquals(where + c.getValue(), e.getMessage());
            StringWriter err = new StringWriter();
            CommandLine cl = Lab.commandLine();
            cl.setErr(new PrintWriter(err, true));
            assertEquals(2, cl.execute("pipeline", "--config", file.toString(), "--runs", runs.toString()));
            assertEquals("pipeline: " + where + c.getValue() + System.lineSeparator(), err.toString());
            assertFalse(Files.exists(runs), "nothing written for " + c.getValue());
        }
        Files.writeString(tmp.resolve("bad.json"), "{\"teacher\": ");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PipelineConfig.read(tmp.resolve("bad.json"), null, new LabCommands()));
        assertTrue(e.getMessage().startsWith("--config " + tmp.resolve("bad.json") + ": not valid JSON: "), e.getMessage());
        assertEquals("--config " + tmp.resolve("none.json") + ": no such file", assertThrows(IllegalArgumentException.class,
                () -> PipelineConfig.read(tmp.resolve("none.json"), null, new LabCommands())).getMessage());
        assertEquals("--config " + tmp + ": is a folder, not a file", assertThrows(IllegalArgumentException.class,
                () -> PipelineConfig.read(tmp, null, new LabCommands())).getMessage());
        assertEquals("--config " + config(Map.of()) + ": --name 'x/y' is not accepted: use up to 200 letters, digits and . _ = + , -"
                + " (starting with a letter or digit)", assertThrows(IllegalArgumentException.class,
                () -> PipelineConfig.read(config(Map.of()), "x/y", new LabCommands())).getMessage());
        assertFalse(Files.exists(runs));
    }

    private static Map<String, String> mapOfNull(String key) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(key, null);
        return m;
    }
}
