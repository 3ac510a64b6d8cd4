package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.io.BertConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab quantize}, the bad inputs that cli.QuantizeCommandTest and QuantizeMethodsCommandTest do not already
 * try: model folders that are files, BERT, without or with damaged weights; calibration files that are folders or not
 * UTF-8; --out that exists as a file or sits in a missing folder; bits, group, damp, batch, eval and the method options
 * out of range; values that are not numbers. One exact stderr line each (two for picocli's own parse errors), exit
 * code 2, and nothing written in the output folder.
 */
class QuantizeBadInputTest {
    @TempDir
    Path tmp;

    private static String[] args(String model, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("quantize", "--model", model, "--out", out));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path model = BadInput.tinyGpt(tmp.resolve("model"));
        String m = model.toString(), out = work.resolve("q").toString();
        Path calib = Files.writeString(tmp.resolve("calib.txt"), BadInput.text());
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Path bert = Files.createDirectories(tmp.resolve("bert"));
        BertConfig.of(30, 8, 1, 2, 16).write(bert.resolve("config.json"));
        Path noWeights = Files.createDirectories(tmp.resolve("no-weights"));
        Files.copy(model.resolve("config.json"), noWeights.resolve("config.json"));
        Path damaged = BadInput.tinyGpt(tmp.resolve("damaged"));
        Files.write(damaged.resolve("model.safetensors"), new byte[20]);
        Path calibFolder = Files.createDirectories(tmp.resolve("calib-folder"));
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9, ' ', 'a', 'u', ' ', 'l', 'a', 'i', 't'});
        Path existingFile = Files.writeString(work.resolve("existing-file"), "mine");
        String nl = System.lineSeparator();
        return BadInput.cli(work, List.of(
                usage("--model a file", "--model " + file + ": no config.json there",
                        args(file.toString(), out, "--method", "rtn", "--bits", "8")),
                usage("--model a BERT", "--model " + bert + ": config.json is not a GPT-2 model (model_type gpt2)",
                        args(bert.toString(), out, "--method", "rtn", "--bits", "8")),
                usage("--model without weights", "--model " + noWeights + ": no model.safetensors there (config.json without weights)",
                        args(noWeights.toString(), out, "--method", "rtn", "--bits", "8")),
                usage("--model with damaged weights", damaged.resolve("model.safetensors") + ": header length 0 is too short for a"
                        + " JSON object (accepted: >= 2)", args(damaged.toString(), out, "--method", "rtn", "--bits", "8")),
                usage("--calib a folder", "--calib " + calibFolder + ": is a folder, not a file",
                        args(m, out, "--method", "gptq", "--bits", "4", "--calib", calibFolder.toString())),
                usage("--calib not UTF-8", "--calib " + latin1 + ": not UTF-8 text",
                        args(m, out, "--method", "gptq", "--bits", "4", "--calib", latin1.toString())),
                usage("--out an existing file", "--out " + existingFile + " already exists: choose a new folder (outputs are never"
                        + " overwritten)", args(m, existingFile.toString(), "--method", "rtn", "--bits", "8")),
                usage("--out in a missing folder", "--out " + work.resolve("no/q") + ": the folder " + work.resolve("no")
                        + " does not exist", args(m, work.resolve("no/q").toString(), "--method", "rtn", "--bits", "8")),
                usage("--bits 0", "--bits 0 is out of range: accepted 2 to 8", args(m, out, "--method", "rtn", "--bits", "0")),
                usage("--bits -2", "--bits -2 is out of range: accepted 2 to 8", args(m, out, "--method", "gptq", "--bits", "-2")),
                usage("--group 0", "--group 0 is not accepted: use a group size >= 1 that divides every layer's input width (or"
                        + " leave it out: one group per output channel)", args(m, out, "--method", "rtn", "--bits", "4", "--group", "0")),
                usage("--group -32", "--group -32 is not accepted: use a group size >= 1 that divides every layer's input width (or"
                        + " leave it out: one group per output channel)", args(m, out, "--method", "rtn", "--bits", "4", "--group", "-32")),
                usage("--damp -1", "--damp -1.0 is not accepted: use a finite number >= 0 (default 0.01)",
                        args(m, out, "--method", "gptq", "--bits", "4", "--damp", "-1")),
                usage("--damp NaN", "--damp NaN is not accepted: use a finite number >= 0 (default 0.01)",
                        args(m, out, "--method", "gptq", "--bits", "4", "--damp", "NaN")),
                usage("--calib-brown -1", "--calib-brown -1: the calibration set is empty; use 1 or more windows",
                        args(m, out, "--method", "awq", "--bits", "4", "--calib-brown", "-1")),
                usage("--calib and --calib-brown", "--calib " + calib + " and --calib-brown 4: choose one",
                        args(m, out, "--method", "gptq", "--bits", "4", "--calib", calib.toString(), "--calib-brown", "4")),
                usage("--batch 0", "--batch 0 is not accepted: use 1 or more", args(m, out, "--method", "rtn", "--bits", "8", "--batch", "0")),
                usage("--eval 1", "--eval 1 is not accepted: use 2 or more validation tokens",
                        args(m, out, "--method", "rtn", "--bits", "8", "--eval", "1")),
                usage("--true-sequential with rtn", "--true-sequential: only for --method gptq or normtweak+gptq",
                        args(m, out, "--method", "rtn", "--bits", "8", "--true-sequential")),
                usage("--nt-epochs -1", "--nt-epochs -1 is not accepted: use 0 or more",
                        args(m, out, "--method", "normtweak+rtn", "--bits", "4", "--nt-epochs", "-1")),
                usage("--nt-lr-scale Infinity", "--nt-lr-scale Infinity is not accepted: use a finite number >= 0",
                        args(m, out, "--method", "normtweak", "--bits", "4", "--nt-lr-scale", "Infinity")),
                usage("--qat-lr 0", "--qat-lr 0.0 is not accepted: use a finite number > 0",
                        args(m, out, "--method", "rtn", "--bits", "4", "--qat-steps", "2", "--qat-lr", "0")),
                usage("--alpha NaN", "--alpha NaN is out of range: accepted 0 to 1",
                        args(m, out, "--method", "smoothquant", "--bits", "8", "--alpha", "NaN")),
                new BadInput.Cli("--bits not a number", 2, "quantize: Invalid value for option '--bits': 'eight' is not an int" + nl
                        + "Try 'lab quantize --help' for usage." + nl, args(m, out, "--method", "rtn", "--bits", "eight")),
                new BadInput.Cli("--method missing", 2, "quantize: Missing required option: '--method=M'" + nl
                        + "Try 'lab quantize --help' for usage." + nl, args(m, out, "--bits", "8"))));
    }
}
