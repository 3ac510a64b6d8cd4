package org.distillery.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ArtifactCacheTest {
    @Test
    void theKeyChangesWithConfigDataAndNothingElse() {
        Map<String, String> data = Map.of("brown/train.jsonl.gz", "aa", "mnist/x", "bb");
        String k = ArtifactCache.key("{\"steps\": 1}", data);
        assertEquals(64, k.length());
        assertEquals(k, ArtifactCache.key("{\"steps\": 1}", Map.of("mnist/x", "bb", "brown/train.jsonl.gz", "aa")),
                "the order of the data sums does not matter");
        assertNotEquals(k, ArtifactCache.key("{\"steps\": 2}", data));
        assertNotEquals(k, ArtifactCache.key("{\"steps\": 1}", Map.of("brown/train.jsonl.gz", "ab", "mnist/x", "bb")));
        assertEquals(64, ArtifactCache.codeHash().length());
    }

    @Test
    void folderNamesArePlain() {
        assertEquals("teacher-" + ArtifactCache.key("c", Map.of()).substring(0, 16),
                ArtifactCache.folder("teacher", "c", Map.of()).getFileName().toString());
        assertEquals("artifact name '../x' is not accepted: use letters, digits, '.', '_', '-'",
                assertThrows(IllegalArgumentException.class, () -> ArtifactCache.folder("../x", "c", Map.of())).getMessage());
    }
}
