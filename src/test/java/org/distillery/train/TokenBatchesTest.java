package org.distillery.train;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** Windows are a pure function of (seed, index), targets are the inputs shifted by one. */
class TokenBatchesTest {

    private static int[] ramp(int n) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = i;
        return x;
    }

    @Test
    void targetsAreShiftedInputsAndWindowsFit() {
        int n = 50, t = 7, b = 5;
        TokenBatches tb = new TokenBatches(ramp(n), t, 3);
        int[] in = new int[b * t], tg = new int[b * t];
        for (long k = 0; k < 40; k++) {
            tb.fill(k * b, b, in, tg);
            for (int r = 0; r < b; r++) {
                int start = in[r * t];
                assertTrue(start >= 0 && start + t <= n - 1, "window " + start + " fits");
                for (int j = 0; j < t; j++) {
                    assertEquals(start + j, in[r * t + j]);
                    assertEquals(start + j + 1, tg[r * t + j]);
                }
            }
        }
    }

    @Test
    void deterministicResumableAndSplittable() {
        int t = 4;
        int[] tokens = ramp(1000);
        TokenBatches a = new TokenBatches(tokens, t, 42), c = new TokenBatches(tokens, t, 42);
        int[] in8 = new int[8 * t], tg8 = new int[8 * t], in4 = new int[4 * t], tg4 = new int[4 * t];
        a.fill(80, 8, in8, tg8);                      // batch 10 of B = 8, drawn directly
        c.fill(84, 4, in4, tg4);                      // its second half, from a fresh instance
        assertArrayEquals(Arrays.copyOfRange(in8, 4 * t, 8 * t), in4);
        assertArrayEquals(Arrays.copyOfRange(tg8, 4 * t, 8 * t), tg4);
        int[] other = new int[8 * t];
        new TokenBatches(tokens, t, 43).fill(80, 8, other, new int[8 * t]);
        assertFalse(Arrays.equals(in8, other), "another seed draws other windows");
    }

    @Test
    void shortStreamAndBadArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TokenBatches(new int[8], 8, 0));
        assertTrue(e.getMessage().contains("has 8 tokens but a window of seqLen + 1 = 9 is needed"), e.getMessage());
        new TokenBatches(new int[9], 8, 0).windowStart(0);      // exactly T + 1 is enough
        assertEquals(0, new TokenBatches(new int[9], 8, 0).windowStart(123));
        assertThrows(IllegalArgumentException.class, () -> new TokenBatches(new int[9], 0, 0));
        TokenBatches tb = new TokenBatches(new int[20], 4, 0);
        assertThrows(IllegalArgumentException.class, () -> tb.fill(-1, 1, new int[4], new int[4]));
        assertThrows(IllegalArgumentException.class, () -> tb.fill(0, 2, new int[4], new int[8]));
    }
}
