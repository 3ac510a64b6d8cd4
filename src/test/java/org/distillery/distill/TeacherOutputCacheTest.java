package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TeacherOutputCacheTest {

    @TempDir
    Path tmp;

    @Test
    void storesAndLoadsExactlyAndKnowsItsTeacher() throws Exception {
        Gpt teacher = new Gpt(Gpt2Config.of(20, 8, 8, 1, 2), 1, 4, 1);
        String fp = TeacherOutputCache.fingerprint(teacher.parameters());
        assertEquals(fp, TeacherOutputCache.fingerprint(new Gpt(Gpt2Config.of(20, 8, 8, 1, 2), 1, 4, 1).parameters()),
                "same weights, same fingerprint");
        TeacherOutputCache cache = new TeacherOutputCache(tmp.resolve("c"), fp);
        FloatTensor out = FloatTensor.of(new double[] {1.5, -2.25, Math.PI, 1e-30, -0.0, 7}, 2, 3);
        assertFalse(cache.contains("batch-1"));
        assertFalse(cache.load("batch-1", FloatTensor.zeros(2, 3)));
        cache.store("batch-1", out);
        FloatTensor back = FloatTensor.zeros(2, 3);
        assertTrue(new TeacherOutputCache(tmp.resolve("c"), fp).load("batch-1", back));
        for (int i = 0; i < 6; i++) assertEquals(Float.floatToRawIntBits(out.get(i)), Float.floatToRawIntBits(back.get(i)));
        try (var files = Files.list(tmp.resolve("c"))) {
            assertEquals(2, files.count(), "teacher.txt and one output, no temporary file left");
        }
    }

    @Test
    void anotherTeachersFolderOrFileIsRejected() throws Exception {
        Gpt teacher = new Gpt(Gpt2Config.of(20, 8, 8, 1, 2), 1, 4, 1);
        String fp = TeacherOutputCache.fingerprint(teacher.parameters());
        teacher.parameters().get("ln_f.bias").set(3, 1e-3f);                       // one weight changed
        String other = TeacherOutputCache.fingerprint(teacher.parameters());
        assertNotEquals(fp, other);
        new TeacherOutputCache(tmp.resolve("c"), fp).store("k", FloatTensor.zeros(2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TeacherOutputCache(tmp.resolve("c"), other));
        assertEquals("dir: " + tmp.resolve("c").toAbsolutePath() + " caches the outputs of another teacher (fingerprint "
                + fp + ", this teacher's is " + other + "); use another folder or delete it", e.getMessage());

        // a file copied in from another teacher's folder
        TeacherOutputCache mine = new TeacherOutputCache(tmp.resolve("d"), other);
        Files.copy(tmp.resolve("c").resolve("k.safetensors"), tmp.resolve("d").resolve("k.safetensors"));
        e = assertThrows(IllegalArgumentException.class, () -> mine.load("k", FloatTensor.zeros(2, 2)));
        assertTrue(e.getMessage().startsWith("key: cached output ") && e.getMessage().contains("was made by teacher " + fp),
                e.getMessage());

        TeacherOutputCache c = new TeacherOutputCache(tmp.resolve("c"), fp);
        e = assertThrows(IllegalArgumentException.class, () -> c.load("k", FloatTensor.zeros(3, 2)));
        assertTrue(e.getMessage().endsWith("has shape [2, 2] but the buffer is [3, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.store("../escape", FloatTensor.zeros(1)));
        assertEquals("key: '../escape' is not accepted: use letters, digits, '.', '_', '-' (starting with a letter or digit)",
                e.getMessage());
        Files.writeString(tmp.resolve("file"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> new TeacherOutputCache(tmp.resolve("file"), fp));
        assertEquals("dir: " + tmp.resolve("file") + " is a file, not a folder", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TeacherOutputCache(tmp.resolve("e"), "abc"));
        assertTrue(e.getMessage().startsWith("fingerprint: must be 64 lowercase hex digits"));
        assertEquals(64, TeacherOutputCache.fingerprint(Map.of()).length());
    }
}
