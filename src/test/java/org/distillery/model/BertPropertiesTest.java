package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.distillery.model.BertTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Padding, bidirectionality, defaults, batch shapes, the padding index and the encoder output. */
class BertPropertiesTest {

    /** Changing padded tokens (ids and types) leaves every real token's logits bit-identical. */
    @Test
    void paddedTokensDoNotChangeRealTokens() {
        Bert m = new Bert(tinyConfig(), B, T, 2);
        randomise(m, 3);
        int[] ids = randomIds(4, B * T, 1, V), types = segments(B, T);
        m.forward(ids, types, LENGTHS, null, B, T);
        float[] before = floats(m.logits());
        for (int p = LENGTHS[1]; p < T; p++) {
            ids[T + p] = (ids[T + p] + 7) % V;
            types[T + p] = 1 - types[T + p];
        }
        m.forward(ids, types, LENGTHS, null, B, T);
        float[] after = floats(m.logits());
        double padChange = 0;
        for (int s = 0; s < B; s++) {
            for (int p = 0; p < T; p++) {
                for (int v = 0; v < V; v++) {
                    int i = (s * T + p) * V + v;
                    if (p < LENGTHS[s]) {
                        assertEquals(Float.floatToRawIntBits(before[i]), Float.floatToRawIntBits(after[i]),
                                "real token " + s + "/" + p + " logit " + v);
                    } else {
                        padChange = Math.max(padChange, Math.abs(before[i] - after[i]));
                    }
                }
            }
        }
        System.out.printf("padding property: real tokens bit-identical, padded positions changed by up to %.3e%n", padChange);
        assertTrue(padChange > 1e-3, "padded queries are computed (they see the real tokens and themselves as input)");
    }

    @Test
    void attentionIsBidirectional() {
        Bert m = new Bert(tinyConfig(), 1, T, 2);
        randomise(m, 3);
        int[] ids = randomIds(5, T, 1, V);
        m.forward(ids, null, null, null, 1, T);
        float[] before = floats(m.logits());
        ids[T - 1] = (ids[T - 1] + 1) % V;
        m.forward(ids, null, null, null, 1, T);
        double earlier = 0;
        for (int i = 0; i < (T - 1) * V; i++) earlier = Math.max(earlier, Math.abs(before[i] - m.logits().get(i)));
        assertTrue(earlier > 1e-3, "changing the last token changes earlier logits: " + earlier);
    }

    @Test
    void nullTokenTypesAndLengthsMeanZerosAndFullLength() {
        Bert m = new Bert(tinyConfig(), B, T, 2);
        randomise(m, 6);
        int[] ids = randomIds(7, B * T, 0, V), labels = labels(8, new int[] {T, T}, T);
        double a = m.forward(ids, null, null, labels, B, T);
        float[] la = floats(m.logits());
        double b = m.forward(ids, new int[B * T], new int[] {T, T}, labels, B, T);
        assertEquals(a, b, 0.0);
        assertArrayEquals(la, floats(m.logits()));
        // token types matter
        m.forward(ids, segments(B, T), null, labels, B, T);
        assertFalse(java.util.Arrays.equals(la, floats(m.logits())));
    }

    @Test
    void smallerBatchShapesMatchTheFullShape() {
        Bert m = new Bert(tinyConfig(), B, T, 9);
        randomise(m, 10);
        int[] ids = randomIds(3, B * T, 1, V), types = segments(B, T);
        m.forward(ids, types, LENGTHS, null, B, T);
        float[] full = floats(m.logits());
        // the second sequence alone, cut to its real length: same logits at its real positions
        int t = LENGTHS[1];
        int[] one = new int[t], oneTypes = new int[t];
        System.arraycopy(ids, T, one, 0, t);
        System.arraycopy(types, T, oneTypes, 0, t);
        m.forward(one, oneTypes, null, null, 1, t);
        for (int i = 0; i < t * V; i++) {
            assertEquals(full[T * V + i], m.logits().get(i), 1e-5f, "padded vs unpadded logits, element " + i);
        }
    }

    /** The encoder output: [B*T, H], LayerNorm-ed (gain 1, bias 0 at init), the input of the MLM head. */
    @Test
    void lastHiddenStateIsTheEncoderOutput() {
        Bert m = new Bert(tinyConfig(), B, T, 11);
        int[] ids = randomIds(12, B * T, 0, V);
        m.forward(ids, null, LENGTHS, null, B, T);
        FloatTensor h = m.lastHiddenState();
        assertEquals(B * T, h.rows());
        assertEquals(H, h.cols());
        for (int r = 0; r < B * T; r++) {
            double mean = 0, sq = 0;
            for (int c = 0; c < H; c++) mean += h.get(r * H + c);
            mean /= H;
            for (int c = 0; c < H; c++) sq += Math.pow(h.get(r * H + c) - mean, 2);
            assertEquals(0, mean, 1e-5, "row " + r + " mean");
            assertEquals(1, sq / H, 1e-4, "row " + r + " variance");
        }
        float[] before = floats(h);
        m.parameters().get("cls.predictions.transform.dense.weight").set(0, 5f);
        m.forward(ids, null, LENGTHS, null, B, T);
        assertArrayEquals(before, floats(m.lastHiddenState()), "the head does not feed back into the encoder");
    }

    /**
     * HF {@code padding_idx}: the pad_token_id row of the word embeddings is 0 at init and gets no lookup
     * gradient, only the tied decoder's; without a padding index (pad_token_id null) it gets both, matching
     * finite differences. Other rows are unaffected.
     */
    @Test
    void paddingIndexRowGetsOnlyTheDecoderGradient() {
        Map<String, Object> noPad = new HashMap<>();
        noPad.put("pad_token_id", null);
        BertConfig cfgNoPad = new BertConfig(V, H, L, NH, I, "gelu", P, TT, 1e-12, noPad);
        Bert withPad = new Bert(tinyConfig(), B, T, 13), without = new Bert(cfgNoPad, B, T, 13);
        assertEquals(0, withPad.paddingIndex());
        assertEquals(-1, without.paddingIndex());
        String we = "bert.embeddings.word_embeddings.weight";
        for (int j = 0; j < H; j++) assertEquals(0f, withPad.parameters().get(we).get(j), "pad row zero at init");
        randomise(withPad, 14);
        randomise(without, 14);
        int[] ids = randomIds(15, B * T, 0, V), types = segments(B, T), labels = labels(16, LENGTHS, T);
        ids[2] = 0;                                                           // the pad id at real positions
        ids[T + 1] = 0;
        for (Bert m : new Bert[] {withPad, without}) {
            m.zeroGrad();
            m.forward(ids, types, LENGTHS, labels, B, T);
            m.backward();
        }
        FloatTensor gPad = withPad.gradients().get(we), gFull = without.gradients().get(we);
        double rowDiff = 0;
        for (int j = 0; j < H; j++) rowDiff = Math.max(rowDiff, Math.abs(gPad.get(j) - gFull.get(j)));
        assertTrue(rowDiff > 1e-3, "the lookup gradient of row 0 is left out: " + rowDiff);
        for (int i = H; i < V * H; i++) assertEquals(gFull.get(i), gPad.get(i), 0f, "row " + i / H);
        // the full gradient is the derivative of the loss
        FloatTensor p = without.parameters().get(we);
        float h = 1e-2f;
        for (int j = 0; j < 3; j++) {
            float orig = p.get(j);
            p.set(j, orig + h);
            double lp = without.forward(ids, types, LENGTHS, labels, B, T);
            p.set(j, orig - h);
            double lm = without.forward(ids, types, LENGTHS, labels, B, T);
            p.set(j, orig);
            double fd = (lp - lm) / (2 * h);
            assertEquals(fd, gFull.get(j), 1e-2 * Math.abs(fd) + 1e-4, "row 0 element " + j);
        }
    }
}
