package org.distillery.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.distillery.data.BrownCorpus;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfConfig;
import org.distillery.tokenize.Tokenizer;
import org.distillery.util.FileTrees;

/**
 * The checks and file steps the commands that turn a GPT model directory into a new one share ({@code quantize},
 * {@code prune}): a GPT-2 {@code --model}, a new {@code --out} in an existing folder, an existing {@code --calib},
 * the {@code --eval} tokens, and the output written under a temporary name beside {@code --out} with the
 * source's tokenizer files.
 */
final class ModelOutput {
    /** The tokenizer files copied from the source directory when present. */
    static final java.util.List<String> TOKENIZER_FILES = java.util.List.of("vocab.json", "merges.txt", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json");

    private ModelOutput() {}

    /** {@code --model}'s GPT-2 configuration. */
    static Gpt2Config gptConfig(Path model) {
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("--model " + model + ": no config.json there");
        }
        if (!(HfConfig.read(model.resolve("config.json")) instanceof Gpt2Config cfg)) {
            throw new IllegalArgumentException("--model " + model + ": config.json is not a GPT-2 model (model_type gpt2)");
        }
        requireWeights(model);
        return cfg;
    }

    /** Checks that the model directory {@code --model} has its weights file. */
    static void requireWeights(Path model) {
        if (!Files.isRegularFile(model.resolve("model.safetensors"))) {
            throw new IllegalArgumentException("--model " + model + ": no model.safetensors there (config.json without weights)");
        }
    }

    /** Checks that {@code --out} does not exist and its folder does; returns that folder. */
    static Path newOutParent(Path out) {
        try {
            return FileTrees.requireNew(out);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--out " + e.getMessage(), e);
        }
    }

    /** Checks that {@code --calib} (when given) is a file. */
    static void checkCalibFile(Path calib) {
        if (calib != null) requireFile("--calib", calib);
    }

    /** Checks that the path given to {@code option} is a file: an error says when there is none or it is a folder. */
    static void requireFile(String option, Path file) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(option + " " + file + ": is a folder, not a file");
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(option + " " + file + ": no such file");
    }

    /** The first {@code eval} tokens of Brown's validation split (null without {@code --eval}). */
    static int[] validation(Tokenizer tokenizer, Integer eval) {
        if (eval == null) return null;
        int[] all = tokenizer.encode(BrownCorpus.load().text(BrownCorpus.Split.VALIDATION));
        int[] v = Arrays.copyOf(all, Math.min(eval, all.length));
        if (v.length < 2) {
            throw new IllegalArgumentException("--eval " + eval + ": the validation split has only " + all.length + " tokens");
        }
        return v;
    }

    /** A new temporary folder beside {@code out} ({@code .<name>.partial-...}, rwxr-xr-x where POSIX). */
    static Path partial(Path parent, Path out) {
        return FileTrees.temporaryBeside(parent, out);
    }

    /** Copies the source model's tokenizer files that exist into {@code dir}. */
    static void copyTokenizer(Path model, Path dir) throws IOException {
        for (String f : TOKENIZER_FILES) {
            if (Files.isRegularFile(model.resolve(f))) Files.copy(model.resolve(f), dir.resolve(f));
        }
    }
}
