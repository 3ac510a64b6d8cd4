package org.distillery.robustness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.record.RunRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The messages behind the two findings of {@link RunRecordFuzzTest#runMetrics} (both were UncheckedIOException). */
class RunRecordReaderTest {
    @Test
    void malformedMetricsAreNamedErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("metrics.csv");
        Files.write(f, new byte[] {'s', 't', 'e', 'p', (byte) 0xB7, '\n'});
        assertEquals(f + ": not UTF-8 text (a CSV file of step,split,metric,value)",
                assertThrows(IllegalArgumentException.class, () -> RunRecord.readMetrics(f)).getMessage());
        Files.writeString(f, "step,split,metric,value\n0,\"final,loss,1\n");
        String m = assertThrows(IllegalArgumentException.class, () -> RunRecord.readMetrics(f)).getMessage();
        assertTrue(m.startsWith(f + ": not a CSV file of step,split,metric,value: "), m);
        Files.writeString(f, "step,split,metric,value\n0,final,loss,1.5\n");
        assertEquals(1.5, RunRecord.readMetrics(f).get(0).value());
    }
}
