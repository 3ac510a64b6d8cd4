package org.distillery.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;

/** The tiny model directory and calibration text the quantize and prune command tests run on. */
final class TinyGptDir {
    private TinyGptDir() {}

    /** A random GPT (byte vocabulary, context 16, width 32, 2 layers of 2 heads, seed 7) saved as {@code dir}. */
    static Path model(Path dir) {
        new Gpt(Gpt2Config.of(256, 16, 32, 2, 2), 4, 16, 7).save(dir);
        return dir;
    }

    /** 40 numbered sentences of English, about 1,900 bytes. */
    static String calibrationText() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) text.append("The quick brown fox ").append(i).append(" jumps over the lazy dog. ");
        return text.toString();
    }

    /** {@link #calibrationText} written to {@code file}. */
    static Path calibration(Path file) throws IOException {
        return Files.writeString(file, calibrationText());
    }
}
