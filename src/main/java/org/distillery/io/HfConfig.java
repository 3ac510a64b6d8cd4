package org.distillery.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distillery.util.AtomicFiles;
import org.distillery.util.IoErrors;

/**
 * A Hugging Face {@code config.json} of one of the supported architectures, as a validated record, plus the
 * tensor names and shapes a checkpoint of that configuration holds ({@link #expectedTensors}).
 *
 * <p>{@link #read} dispatches on {@code model_type} ({@code gpt2}, {@code bert}, {@code distilbert}). Fields
 * the record does not model (dropout rates, token ids, {@code architectures} ...) are kept in {@link #extra()}
 * and written back unchanged, so a read-write round trip preserves the file's content.
 */
public sealed interface HfConfig permits Gpt2Config, BertConfig, DistilBertConfig {

    /** The accepted {@code model_type} values. */
    List<String> MODEL_TYPES = List.of(Gpt2Config.MODEL_TYPE, BertConfig.MODEL_TYPE, DistilBertConfig.MODEL_TYPE);

    /** The {@code model_type} field, e.g. {@code gpt2}. */
    String modelType();

    /** The fields not modelled by the record, in file order (values as Jackson reads them into Java objects). */
    Map<String, Object> extra();

    /**
     * The prefix the base-model tensors carry in a checkpoint saved from the model with a head
     * ({@code transformer.} for GPT-2, {@code bert.}, {@code distilbert.}); files saved from the bare model
     * omit it.
     */
    String backbonePrefix();

    /**
     * The tensors a checkpoint of this configuration holds, with the base-model names prefixed by
     * {@code prefix} (either {@code ""} or {@link #backbonePrefix()}); head names are never prefixed.
     */
    List<TensorSpec> expectedTensors(String prefix);

    /** {@link #expectedTensors(String)} in the usual Hugging Face layout of this model type. */
    List<TensorSpec> expectedTensors();

    /** This configuration as {@code config.json} content: {@code model_type}, the modelled fields, then extras. */
    ObjectNode toJson();

    /** Writes {@code config.json} (pretty-printed) atomically to {@code path}. */
    default Path write(Path path) {
        try {
            return AtomicFiles.writeString(path, ConfigJson.MAPPER.writeValueAsString(toJson()) + "\n");
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads and validates a {@code config.json}. */
    static HfConfig read(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new CheckpointFormatException(path + ": not UTF-8 text (" + e + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + IoErrors.reason(e), e);
        }
        return parse(path.toString(), text);
    }

    /**
     * Parses and validates {@code config.json} content.
     *
     * @param source the file, for messages
     * @throws CheckpointFormatException naming the file and the field at fault
     */
    static HfConfig parse(String source, String json) {
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(source + ": not valid JSON: "
                    + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(source + ": not a JSON object");
        }
        ConfigJson j = new ConfigJson(source, (ObjectNode) root);
        String type = j.string("model_type", null);
        try {
            return switch (type) {
                case Gpt2Config.MODEL_TYPE -> Gpt2Config.fromJson(j);
                case BertConfig.MODEL_TYPE -> BertConfig.fromJson(j);
                case DistilBertConfig.MODEL_TYPE -> DistilBertConfig.fromJson(j);
                default -> throw new CheckpointFormatException(source + ": field \"model_type\" = \"" + type
                        + "\" is not supported (accepted: " + String.join(", ", MODEL_TYPES) + ")");
            };
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(source + ": " + e.getMessage(), e);
        }
    }
}
