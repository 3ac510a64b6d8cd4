package org.distillery.model;

import org.distillery.io.Gpt2Config;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Invalid configurations and batches fail early with messages naming the field and the value. */
class GptBadInputTest {

    @Test
    void embeddingWidthNotDivisibleByHeads() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Gpt(new Gpt2Config(V, T, 18, 1, 4, null, 1e-5, "gelu_new", true, Map.of()), 1, T, 0));
        assertTrue(e.getMessage().contains("n_embd") && e.getMessage().contains("18")
                && e.getMessage().contains("n_head") && e.getMessage().contains("4"), e.getMessage());
    }

    @Test
    void contextLongerThanThePositionTable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Gpt(tinyConfig(), 1, T + 1, 0));
        assertTrue(e.getMessage().contains(String.valueOf(T + 1)) && e.getMessage().contains("n_positions = " + T),
                e.getMessage());
        Gpt g = new Gpt(tinyConfig(), 1, T, 0);
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> g.forward(new int[T + 1], null, 1, T + 1));
        assertTrue(f.getMessage().contains("sequence length " + (T + 1)), f.getMessage());
    }

    @Test
    void tokenIdOutOfRangeNamesIdPositionAndVocab() {
        Gpt g = new Gpt(tinyConfig(), B, T, 0);
        int[] ids = randomIds(1, B * T, V);
        ids[11] = V + 5;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.forward(ids, null, B, T));
        assertTrue(e.getMessage().contains("token id " + (V + 5)) && e.getMessage().contains("position 11")
                && e.getMessage().contains("vocab_size " + V), e.getMessage());
        ids[11] = -1;
        assertThrows(IllegalArgumentException.class, () -> g.forward(ids, null, B, T));
        ids[11] = 0;
        int[] targets = randomIds(2, B * T, V);
        targets[4] = V;
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> g.forward(ids, targets, B, T));
        assertTrue(t.getMessage().contains("targets") && t.getMessage().contains("position 4"), t.getMessage());
    }

    @Test
    void batchShapeAndUnsupportedVariants() {
        Gpt g = new Gpt(tinyConfig(), B, T, 0);
        assertThrows(IllegalArgumentException.class, () -> g.forward(new int[(B + 1) * T], null, B + 1, T));
        assertThrows(IllegalArgumentException.class, () -> g.forward(new int[5], null, B, T));
        assertThrows(IllegalStateException.class, g::backward);
        IllegalArgumentException gelu = assertThrows(IllegalArgumentException.class,
                () -> new Gpt(new Gpt2Config(V, T, C, 1, 2, null, 1e-5, "gelu", true, Map.of()), 1, T, 0));
        assertTrue(gelu.getMessage().contains("activation_function = gelu"), gelu.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new Gpt(new Gpt2Config(V, T, C, 1, 2, null, 1e-5, "gelu_new", false, Map.of()), 1, T, 0));
    }

    @Test
    void smallerBatchShapesMatchTheFullShape() {
        Gpt g = new Gpt(tinyConfig(), B, T, 9);
        int[] ids = randomIds(3, B * T, V);
        g.forward(ids, null, B, T);
        float[] full = GptCheckpointTest.floats(g.logits());
        int t = 5;
        int[] first = new int[t];
        System.arraycopy(ids, 0, first, 0, t);
        g.forward(first, null, 1, t);
        for (int i = 0; i < t * V; i++) {
            assertEquals(full[i], g.logits().get(i), 1e-5f, "causal prefix logits, element " + i);
        }
    }
}
