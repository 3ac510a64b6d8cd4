package org.distillery.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.eval.CausalLm;
import org.distillery.eval.EvalThroughput;
import org.distillery.model.Gpt;
import org.distillery.quant.packed.PackedGpt;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The child JVM of {@link StageCost}'s memory and speed measurement: {@code DecodeProbe DIR packed|float N REPEATS}.
 *
 * <ol>
 *   <li>Starts the engine (ND4J's native library and BLAS) with a throw-away product, runs a full GC, then resets
 *   the process's peak resident set ({@code echo 5 > /proc/self/clear_refs}: VmHWM := VmRSS) and reads it: the
 *   baseline, a JVM ready to work but holding no model.</li>
 *   <li>Loads the model ({@link PackedGpt#load} for {@code packed}: packed codes and the float embeddings and norms
 *   only; else {@link Gpt#load} in evaluation mode) with room for one token (B = 1, T = 1).</li>
 *   <li>Times batch-1 decode steps: N forward passes of one token each (logits of the next token; every weight is
 *   read once per token, as in a decoding step's linear layers; there is no KV cache, so attention covers one
 *   position), {@link EvalThroughput#measureModels} with its warm-up passes and REPEATS timed repeats.</li>
 *   <li>Reads VmHWM again: the peak over loading and decoding.</li>
 * </ol>
 * Prints one line {@code PROBE {json}} with baseline and peak (bytes), their difference, tokens/s (median, min, max).
 */
public final class DecodeProbe {
    /** The prefix of the result line. */
    public static final String PREFIX = "PROBE ";

    private DecodeProbe() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: DecodeProbe DIR packed|float N REPEATS");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        boolean packed = args[1].equals("packed");
        int n = Integer.parseInt(args[2]), repeats = Integer.parseInt(args[3]);
        Nd4j.ones(64, 64).mmul(Nd4j.ones(64, 64)).sumNumber();             // the engine, loaded and warm
        System.gc();
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");             // VmHWM := VmRSS (Linux >= 4.0)
        long baseline = statusBytes("VmHWM");
        CausalLm model = packed ? PackedGpt.load(dir, 1, 1) : CausalLm.of(Gpt.load(dir, 1, 1).eval());
        EvalThroughput.Result r = EvalThroughput.measureModels(List.of(model), 1, 1, n, repeats, 0).get(0);
        long peak = statusBytes("VmHWM");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", packed ? "PackedGpt" : "Gpt");
        out.put("baseline_rss_bytes", baseline);
        out.put("peak_rss_bytes", peak);
        out.put("peak_memory_bytes", peak - baseline);
        out.put("tokens_per_s", r.medianTokensPerSecond());
        out.put("tokens_per_s_min", r.minTokensPerSecond());
        out.put("tokens_per_s_max", r.maxTokensPerSecond());
        out.put("decode_tokens", n);
        out.put("repeats", repeats);
        System.out.println(PREFIX + new ObjectMapper().writeValueAsString(out));
    }

    /** A {@code /proc/self/status} field given in kB, in bytes. */
    static long statusBytes(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) return 1024 * Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
        }
        throw new IllegalStateException("/proc/self/status has no " + field);
    }
}
