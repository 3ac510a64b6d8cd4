package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab bench}: an unknown benchmark, runs below 1, a missing, folder or malformed config, layer sizes and bits
 * out of range for {@code gptq}. Each is refused before anything runs: one exact stderr line, exit code 2.
 */
class BenchBadInputTest {
    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path folder = Files.createDirectories(tmp.resolve("config-folder"));
        Path unknownField = Files.writeString(tmp.resolve("unknown.json"), "{\"sede\": 1}");
        String nl = System.lineSeparator();
        return BadInput.cli(work, List.of(
                usage("unknown benchmark", "'infer' is not a benchmark: choose train, eval, gptq, packed or endurance", "bench", "infer",
                        "--config", "x.json"),
                usage("--runs 0", "--runs 0 is not accepted: use 1 or more", "bench", "train", "--runs", "0"),
                usage("no --config", "--config FILE is required for eval", "bench", "eval"),
                usage("--config missing", "--config " + tmp.resolve("none.json") + ": no such file", "bench", "train", "--config",
                        tmp.resolve("none.json").toString()),
                usage("--config a folder", "--config " + folder + ": is a folder, not a file", "bench", "train", "--config",
                        folder.toString()),
                usage("--config without a name", "cannot read benchmark config " + unknownField + ": Missing required creator"
                        + " property 'name' (index 0)", "bench", "eval",
                        "--config", unknownField.toString()),
                usage("gptq --in 0", "--in 0 is not accepted: use 1 or more", "bench", "gptq", "--in", "0"),
                usage("gptq --sequences -1", "--sequences -1 is not accepted: use 1 or more", "bench", "gptq", "--sequences", "-1"),
                usage("gptq --bits 9", "--bits 9 is out of range: accepted 2 to 8", "bench", "gptq", "--bits", "9"),
                new BadInput.Cli("--runs not a number", 2, "bench: Invalid value for option '--runs': 'three' is not an int" + nl
                        + "Try 'lab bench --help' for usage." + nl, "bench", "train", "--runs", "three")));
    }
}
