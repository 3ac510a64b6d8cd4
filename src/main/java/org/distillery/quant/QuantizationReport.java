package org.distillery.quant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distillery.util.IoErrors;

/**
 * The part of a quantized model directory's {@code quantization.json} (written by {@code ./lab quantize}) that is
 * read back: its {@value #ACTIVATION_KEY} section, the activation quantization a W8A8 model is evaluated with
 * ({@code ./lab eval} installs it). The section is null for weight-only methods; otherwise it holds {@code bits},
 * {@code granularity} ({@code per-token} or {@code per-tensor}) and, per tensor, {@code max_abs}: the calibrated
 * max|X| of each block linear layer's input by weight name ({@link BlockQuantizer#linearNames}).
 *
 * <p>Reading is strict: a file that is not UTF-8 JSON or a section with a missing or invalid field is an
 * {@link IllegalArgumentException} whose message starts with the file; a file that cannot be read is an
 * {@link UncheckedIOException}.
 */
public final class QuantizationReport {
    private QuantizationReport() {}

    /** The report's file name in a quantized model directory. */
    public static final String FILE = "quantization.json";
    /** The key of the activation quantization (null: weights only). */
    public static final String ACTIVATION_KEY = "activation_quantization";

    /** The {@link #ACTIVATION_KEY} section of {@code a}: bits, granularity, and per tensor the calibrated max|X| per layer. */
    public static Map<String, Object> activationSection(ActivationQuantizer a, int layers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bits", a.bits());
        m.put("symmetric", true);
        m.put("granularity", a.granularity().label());
        m.put("inputs", "every block linear layer (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj); not the tied LM head");
        if (a.granularity() == ActivationQuantizer.Granularity.PER_TENSOR) {
            Map<String, Object> ranges = new LinkedHashMap<>();
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < 4; k++) ranges.put(BlockQuantizer.linearNames(l).get(k), a.range(l, k));
            }
            m.put("max_abs", ranges);
        }
        return m;
    }

    /**
     * The activation quantizer the model directory {@code dir} asks for in its {@link #FILE}, for a model of
     * {@code layers} blocks; null when the file is absent or its {@link #ACTIVATION_KEY} is null or missing.
     *
     * @throws IllegalArgumentException naming the file and the field at fault
     * @throws UncheckedIOException     if the file exists but cannot be read
     */
    public static ActivationQuantizer activationQuantizer(Path dir, int layers) {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) return null;
        if (Files.isDirectory(file)) throw new IllegalArgumentException(file + ": is a folder, not the report file");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text (" + e + ")", e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException(file + ": not a JSON object");
        JsonNode a = root.get(ACTIVATION_KEY);
        if (a == null || a.isNull()) return null;
        String where = file + ": " + ACTIVATION_KEY;
        if (!a.path("bits").isIntegralNumber() || !a.path("bits").canConvertToInt() || !a.path("granularity").isTextual()) {
            throw new IllegalArgumentException(where + " needs bits (2 to 8) and granularity (per-token or per-tensor)");
        }
        int b = a.get("bits").intValue();
        try {
            ActivationQuantizer.Granularity g = ActivationQuantizer.Granularity.ofLabel(a.get("granularity").asText());
            if (g == ActivationQuantizer.Granularity.PER_TOKEN) return ActivationQuantizer.perToken(b, layers);
            float[][] ranges = new float[layers][4];                          // [layers, 4] max|X| per linear input
            JsonNode m = a.path("max_abs");
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < 4; k++) {
                    String name = BlockQuantizer.linearNames(l).get(k);
                    if (!m.path(name).isNumber()) throw new IllegalArgumentException("max_abs." + name + " is missing");
                    ranges[l][k] = (float) m.get(name).asDouble();
                }
            }
            return ActivationQuantizer.perTensor(b, ranges);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }
}
