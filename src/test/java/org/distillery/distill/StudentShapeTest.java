package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import org.distillery.io.Gpt2Config;
import org.junit.jupiter.api.Test;

/** {@link StudentShape}: the derived students have the requested depth and width and keep the head size. */
class StudentShapeTest {
    static final Gpt2Config TEACHER = Gpt2Config.of(256, 128, 128, 4, 4);   // head size 32

    @Test
    void halvesDepthWidthOrBothKeepingHeadSizeVocabAndContext() {
        Gpt2Config s = StudentShape.SHALLOW.config(TEACHER);
        assertEquals(2, s.nLayer());
        assertEquals(128, s.nEmbd());
        assertEquals(4, s.nHead());
        Gpt2Config n = StudentShape.NARROW.config(TEACHER);
        assertEquals(4, n.nLayer());
        assertEquals(64, n.nEmbd());
        assertEquals(2, n.nHead());
        assertEquals(32, n.headSize());
        assertEquals(256, n.innerSize(), "MLP ratio 4 kept");
        Gpt2Config b = StudentShape.SHALLOW_NARROW.config(TEACHER);
        assertEquals(2, b.nLayer());
        assertEquals(64, b.nEmbd());
        for (Gpt2Config c : new Gpt2Config[] {s, n, b}) {
            assertEquals(256, c.vocabSize());
            assertEquals(128, c.nPositions());
        }
        assertArrayEquals(new int[] {0, 3}, StudentShape.SHALLOW.layerMap(TEACHER), "first and last teacher layers");
        assertArrayEquals(new int[] {0, 1, 2, 3}, StudentShape.NARROW.layerMap(TEACHER));
        assertEquals(1, StudentShape.SHALLOW.config(Gpt2Config.of(256, 64, 64, 1, 4)).nLayer(), "never below one layer");
        assertEquals("shallow-narrow", StudentShape.SHALLOW_NARROW.id());
    }

    @Test
    void deriveKeepsAnExplicitMlpRatioAndRefusesBadSizes() {
        Gpt2Config t = new Gpt2Config(256, 64, 64, 2, 2, 96, 1e-5, "gelu_new", true, java.util.Map.of());
        assertEquals(48, StudentShape.derive(t, 1, 32).nInner());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StudentShape.derive(TEACHER, 5, 128));
        assertEquals("layers: must be in [1, teacher n_layer = 4] but was 5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StudentShape.derive(TEACHER, 2, 48));
        assertEquals("width: must be a multiple of the teacher's head size 32 in [32, 128] but was 48", e.getMessage());
    }
}
