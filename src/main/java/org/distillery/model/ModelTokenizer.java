package org.distillery.model;

import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.tokenize.ByteTokenizer;
import org.distillery.tokenize.Gpt2Tokenizer;
import org.distillery.tokenize.Tokenizer;

/** The tokenizer that belongs to a model directory. */
public final class ModelTokenizer {
    private ModelTokenizer() {}

    /**
     * {@code vocab.json} + {@code merges.txt} in {@code dir}: that byte-level BPE; none, and a vocabulary
     * of 256: the byte tokenizer; otherwise a clear error.
     */
    public static Tokenizer of(Path dir, int vocabSize) {
        if (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))) {
            Gpt2Tokenizer t = Gpt2Tokenizer.load(dir);
            if (t.vocabSize() > vocabSize) {
                throw new IllegalArgumentException(dir + ": the tokenizer has " + t.vocabSize()
                        + " tokens but config.json's vocab_size is " + vocabSize);
            }
            return t;
        }
        if (vocabSize == ByteTokenizer.VOCAB_SIZE) {
            return new ByteTokenizer();
        }
        throw new IllegalArgumentException(dir + " has no tokenizer files (vocab.json + merges.txt) and its vocab_size "
                + vocabSize + " is not the byte tokenizer's 256");
    }
}
