package org.distillery.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.util.ProjectPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchConfigTest {
    @TempDir
    Path tmp;

    @Test
    void theShippedConfigsAreTheIssuesConfigurations() {
        BenchConfig a = BenchConfig.read(ProjectPaths.root().resolve("src/bench/configs/A.json"));
        assertEquals(new BenchConfig("A", 256, 128, 4, 4, 128, 32, 30, 5, 1), a);
        BenchConfig b = BenchConfig.read(ProjectPaths.root().resolve("src/bench/configs/B.json"));
        assertEquals(new BenchConfig("B", 4096, 256, 6, 8, 128, 16, 20, 3, 1), b);
        assertEquals(842_496, new org.distillery.model.Gpt(a.modelConfig(), 1, 1, 0).parameterCount(),
                "the parameter count the engine notes give for config A");
    }

    @Test
    void flopsFollowTheClosedForm() {
        BenchConfig a = new BenchConfig("A", 256, 128, 4, 4, 128, 32, 30, 5, 1);
        // per token: 2 (12 L C^2 + C V) + 4 L T C = 2 (786,432 + 32,768) + 262,144 = 1,900,544; x 4,096 tokens
        assertEquals(1_900_544.0 * 4096, a.forwardFlops());
        assertEquals(3 * 1_900_544.0 * 4096, a.trainFlops());
    }

    @Test
    void badConfigsNameTheField() throws IOException {
        assertEquals("d_model 130 is not divisible by n_head 4", assertThrows(IllegalArgumentException.class,
                () -> new BenchConfig("x", 256, 130, 4, 4, 128, 32, 1, 0, 1)).getMessage());
        assertEquals("batch must be > 0, got 0", assertThrows(IllegalArgumentException.class,
                () -> new BenchConfig("x", 256, 128, 4, 4, 128, 0, 1, 0, 1)).getMessage());
        Path missing = Files.writeString(tmp.resolve("m.json"), "{\"name\": \"x\", \"vocab\": 3}");
        String msg = assertThrows(IllegalArgumentException.class, () -> BenchConfig.read(missing)).getMessage();
        assertTrue(msg.startsWith("cannot read benchmark config " + missing
                + ": Missing required creator property 'vocab_size'"), msg);
        Path unknown = Files.writeString(tmp.resolve("u.json"), Files.readString(ProjectPaths.root()
                .resolve("src/bench/configs/A.json")).replace("\"seed\"", "\"sede\": 1, \"seed\""));
        msg = assertThrows(IllegalArgumentException.class, () -> BenchConfig.read(unknown)).getMessage();
        assertTrue(msg.startsWith("cannot read benchmark config " + unknown + ": Unrecognized field \"sede\""), msg);
    }
}
