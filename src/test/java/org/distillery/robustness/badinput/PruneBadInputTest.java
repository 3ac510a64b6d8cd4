package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab prune}, the bad inputs that cli.PruneCommandTest does not already try: missing and damaged model
 * folders, NaN weights, calibration files that are folders, sparsities and patterns out of range, unknown scopes and
 * importances, options of other methods, counts below their minimum. One exact stderr line each, exit code 2, nothing
 * written in the output folder.
 */
class PruneBadInputTest {
    @TempDir
    Path tmp;

    private static String[] args(String model, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("prune", "--model", model, "--out", out));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path model = BadInput.tinyGpt(tmp.resolve("model"));
        String m = model.toString(), out = work.resolve("p").toString();
        Path calibFolder = Files.createDirectories(tmp.resolve("calib-folder"));
        Gpt nan = Gpt.load(model, 1, 16);
        nan.parameters().get("h.0.mlp.c_fc.weight").set(3, Float.NaN);
        Path nanDir = tmp.resolve("nan");
        nan.save(nanDir);
        return BadInput.cli(work, List.of(
                usage("no model folder", "--model " + tmp.resolve("none") + ": no config.json there",
                        args(tmp.resolve("none").toString(), out, "--method", "magnitude", "--sparsity", "0.5")),
                usage("NaN weights", "--model " + nanDir + ": tensor h.0.mlp.c_fc.weight has a non-finite weight NaN at flat index 3:"
                        + " cannot prune NaN/Inf weights", args(nanDir.toString(), out, "--method", "magnitude", "--sparsity", "0.5")),
                usage("--calib a folder", "--calib " + calibFolder + ": is a folder, not a file",
                        args(m, out, "--method", "wanda", "--sparsity", "0.5", "--calib", calibFolder.toString())),
                usage("--sparsity -0.1", "--sparsity -0.1 is out of range: accepted [0, 1)",
                        args(m, out, "--method", "magnitude", "--sparsity", "-0.1")),
                usage("--sparsity NaN", "--sparsity NaN is out of range: accepted [0, 1)",
                        args(m, out, "--method", "sparsegpt", "--sparsity", "NaN")),
                usage("--pattern not N:M", "--pattern 2of4 is not accepted: pattern 2of4 is not N:M (e.g. 2:4)",
                        args(m, out, "--method", "nm", "--pattern", "2of4")),
                usage("--pattern with heads", "--pattern 2:4: only for --method magnitude, wanda, sparsegpt or nm",
                        args(m, out, "--method", "heads", "--pattern", "2:4")),
                usage("--sparsity contradicting --pattern", "--sparsity 0.3 contradicts --pattern 2:4 (sparsity 0.5); leave"
                        + " --sparsity out", args(m, out, "--method", "wanda", "--pattern", "2:4", "--sparsity", "0.3")),
                usage("--scope sideways", "--scope sideways is not accepted: use layer or global",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--scope", "sideways")),
                usage("--scope with wanda", "--scope global: only for --method magnitude (unstructured), heads or neurons",
                        args(m, out, "--method", "wanda", "--sparsity", "0.5", "--scope", "global")),
                usage("--importance magic", "--importance magic is not accepted: use taylor, activation or weight",
                        args(m, out, "--method", "neurons", "--sparsity", "0.5", "--importance", "magic")),
                usage("--importance with magnitude", "--importance weight: only for --method heads, neurons or layers",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--importance", "weight")),
                usage("--gradual 0", "--gradual 0 is not accepted: use 1 or more pruning steps",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--gradual", "0")),
                usage("--gradual with wanda", "--gradual 3: only for unstructured --method magnitude",
                        args(m, out, "--method", "wanda", "--sparsity", "0.5", "--gradual", "3")),
                usage("--finetune-steps -1", "--finetune-steps -1 is not accepted: use 0 or more",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--finetune-steps", "-1")),
                usage("--finetune-lr 0", "--finetune-lr 0.0 is not accepted: use a finite number > 0",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--finetune-lr", "0")),
                usage("--damp -0.5", "--damp -0.5 is not accepted: use a finite number >= 0 (default 0.01)",
                        args(m, out, "--method", "sparsegpt", "--sparsity", "0.5", "--damp", "-0.5")),
                usage("--batch 0", "--batch 0 is not accepted: use 1 or more",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--batch", "0")),
                usage("--eval 0", "--eval 0 is not accepted: use 2 or more validation tokens",
                        args(m, out, "--method", "magnitude", "--sparsity", "0.5", "--eval", "0")),
                usage("--calib-brown 0", "--calib-brown 0: the calibration set is empty; use 1 or more windows",
                        args(m, out, "--method", "wanda", "--sparsity", "0.5", "--calib-brown", "0")),
                usage("--out in a missing folder", "--out " + work.resolve("no/p") + ": the folder " + work.resolve("no")
                        + " does not exist", args(m, work.resolve("no/p").toString(), "--method", "magnitude", "--sparsity", "0.5"))));
    }
}
