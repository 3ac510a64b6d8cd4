package org.distillery.robustness;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.data.DatasetException;
import org.distillery.data.Idx;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.Safetensors;
import org.distillery.quant.packed.PackedSafetensors;
import org.distillery.tokenize.Gpt2Tokenizer;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.train.Trainer;

/**
 * Fuzzing of the readers of outside data (Jazzer). Each target writes the fuzzer's bytes where the reader expects
 * a file and calls it; the reader may only answer with its documented exceptions (a malformed file:
 * {@link CheckpointFormatException}, {@link DatasetException} or {@link IllegalArgumentException}, each naming the
 * file; an unreadable one: {@link UncheckedIOException}). Anything else escaping (NullPointerException,
 * ArrayIndexOutOfBoundsException, NegativeArraySizeException, OutOfMemoryError from a lying length field, ...) fails
 * the target, and Jazzer also reports hangs.
 *
 * <p>In the normal test run ({@code mvn test}) each target replays its seed corpus in
 * {@code src/test/resources/org/distillery/robustness/ReaderFuzzTestInputs/<target>/} (valid files and every input a
 * past fuzzing run found); with {@code JAZZER_FUZZ=1} one target fuzzes (see README, Robustness).
 */
class ReaderFuzzTest {
    /** A scratch file per JVM (the fuzzer calls a target millions of times; no temp-dir churn). */
    private static Path scratch(String name) throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "distillery-fuzz-" + ProcessHandle.current().pid());
        Files.createDirectories(dir);
        return dir.resolve(name);
    }

    @FuzzTest(maxDuration = "10m")
    void safetensors(byte[] data) throws IOException {
        Path f = scratch("model.safetensors");
        Files.write(f, data);
        try {
            Safetensors.readAll(f);
        } catch (CheckpointFormatException expected) {
            // a malformed file, named in the message
        }
    }

    @FuzzTest(maxDuration = "10m")
    void packedSafetensors(byte[] data) throws IOException {
        Path f = scratch("quantized.safetensors");
        Files.write(f, data);
        try {
            PackedSafetensors.load(f);
        } catch (CheckpointFormatException expected) {
            // a malformed file
        }
    }

    /** A model directory: the fuzzer's config.json beside a valid tiny GPT-2 model.safetensors. */
    @FuzzTest(maxDuration = "10m")
    void hfConfig(byte[] data) throws IOException {
        loadCheckpoint(data, null);
    }

    /** A model directory: a valid tiny GPT-2 config.json beside the fuzzer's model.safetensors. */
    @FuzzTest(maxDuration = "10m")
    void hfWeights(byte[] data) throws IOException {
        loadCheckpoint(null, data);
    }

    private static void loadCheckpoint(byte[] config, byte[] weights) throws IOException {
        Path dir = scratch("checkpoint");
        Files.createDirectories(dir);
        Files.write(dir.resolve("config.json"), config != null ? config : resource("tiny-gpt/config.json"));
        Files.write(dir.resolve("model.safetensors"), weights != null ? weights : resource("tiny-gpt/model.safetensors"));
        try {
            HfCheckpoint.load(dir);
        } catch (CheckpointFormatException expected) {
            // malformed config or weights, or the two disagree
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (var in = ReaderFuzzTest.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("test resource " + name + " is missing");
            return in.readAllBytes();
        }
    }

    @FuzzTest(maxDuration = "10m")
    void wordPieceVocab(byte[] data) throws IOException {
        Path f = scratch("vocab.txt");
        Files.write(f, data);
        WordPieceTokenizer tok;
        try {
            tok = WordPieceTokenizer.load(f, true);
        } catch (IllegalArgumentException expected) {
            return;
        }
        int[] ids = tok.encode("The Fulton County Grand Jury said Friday, an investigation!");
        tok.decode(ids);
    }

    /** vocab.json and merges.txt: the fuzzer's bytes up to the first 0x00, and after it. */
    @FuzzTest(maxDuration = "10m")
    void gpt2Tokenizer(byte[] data) throws IOException {
        int cut = 0;
        while (cut < data.length && data[cut] != 0) cut++;
        Path vocab = scratch("vocab.json"), merges = scratch("merges.txt");
        Files.write(vocab, java.util.Arrays.copyOfRange(data, 0, cut));
        Files.write(merges, java.util.Arrays.copyOfRange(data, Math.min(cut + 1, data.length), data.length));
        Gpt2Tokenizer tok;
        try {
            tok = Gpt2Tokenizer.load(vocab, merges);
        } catch (IllegalArgumentException expected) {
            return;
        }
        try {
            tok.decode(tok.encode("Hello world, it's 2026!"));
        } catch (IllegalArgumentException expected) {
            // a vocabulary that cannot encode these bytes says so
        }
    }

    @FuzzTest(maxDuration = "10m")
    void idx(byte[] data) {
        try {
            Idx.parse("fuzz.idx", data);
        } catch (DatasetException expected) {
            // malformed IDX
        }
    }

    @FuzzTest(maxDuration = "10m")
    void trainerState(byte[] data) throws IOException {
        Path dir = scratch("step-00000001");
        Files.createDirectories(dir);
        Files.write(dir.resolve("trainer.json"), data);
        try {
            Trainer.readState(dir);
        } catch (IllegalArgumentException | UncheckedIOException expected) {
            // not a trainer state / not JSON
        }
    }

    /** The seed corpora's valid files do load: the corpora start the fuzzer on the accepting paths too. */
    @org.junit.jupiter.api.Test
    void validSeedsLoad() throws IOException {
        String in = "ReaderFuzzTestInputs/";
        Path f = scratch("seed.safetensors");
        Files.write(f, resource(in + "safetensors/two-tensors"));
        org.junit.jupiter.api.Assertions.assertEquals(java.util.Set.of("a", "b.bias"), Safetensors.readAll(f).keySet());
        for (String p : new String[] {"int8", "q4_0"}) {
            Files.write(f, resource(in + "packedSafetensors/" + p));
            org.junit.jupiter.api.Assertions.assertEquals(1, PackedSafetensors.load(f).size(), p);
        }
        Path dir = scratch("seed-checkpoint");
        Files.createDirectories(dir);
        Files.write(dir.resolve("config.json"), resource(in + "hfConfig/tiny-gpt"));
        Files.write(dir.resolve("model.safetensors"), resource(in + "hfWeights/tiny-gpt"));
        org.junit.jupiter.api.Assertions.assertEquals(8, ((org.distillery.io.Gpt2Config) HfCheckpoint.load(dir).config()).vocabSize());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {2, 3}, Idx.parse("seed", resource(in + "idx/ubyte-2x3")).dims());
        Files.write(f, resource(in + "wordPieceVocab/small"));
        org.junit.jupiter.api.Assertions.assertEquals(13, WordPieceTokenizer.load(f, true).vocabSize());
        byte[] g = resource(in + "gpt2Tokenizer/small");
        int cut = 0;
        while (g[cut] != 0) cut++;
        Path v = scratch("seed-vocab.json"), m = scratch("seed-merges.txt");
        Files.write(v, java.util.Arrays.copyOfRange(g, 0, cut));
        Files.write(m, java.util.Arrays.copyOfRange(g, cut + 1, g.length));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {258, 111}, Gpt2Tokenizer.load(v, m).encode("Hello"));
        Path step = scratch("seed-step");
        Files.createDirectories(step);
        Files.write(step.resolve("trainer.json"), resource(in + "trainerState/format-2"));
        org.junit.jupiter.api.Assertions.assertEquals(3, Trainer.readState(step).path("step").asInt());
    }

    /** Found by fuzzing (gpt2Tokenizer): a text file that is not UTF-8 is a malformed file, named, not an I/O error. */
    @org.junit.jupiter.api.Test
    void textFilesThatAreNotUtf8AreMalformedFiles() throws IOException {
        byte[] bad = {'a', 'b', (byte) 0xFF, '\n'};
        Path merges = scratch("bad-merges.txt"), vocab = scratch("bad-vocab.json"), txt = scratch("bad-vocab.txt");
        Files.write(merges, bad);
        byte[] seed = resource("ReaderFuzzTestInputs/gpt2Tokenizer/small");
        int cut = 0;
        while (seed[cut] != 0) cut++;
        Files.write(vocab, java.util.Arrays.copyOf(seed, cut));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Gpt2Tokenizer.load(vocab, merges));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith(merges + ": not UTF-8 text ("), e.getMessage());
        Files.write(txt, bad);
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.load(txt, true));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith(txt + ": not UTF-8 text ("), e.getMessage());
        Path dir = scratch("bad-config");
        Files.createDirectories(dir);
        Files.write(dir.resolve("config.json"), bad);
        Files.write(dir.resolve("model.safetensors"), resource("tiny-gpt/model.safetensors"));
        CheckpointFormatException c = org.junit.jupiter.api.Assertions.assertThrows(CheckpointFormatException.class,
                () -> HfCheckpoint.load(dir));
        org.junit.jupiter.api.Assertions.assertTrue(c.getMessage().startsWith(dir.resolve("config.json") + ": not UTF-8 text ("),
                c.getMessage());
    }
}
