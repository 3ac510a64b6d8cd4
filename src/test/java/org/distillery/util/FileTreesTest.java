package org.distillery.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileTrees#createAtomically}: a new folder appears whole or not at all. */
class FileTreesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFinishedWriterBecomesTheFolder() throws IOException {
        Path out = dir.resolve("out");
        FileTrees.createAtomically(out, tmp -> {
            assertFalse(Files.exists(out), "the folder appears only when complete");
            assertTrue(tmp.getFileName().toString().startsWith(".out.partial-"), tmp.toString());
            Files.writeString(tmp.resolve("a.txt"), "x");
            Files.createDirectories(tmp.resolve("run"));
        });
        assertEquals(List.of("out"), names());
        assertEquals("x", Files.readString(out.resolve("a.txt")));
        assertTrue(Files.isDirectory(out.resolve("run")));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
    }

    @Test
    void aFailingWriterLeavesNothing() throws IOException {
        Path out = dir.resolve("out");
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> FileTrees.createAtomically(out, tmp -> {
            Files.writeString(tmp.resolve("half.txt"), "x");
            throw boom;
        }));
        assertSame(boom, e, "the writer's own error");
        assertEquals(List.of(), names());
        assertThrows(java.io.UncheckedIOException.class, () -> FileTrees.createAtomically(out, tmp -> {
            throw new IOException("disk full");
        }));
        assertEquals(List.of(), names());
    }

    @Test
    void anExistingFolderOrAMissingParentIsRefusedBeforeWriting() throws IOException {
        Path out = Files.createDirectory(dir.resolve("out"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FileTrees.createAtomically(out, tmp -> { throw new AssertionError("not called"); }));
        assertEquals(out + " already exists: choose a new folder (outputs are never overwritten)", e.getMessage());
        Path orphan = dir.resolve("no/such/out");
        e = assertThrows(IllegalArgumentException.class, () -> FileTrees.requireNew(orphan));
        assertEquals(orphan + ": the folder " + dir.resolve("no/such") + " does not exist", e.getMessage());
        assertEquals(List.of("out"), names());
    }
}
