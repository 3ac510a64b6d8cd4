package org.distillery.model;

import org.distillery.io.BertConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.distillery.model.BertTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Invalid configurations and batches fail early with messages naming the field and the value. */
class BertBadInputTest {

    @Test
    void hiddenSizeNotDivisibleByHeads() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Bert(new BertConfig(V, 18, 1, 4, I, "gelu", P, TT, 1e-12, Map.of()), 1, T, 0));
        assertTrue(e.getMessage().contains("hidden_size") && e.getMessage().contains("18")
                && e.getMessage().contains("num_attention_heads") && e.getMessage().contains("4"), e.getMessage());
    }

    @Test
    void sequenceLongerThanThePositionTable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Bert(tinyConfig(), 1, P + 1, 0));
        assertTrue(e.getMessage().contains(String.valueOf(P + 1)) && e.getMessage().contains("max_position_embeddings = " + P),
                e.getMessage());
        Bert m = new Bert(tinyConfig(), 1, T, 0);
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> m.forward(new int[T + 1], null, null, null, 1, T + 1));
        assertTrue(f.getMessage().contains("sequence length " + (T + 1)), f.getMessage());
    }

    @Test
    void tokenIdOutOfRangeNamesIdPositionAndVocab() {
        Bert m = new Bert(tinyConfig(), B, T, 0);
        int[] ids = randomIds(1, B * T, 0, V);
        ids[11] = V + 5;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, null, null, null, B, T));
        assertTrue(e.getMessage().contains("token id " + (V + 5)) && e.getMessage().contains("position 11")
                && e.getMessage().contains("vocab_size " + V), e.getMessage());
        ids[11] = -1;
        assertThrows(IllegalArgumentException.class, () -> m.forward(ids, null, null, null, B, T));
        ids[11] = 0;
        int[] labels = labels(2, new int[] {T, T}, T);
        labels[4] = V;
        IllegalArgumentException l = assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, null, null, labels, B, T));
        assertTrue(l.getMessage().contains("labels") && l.getMessage().contains("position 4"), l.getMessage());
    }

    @Test
    void tokenTypeOutOfRange() {
        Bert m = new Bert(tinyConfig(), B, T, 0);
        int[] ids = randomIds(1, B * T, 0, V), types = segments(B, T);
        types[9] = TT;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, types, null, null, B, T));
        assertTrue(e.getMessage().contains("token type " + TT) && e.getMessage().contains("position 9")
                && e.getMessage().contains("type_vocab_size " + TT), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.forward(ids, new int[3], null, null, B, T));
    }

    @Test
    void lengthsOutsideOneToT() {
        Bert m = new Bert(tinyConfig(), B, T, 0);
        int[] ids = randomIds(1, B * T, 0, V);
        for (int bad : new int[] {0, -1, T + 1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.forward(ids, null, new int[] {T, bad}, null, B, T));
            assertTrue(e.getMessage().contains("length " + bad + " of sequence 1") && e.getMessage().contains("[1, t = " + T + "]"),
                    e.getMessage());
        }
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
                () -> m.forward(ids, null, new int[] {T}, null, B, T));
        assertTrue(n.getMessage().contains("lengths"), n.getMessage());
    }

    @Test
    void batchShapeAndUnsupportedVariants() {
        Bert m = new Bert(tinyConfig(), B, T, 0);
        assertThrows(IllegalArgumentException.class, () -> m.forward(new int[(B + 1) * T], null, null, null, B + 1, T));
        assertThrows(IllegalArgumentException.class, () -> m.forward(new int[5], null, null, null, B, T));
        assertThrows(IllegalStateException.class, m::backward);
        m.forward(new int[B * T], null, null, null, B, T);
        assertThrows(IllegalStateException.class, m::backward, "no labels, no backward");
        IllegalArgumentException gelu = assertThrows(IllegalArgumentException.class,
                () -> new Bert(new BertConfig(V, H, 1, NH, I, "gelu_new", P, TT, 1e-12, Map.of()), 1, T, 0));
        assertTrue(gelu.getMessage().contains("hidden_act = gelu_new"), gelu.getMessage());
        IllegalArgumentException pos = assertThrows(IllegalArgumentException.class, () -> new Bert(
                new BertConfig(V, H, 1, NH, I, "gelu", P, TT, 1e-12, Map.of("position_embedding_type", "relative_key")), 1, T, 0));
        assertTrue(pos.getMessage().contains("relative_key"), pos.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Bert(
                new BertConfig(V, H, 1, NH, I, "gelu", P, TT, 1e-12, Map.of("tie_word_embeddings", false)), 1, T, 0));
        IllegalArgumentException pad = assertThrows(IllegalArgumentException.class, () -> new Bert(
                new BertConfig(V, H, 1, NH, I, "gelu", P, TT, 1e-12, Map.of("pad_token_id", V)), 1, T, 0));
        assertTrue(pad.getMessage().contains("pad_token_id = " + V), pad.getMessage());
    }
}
