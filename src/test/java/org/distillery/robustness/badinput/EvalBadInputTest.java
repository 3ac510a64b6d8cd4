package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.io.BertConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab eval}: a model folder that is missing, not GPT-2 or damaged; data that is missing, a folder, not UTF-8,
 * too short, or a .bin of odd length or with ids outside the vocabulary; context, stride and batch out of range; a
 * broken activation record. Each is one exact line on stderr with exit code 2; eval writes nothing.
 */
class EvalBadInputTest {
    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path model = BadInput.tinyGpt(tmp.resolve("model"));
        String m = model.toString();
        Path text = Files.writeString(tmp.resolve("text.txt"), BadInput.text());
        String t = text.toString();
        Path folder = Files.createDirectories(tmp.resolve("folder.txt"));
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9});
        Path one = Files.writeString(tmp.resolve("one.txt"), "a");
        Path odd = Files.write(tmp.resolve("odd.bin"), new byte[] {1, 0, 2});
        Path big = Files.write(tmp.resolve("big.bin"), new byte[] {1, 0, 0, 1});
        Path bert = Files.createDirectories(tmp.resolve("bert"));
        BertConfig.of(30, 8, 1, 2, 16).write(bert.resolve("config.json"));
        Path damaged = BadInput.tinyGpt(tmp.resolve("damaged"));
        Files.write(damaged.resolve("model.safetensors"), new byte[] {1, 2, 3});
        Path badReport = BadInput.tinyGpt(tmp.resolve("bad-report"));
        Files.writeString(badReport.resolve("quantization.json"), "{\"activation_quantization\": {\"bits\": 12, \"granularity\":"
                + " \"per-token\"}}");
        Path badConfig = BadInput.tinyGpt(tmp.resolve("bad-config"));
        Files.writeString(badConfig.resolve("config.json"), Files.readString(badConfig.resolve("config.json"))
                .replace("\"n_embd\" : 32", "\"n_embd\" : -4"));
        return BadInput.cli(work, List.of(
                usage("no model folder", "--model " + tmp.resolve("none") + ": no config.json there",
                        "eval", "--model", tmp.resolve("none").toString(), "--data", t),
                usage("a BERT folder", "--model " + bert + ": config.json is not a GPT-2 model (model_type gpt2)",
                        "eval", "--model", bert.toString(), "--data", t),
                usage("damaged weights", damaged.resolve("model.safetensors") + ": file is 3 bytes, too short for the 8-byte header"
                        + " length", "eval", "--model", damaged.toString(), "--data", t),
                usage("a config.json field out of range", badConfig.resolve("config.json") + ": field \"n_embd\" = -4 is not positive (accepted: >= 1)",
                        "eval", "--model", badConfig.toString(), "--data", t),
                usage("no data file", "--data " + tmp.resolve("none.txt") + ": no such file",
                        "eval", "--model", m, "--data", tmp.resolve("none.txt").toString()),
                usage("data a folder", "--data " + folder + ": is a folder, not a file", "eval", "--model", m, "--data", folder.toString()),
                usage("data not UTF-8", "--data " + latin1 + ": not UTF-8 text (a .bin file of uint16 ids must end in .bin)",
                        "eval", "--model", m, "--data", latin1.toString()),
                usage("one token", "--data " + one + ": 1 token; perplexity needs at least 2 (one to predict from, one to predict)",
                        "eval", "--model", m, "--data", one.toString()),
                usage(".bin of odd length", "--data " + odd + ": 3 bytes is not a whole number of uint16 ids",
                        "eval", "--model", m, "--data", odd.toString()),
                usage(".bin id outside the vocabulary", "--data " + big + ": token id 256 at position 1 is outside the model's"
                        + " vocabulary of 256", "eval", "--model", m, "--data", big.toString()),
                usage("context 1", "--context 1 is not accepted: use 2 to the model's n_positions 16",
                        "eval", "--model", m, "--data", t, "--context", "1"),
                usage("context above n_positions", "--context 17 is not accepted: use 2 to the model's n_positions 16",
                        "eval", "--model", m, "--data", t, "--context", "17"),
                usage("stride 0", "--stride 0 is not accepted: use 1 to the context 16", "eval", "--model", m, "--data", t, "--stride", "0"),
                usage("stride above the context", "--stride 9 is not accepted: use 1 to the context 8",
                        "eval", "--model", m, "--data", t, "--context", "8", "--stride", "9"),
                usage("batch 0", "--batch 0 is not accepted: use 1 or more", "eval", "--model", m, "--data", t, "--batch", "0"),
                usage("activation bits 12 in quantization.json", badReport.resolve("quantization.json") + ": activation_quantization:"
                        + " bits = 12 is out of range: accepted 2 to 8", "eval", "--model", badReport.toString(), "--data", t)));
    }
}
