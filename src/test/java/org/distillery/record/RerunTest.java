package org.distillery.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.distillery.cli.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny ./lab train run run again from its record: the metrics match bit for bit; the comparison itself. */
class RerunTest {
    @TempDir
    Path tmp;


    private static int lab(String command, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add(command);
        all.addAll(args);
        return Lab.commandLine().execute(all.toArray(String[]::new));
    }

    @Test
    void aTrainingRunIsReproducedExactlyFromItsRecord() throws Exception {
        Path runFile = Files.writeString(tmp.resolve("run.json"), TinyTrainRun.RUN_FILE);
        Path root = tmp.resolve("runs");
        assertEquals(0, lab("train", List.of("--config", runFile.toString(), "--runs", root.toString(), "--run-name", "t")));
        Rerun.Result r = Rerun.run(root.resolve("t"), root, "t-again", RerunTest::lab, 0);
        assertEquals(0, r.exitCode());
        assertEquals(root.resolve("t-again"), r.rerun());
        Rerun.Comparison c = r.comparison();
        assertTrue(c.matches(), c.mismatches().toString());
        // 6 steps x (loss, lr, grad_norm) + val loss at steps 3 and 6 + 5 headline metrics; tokens_per_s left out
        assertEquals(6 * 3 + 2 + 5, c.compared());
        assertEquals(6, c.excluded());
        assertEquals(0.0, c.maxAbsDiff());
        assertEquals(Files.mismatch(root.resolve("t/model/model.safetensors"), root.resolve("t-again/model/model.safetensors")), -1L,
                "the same weights, byte for byte");

        Files.writeString(runFile, TinyTrainRun.RUN_FILE.replace("\"seed\": 3", "\"seed\": 4"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rerun.run(root.resolve("t"), root, "t-changed", RerunTest::lab, 0));
        assertTrue(e.getMessage().startsWith("input --config " + runFile + " changed since the run (its sha256 was "), e.getMessage());
        assertFalse(Files.exists(root.resolve("t-changed")));
    }

    @Test
    void theComparisonIsExactOrWithinTheToleranceAndNamesEveryDifference() {
        List<RunRecord.Metric> a = List.of(new RunRecord.Metric(1, "train", "loss", 2.0),
                new RunRecord.Metric(1, "train", "tokens_per_s", 100), new RunRecord.Metric(0, "final", "ppl", 9.5));
        List<RunRecord.Metric> ulp = List.of(new RunRecord.Metric(1, "train", "loss", Math.nextUp(2.0)),
                new RunRecord.Metric(1, "train", "tokens_per_s", 250), new RunRecord.Metric(0, "final", "ppl", 9.5));
        Rerun.Comparison exact = Rerun.compare(a, ulp, 0);
        assertEquals(List.of("1,train,loss: 2.0 vs 2.0000000000000004"), exact.mismatches());
        assertEquals(2, exact.compared());
        assertEquals(1, exact.excluded(), "tokens_per_s is timing");
        assertEquals(Math.ulp(2.0), exact.maxAbsDiff());
        assertTrue(Rerun.compare(a, ulp, 1e-15).matches());
        List<RunRecord.Metric> fewer = List.of(new RunRecord.Metric(1, "train", "loss", 2.0),
                new RunRecord.Metric(0, "final", "other", 1));
        assertEquals(List.of("0,final,ppl: only in the first run", "0,final,other: only in the second run"),
                Rerun.compare(a, fewer, 0).mismatches());
        assertEquals("tolerance: must be a finite number >= 0 but was -1.0", assertThrows(IllegalArgumentException.class,
                () -> Rerun.run(tmp, tmp, "x", RerunTest::lab, -1)).getMessage());
    }
}
