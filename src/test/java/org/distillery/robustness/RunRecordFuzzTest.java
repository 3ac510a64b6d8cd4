package org.distillery.robustness;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.distillery.record.RunRecord;
import org.distillery.record.RunTable;

/**
 * Fuzzing of the run-record readers (Jazzer), as {@link ReaderFuzzTest} does for model files: a run folder's
 * {@code metrics.csv} ({@link RunRecord#readMetrics}) and a whole run folder read back as {@code ./lab runs} does
 * ({@link RunRecord#read}, its config, summary, provenance and metrics, and {@link RunTable#load} of a runs folder
 * holding it beside a valid run). The only exception allowed out is {@link IllegalArgumentException} naming the file.
 * Seeds: {@code src/test/resources/org/distillery/robustness/RunRecordFuzzTestInputs/<target>/}.
 */
class RunRecordFuzzTest {
    private static Path scratch(String name) throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "distillery-run-fuzz-" + ProcessHandle.current().pid());
        Files.createDirectories(dir);
        return dir.resolve(name);
    }

    @FuzzTest(maxDuration = "10m")
    void runMetrics(byte[] data) throws IOException {
        Path f = scratch(RunRecord.METRICS);
        Files.write(f, data);
        try {
            RunRecord.readMetrics(f);
        } catch (IllegalArgumentException expected) {
            // a malformed metrics.csv, named in the message
        }
    }

    /**
     * The bytes are {@code config.json}, {@code summary.json} and {@code metrics.csv} of one run folder, separated by
     * NUL bytes (missing parts: no such file); the folder also has a valid {@code provenance.json}, and a second,
     * valid run lies beside it.
     */
    @FuzzTest(maxDuration = "10m")
    void runFolder(byte[] data) throws IOException {
        Path root = scratch("runs");
        Path good = root.resolve("a-good"), bad = root.resolve("b-fuzzed");
        Files.createDirectories(good);
        Files.createDirectories(bad);
        Files.writeString(good.resolve(RunRecord.CONFIG), "{\"format\": 1, \"command\": \"eval\", \"options\": {\"model\": \"m\"}}");
        Files.writeString(good.resolve(RunRecord.PROVENANCE), "{\"git_commit\": \"0\"}");
        Files.writeString(bad.resolve(RunRecord.PROVENANCE), "{\"git_commit\": \"0\"}");
        String[] names = {RunRecord.CONFIG, RunRecord.SUMMARY, RunRecord.METRICS};
        int from = 0;
        for (String name : names) {
            Files.deleteIfExists(bad.resolve(name));
            if (from > data.length) continue;
            int to = from;
            while (to < data.length && data[to] != 0) to++;
            Files.write(bad.resolve(name), Arrays.copyOfRange(data, from, to));
            from = to + 1;
        }
        try {
            RunRecord r = RunRecord.read(bad);
            r.config();
            r.summary();
            r.provenance();
            if (Files.exists(bad.resolve(RunRecord.METRICS))) r.metrics();
            RunTable.load(root);
        } catch (IllegalArgumentException expected) {
            // a malformed file of the run folder, named in the message
        }
    }

    /** Joins parts with NUL bytes: a {@link #runFolder} input. */
    static byte[] join(String... parts) {
        return String.join("\0", parts).getBytes(StandardCharsets.UTF_8);
    }
}
