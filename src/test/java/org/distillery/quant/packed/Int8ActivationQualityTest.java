package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.CausalLm;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

/**
 * {@link Int8ActivationQuality#compare}: against closed forms on models with fixed logits, zero for a model against
 * itself, and on a small packed GPT with int8 activations a small positive KL.
 */
class Int8ActivationQualityTest {
    private static final int V = 4;

    /** A model whose logits are the same at every position: {@code row}. */
    private static CausalLm fixed(float... row) {
        return new CausalLm() {
            private final FloatTensor out = FloatTensor.zeros(Int8ActivationQuality.WINDOW, V);

            @Override
            public int maxBatch() { return 1; }

            @Override
            public int maxSequenceLength() { return Int8ActivationQuality.WINDOW; }

            @Override
            public int vocabSize() { return V; }

            @Override
            public FloatTensor logits(int[] ids, int b, int t) {
                float[] a = new float[b * t * V];
                for (int p = 0; p < b * t; p++) System.arraycopy(row, 0, a, p * V, V);
                return out.copyFrom(a);
            }
        };
    }

    @Test
    void matchesTheClosedForms() {
        // exact: uniform over 4 tokens; other: token 2 has probability e / (e + 3)
        int[] text = {0, 1, 2, 3, 2, 2, 1, 0, 2, 3, 1, 2};
        Int8ActivationQuality.Result r = Int8ActivationQuality.compare(fixed(0, 0, 0, 0), fixed(0, 0, 1, 0), text, 5);
        double z = Math.E + 3, kl = 0;
        for (double q : new double[] {1 / z, 1 / z, Math.E / z, 1 / z}) kl += 0.25 * Math.log(0.25 / q);
        assertEquals(5 * Int8ActivationQuality.WINDOW, r.positions());
        assertEquals(kl, r.kl(), 1e-12);
        assertEquals(4.0, r.perplexity(), 1e-12);                       // uniform: perplexity V
        // the true next tokens of the windows compared: start (97 w) mod (12 - 3), then 3 tokens each
        double ce = 0;
        for (int w = 0; w < 5; w++) {
            int s = 97 * w % (text.length - Int8ActivationQuality.WINDOW);
            for (int t = 0; t < Int8ActivationQuality.WINDOW; t++) ce -= Math.log(text[s + t + 1] == 2 ? Math.E / z : 1 / z);
        }
        assertEquals(Math.exp(ce / r.positions()), r.otherPerplexity(), 1e-12);
        // ties go to the lowest token: exact picks 0, other picks 2
        assertEquals(0.0, r.top1Agreement());
    }

    @Test
    void aModelAgainstItselfAndWithInt8Activations() {
        Gpt gpt = PackedGptTest.tinyGpt(4, 128);
        PackedGpt exact = PackedGpt.quantize(gpt, PackedFormat.INT4, 64);
        int[] text = new int[500];
        Random rnd = new Random(3);
        for (int i = 0; i < text.length; i++) text[i] = rnd.nextInt(256);
        Int8ActivationQuality.Result same = Int8ActivationQuality.compare(exact, exact, text, 40);
        assertEquals(0.0, same.kl());
        assertEquals(1.0, same.top1Agreement());
        assertEquals(same.perplexity(), same.otherPerplexity());
        Int8ActivationQuality.Result a8 = Int8ActivationQuality.compare(exact, exact.withInt8Activations(), text, 40);
        System.out.printf("tiny GPT, int4 g64 with int8 activations: KL %.2e, top-1 agreement %.3f, perplexity %+.3f %%%n",
                a8.kl(), a8.top1Agreement(), 100 * a8.perplexityChange());
        assertTrue(a8.kl() > 0 && a8.kl() < 0.01, "KL " + a8.kl());
        assertTrue(a8.top1Agreement() > 0.8, "top-1 agreement " + a8.top1Agreement());
        assertTrue(Math.abs(a8.perplexityChange()) < 0.05, "perplexity change " + a8.perplexityChange());
    }

    @Test
    void refusesBadInput() {
        int[] text = new int[20];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Int8ActivationQuality.compare(fixed(0, 0, 0, 0), fixed(0, 0, 0, 0), text, 0));
        assertEquals("windows: 0, need at least 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Int8ActivationQuality.compare(fixed(0, 0, 0, 0), fixed(0, 0, 0, 0), new int[7], 1));
        assertEquals("tokens: need at least 8, got 7", e.getMessage());
    }
}
