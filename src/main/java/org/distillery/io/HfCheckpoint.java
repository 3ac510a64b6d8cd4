package org.distillery.io;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Hugging Face checkpoint directory ({@code config.json} + {@code model.safetensors}) loaded into memory,
 * and the check that a set of tensors matches a configuration.
 *
 * <p>{@link #check} compares tensor names and shapes with {@link HfConfig#expectedTensors}: every required
 * tensor must be present; the head tensors must be all present or all absent; every expected tensor that is
 * present must have the expected shape. Tensors the configuration does not describe (causal-mask buffers,
 * {@code position_ids}, a next-sentence head) are allowed and listed in {@link Match#unexpected()}.
 *
 * @param config  the configuration
 * @param prefix  the backbone prefix the file uses, {@code ""} or {@link HfConfig#backbonePrefix()}
 * @param tensors every tensor of the file, by sorted name, as float32
 */
public record HfCheckpoint(HfConfig config, String prefix, Map<String, NamedTensor> tensors) {

    /** The configuration file name in a checkpoint directory. */
    public static final String CONFIG_FILE = "config.json";
    /** The weights file name in a checkpoint directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** Problems listed in one error message at most; the rest are counted. */
    private static final int MAX_PROBLEMS = 10;

    /** Copies the tensor map. */
    public HfCheckpoint {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(prefix, "prefix");
        tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /** The result of a successful {@link #check}. */
    public record Match(String prefix, boolean hasHead, List<String> unexpected) {
        /** Copies the list. */
        public Match {
            unexpected = List.copyOf(unexpected);
        }
    }

    /**
     * The tensor {@code name} as the file names it (with the prefix, if the file uses one); throws
     * CheckpointFormatException if absent.
     */
    public NamedTensor tensor(String name) {
        NamedTensor t = tensors.get(name);
        if (t == null) {
            throw new CheckpointFormatException(WEIGHTS_FILE + ": missing tensor " + name);
        }
        return t;
    }

    /** Reads {@code dir/config.json} and {@code dir/model.safetensors}, checks them against each other, loads all. */
    public static HfCheckpoint load(Path dir) {
        HfConfig config = HfConfig.read(dir.resolve(CONFIG_FILE));
        try (Safetensors.Reader r = Safetensors.open(dir.resolve(WEIGHTS_FILE))) {
            Match m = check(config, r.header(), r.path().toString());
            return new HfCheckpoint(config, m.prefix(), r.readAll());
        }
    }

    /**
     * Checks {@code tensors} against {@code config}, then writes {@code dir/config.json} and
     * {@code dir/model.safetensors} (with metadata {@code format: pt}, which the transformers library
     * requires), each atomically.
     */
    public static Match save(Path dir, HfConfig config, Collection<NamedTensor> tensors) {
        Map<String, long[]> shapes = new TreeMap<>();
        for (NamedTensor t : tensors) {
            shapes.put(t.name(), t.longShape());
        }
        Match m = check(config, shapes, WEIGHTS_FILE);
        config.write(dir.resolve(CONFIG_FILE));
        Safetensors.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        return m;
    }

    /** {@link #check(HfConfig, Map, String)} on a safetensors header. */
    public static Match check(HfConfig config, SafetensorsHeader header, String source) {
        Map<String, long[]> shapes = new TreeMap<>();
        header.tensors().forEach(t -> shapes.put(t.name(), t.shape()));
        return check(config, shapes, source);
    }

    /**
     * Checks that the tensors {@code shapes} (name to shape) are those of a checkpoint of {@code config}.
     *
     * @param source the weights file, for messages
     * @throws CheckpointFormatException listing up to 10 problems, e.g. {@code model.safetensors: missing tensor
     *         h.3.mlp.c_fc.weight} or {@code model.safetensors: tensor h.0.attn.c_attn.weight has shape [768, 2304]
     *         but config.json (n_embd=64) expects [64, 192]}
     */
    public static Match check(HfConfig config, Map<String, long[]> shapes, String source) {
        Objects.requireNonNull(config, "config");
        String prefix = shapes.keySet().stream().anyMatch(n -> n.startsWith(config.backbonePrefix()))
                ? config.backbonePrefix() : "";
        List<TensorSpec> specs = config.expectedTensors(prefix);
        boolean hasHead = specs.stream().anyMatch(s -> s.need() == TensorSpec.Need.HEAD && shapes.containsKey(s.name()));
        List<String> problems = new ArrayList<>();
        Set<String> expected = new HashSet<>();
        for (TensorSpec s : specs) {
            expected.add(s.name());
            long[] actual = shapes.get(s.name());
            if (actual == null) {
                if (s.need() == TensorSpec.Need.REQUIRED || (s.need() == TensorSpec.Need.HEAD && hasHead)) {
                    problems.add("missing tensor " + s.name());
                }
            } else if (!Arrays.equals(actual, s.shape())) {
                problems.add("tensor " + s.name() + " has shape " + Arrays.toString(actual) + " but " + CONFIG_FILE
                        + " (" + s.because() + ") expects " + Arrays.toString(s.shape()));
            }
        }
        if (!problems.isEmpty()) {
            String listed = String.join("; ", problems.subList(0, Math.min(MAX_PROBLEMS, problems.size())));
            String more = problems.size() > MAX_PROBLEMS ? "; and " + (problems.size() - MAX_PROBLEMS) + " more" : "";
            throw new CheckpointFormatException(source + ": " + listed + more);
        }
        List<String> unexpected = shapes.keySet().stream().filter(n -> !expected.contains(n)).sorted().toList();
        return new Match(prefix, hasHead, unexpected);
    }
}
