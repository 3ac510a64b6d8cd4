package org.distillery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The headline metrics of each recorded command, taken from its own report (a model directory's
 * {@code summary.json}, {@code quantization.json} or {@code pruning.json}; {@code eval}'s result): they go to the run
 * record's {@code summary.json} and, as split {@code final}, to its {@code metrics.csv}. A metric the report does not
 * hold (e.g. perplexities without {@code --eval}) is left out. Timings are not headline metrics. For {@code quantize}
 * and {@code prune} also {@code mean_relative_output_error}: the mean over the layers of the report's
 * {@code relative_output_error} (calibrated methods only).
 */
final class RunHeadlines {
    private RunHeadlines() {}

    /** Metric name and JSON pointer into the report, per command. */
    private static final Map<String, List<String[]>> POINTERS = Map.of(
            "train", List.of(new String[] {"validation_perplexity", "/validation_perplexity"},
                    new String[] {"final_train_loss", "/final_train_loss"}, new String[] {"steps", "/steps"},
                    new String[] {"parameters", "/parameters"}, new String[] {"validation_tokens", "/validation_tokens"}),
            "distill", List.of(new String[] {"validation_perplexity", "/validation_perplexity"},
                    new String[] {"final_train_loss", "/final_train_loss"}, new String[] {"steps", "/steps"},
                    new String[] {"parameters", "/parameters"}, new String[] {"validation_tokens", "/validation_tokens"},
                    new String[] {"student_mlm_perplexity", "/student/mlm/perplexity"},
                    new String[] {"student_mlm_accuracy", "/student/mlm/accuracy"},
                    new String[] {"teacher_mlm_perplexity", "/teacher/mlm/perplexity"},
                    new String[] {"teacher_mlm_accuracy", "/teacher/mlm/accuracy"},
                    new String[] {"student_parameters", "/student/parameters"}),
            "quantize", List.of(new String[] {"perplexity_before", "/validation/perplexity_before"},
                    new String[] {"perplexity_after", "/validation/perplexity_after"},
                    new String[] {"bits_per_weight", "/sizes/bits_per_weight"},
                    new String[] {"packed_file_bytes", "/sizes/packed_file_bytes"},
                    new String[] {"float32_model_bytes", "/sizes/float32_model_bytes"}),
            "prune", List.of(new String[] {"perplexity_before", "/validation/perplexity_before"},
                    new String[] {"perplexity_after", "/validation/perplexity_after"},
                    new String[] {"linear_sparsity", "/sizes/linear_sparsity"},
                    new String[] {"parameters_after", "/sizes/parameters_after"},
                    new String[] {"model_safetensors_bytes", "/sizes/model_safetensors_bytes"},
                    new String[] {"sparse_file_bytes", "/sizes/sparse_file_bytes"}),
            "eval", List.of(new String[] {"perplexity", "/perplexity"}, new String[] {"nll", "/nll"},
                    new String[] {"tokens", "/tokens"}),
            "finetune", List.of(new String[] {"test_accuracy", "/test_accuracy"},
                    new String[] {"test_mean_nll", "/test_mean_nll"},
                    new String[] {"majority_baseline_accuracy", "/majority_baseline_accuracy"},
                    new String[] {"trainable_parameters", "/trainable_parameters"},
                    new String[] {"parameters", "/parameters"}));

    /** The report file of a command's model directory (null for {@code eval}, which writes none). */
    static String reportFile(String command) {
        return switch (command) {
            case "train", "distill" -> "summary.json";
            case "quantize" -> QuantizeCommand.REPORT_FILE;
            case "prune" -> PruneCommand.REPORT_FILE;
            case "finetune" -> FinetuneCommand.REPORT_FILE;
            default -> null;
        };
    }

    /** The headline metrics of {@code command}'s report (numbers as the report has them), in a fixed order. */
    static Map<String, JsonNode> of(String command, JsonNode report) {
        List<String[]> pointers = POINTERS.get(command);
        if (pointers == null) throw new IllegalArgumentException("command: '" + command + "' is not a recorded command");
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (String[] p : pointers) {
            JsonNode v = report.at(p[1]);
            if (v.isNumber()) m.put(p[0], v);
        }
        if (command.equals("quantize") || command.equals("prune")) {
            double sum = 0;
            int n = 0;
            for (JsonNode layer : report.path("layers")) {
                JsonNode e = layer.get("relative_output_error");
                if (e != null && e.isNumber()) {
                    sum += e.asDouble();
                    n++;
                }
            }
            if (n > 0) m.put("mean_relative_output_error", com.fasterxml.jackson.databind.node.DoubleNode.valueOf(sum / n));
        }
        return m;
    }
}
