package org.distillery.util;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The job folder's lock (one holder at a time, released on close) and its first specification (kept, others refused). */
class JobFolderTest {
    @TempDir
    Path tmp;

    @Test
    void aHeldLockIsRefusedWithTheGivenMessageAndFreedOnClose() throws Exception {
        Path f = tmp.resolve("job.lock");
        try (JobFolder.Lock held = JobFolder.lock(f, "busy")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobFolder.lock(f, "job folder is in use"));
            assertEquals("job folder is in use", e.getMessage());
        }
        try (JobFolder.Lock again = JobFolder.lock(f, "busy")) {
            assertTrue(Files.isRegularFile(f));
        }
    }

    @Test
    void theFirstSpecificationIsKeptAndAnotherRefused() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode a = json.readTree("{\"axes\": {\"bits\": [2, 3]}}"), b = json.readTree("{\"axes\": {\"bits\": [2, 4]}}");
        Path f = tmp.resolve("grid.json");
        JobFolder.keepFirst(f, a, "other grid");
        assertEquals("{\n  \"axes\" : {\n    \"bits\" : [ 2, 3 ]\n  }\n}\n", Files.readString(f));
        JobFolder.keepFirst(f, json.readTree("{\"axes\":{\"bits\":[2,3]}}"), "other grid");     // equal JSON: accepted
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobFolder.keepFirst(f, b, "other grid"));
        assertEquals("other grid", e.getMessage());
        assertEquals(a, json.readTree(f.toFile()), "the kept file is unchanged");
    }

    @Test
    void aLockFileInAMissingFolderIsAnIoError() {
        Path f = tmp.resolve("missing/job.lock");
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> JobFolder.lock(f, "busy"));
        assertTrue(e.getMessage().startsWith("cannot lock " + f + ": "), e.getMessage());
    }
}
