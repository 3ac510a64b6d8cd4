package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The memoized reference: same logits as the model, computed once per batch, same comparison bit for bit. */
class MemoizedCausalLmTest {

    private static int[] tokens(long seed, int n, int vocab) {
        Random r = new Random(seed);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(vocab);
        return x;
    }

    @Test
    void returnsTheModelsLogitsAndRunsItOncePerBatch() {
        Gpt g = new Gpt(Gpt2Config.of(40, 16, 16, 2, 2), 4, 16, 3);
        MemoizedCausalLm m = MemoizedCausalLm.of(CausalLm.of(g));
        int[] a = tokens(1, 3 * 16, 40), b = tokens(2, 3 * 16, 40);
        float[] expectA = CausalLm.of(g).logits(a, 3, 16).toFloatArray();
        float[] expectB = CausalLm.of(g).logits(b, 3, 16).toFloatArray();

        FloatTensor first = m.logits(a, 3, 16);
        assertArrayEquals(expectA, first.toFloatArray());
        assertEquals(1, m.computed());
        assertArrayEquals(expectB, m.logits(b, 3, 16).toFloatArray());   // overwrites the model's live buffer
        assertArrayEquals(expectA, first.toFloatArray(), "a stored copy, not the model's buffer");
        assertSame(first, m.logits(a.clone(), 3, 16));
        assertArrayEquals(expectA, m.logits(a, 3, 16).toFloatArray());
        assertEquals(2, m.computed());
        assertEquals(2, m.reused());
        m.logits(Arrays.copyOf(a, 4 * 12), 4, 12);                       // same leading ids, another shape: another batch
        assertEquals(3, m.computed());
    }

    @Test
    void aComparisonAgainstTheMemoizedReferenceIsBitIdenticalEveryTime() {
        Gpt reference = new Gpt(Gpt2Config.of(40, 16, 16, 2, 2), 4, 16, 5);
        Gpt other = new Gpt(Gpt2Config.of(40, 16, 16, 2, 2), 4, 16, 6);
        int[] text = tokens(3, 200, 40);
        Perplexity.Comparison plain = Perplexity.compare(reference, other, text, 16, 4);
        MemoizedCausalLm memo = MemoizedCausalLm.of(CausalLm.of(reference));
        for (int pass = 0; pass < 2; pass++) {
            Perplexity.Comparison c = Perplexity.compare(memo, CausalLm.of(other), text, 16, 4);
            assertEquals(plain.model().perplexity(), c.model().perplexity(), 0.0, "pass " + pass);
            assertEquals(plain.reference().perplexity(), c.reference().perplexity(), 0.0, "pass " + pass);
            assertEquals(plain.meanKl(), c.meanKl(), 0.0, "pass " + pass);
        }
        long batches = memo.computed();
        assertTrue(batches >= 4, "200 tokens in windows of 16, 4 a batch: " + batches);
        assertEquals(batches, memo.reused(), "the second pass ran the reference on nothing");
    }

    @Test
    void refusesNull() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemoizedCausalLm.of(null));
        assertEquals("model: must not be null", e.getMessage());
    }
}
