package org.distillery.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link GapRecovery} against values worked by hand. */
class GapRecoveryTest {
    private static final double TOL = 1e-12;

    @Test
    void aLargeGapGivesTheChangeAndTheFractionRecoveredPerSeed() {
        // reference 10; seeds: 12 -> 11 (half the gap), 13 -> 12.4 (a fifth), 11.5 -> 11.8 (worse by a fifth)
        GapRecovery g = GapRecovery.of(10, new double[] {12, 13, 11.5}, new double[] {11, 12.4, 11.8});
        assertEquals(100 * (12.166666666666666 / 10 - 1), g.gapPercent(), TOL);
        assertArrayEquals(new double[] {-10, -6, 3}, g.changes(), TOL);
        assertArrayEquals(new double[] {50, 20, -20}, g.recovered(), TOL);
        assertTrue(g.hasRecovered());
        assertEquals(50.0 / 3, g.recoveredPercent().mean(), TOL);
        assertEquals(3, g.recoveredPercent().n());
        assertEquals(-13.0 / 3, g.changePercent().mean(), TOL);
    }

    @Test
    void underOnePercentOfGapTheFractionIsNotGivenButTheChangeIs() {
        // notebook 20's GPTQ per-channel 4-bit rows: a gap of 0.05 % made per-seed fractions of -4251 % and +114 %
        double ref = 9.5129;
        double[] before = {9.5172, 9.5176, 9.5172}, after = {9.5267, 9.5380, 9.5167};
        GapRecovery g = GapRecovery.of(ref, before, after);
        assertFalse(g.hasRecovered());
        assertNull(g.recoveredPercent());
        assertNull(g.recovered());
        assertEquals(100 * ((9.5172 * 2 + 9.5176) / 3 / ref - 1), g.gapPercent(), TOL);
        assertEquals(100 * (9.5380 - 9.5176) / ref, g.changes()[1], TOL);
    }

    @Test
    void theBoundaryIsOnePercentAndEverySeedMustBeAboveTheReference() {
        assertTrue(GapRecovery.of(100, new double[] {101}, new double[] {100.5}).hasRecovered());
        assertFalse(GapRecovery.of(100, new double[] {100.99}, new double[] {100.5}).hasRecovered());
        // mean gap 2 %, but one seed's method alone is below the reference: its fraction would divide by a negative gap
        assertFalse(GapRecovery.of(100, new double[] {104.5, 99.5}, new double[] {102, 99}).hasRecovered());
    }

    @Test
    void badInputIsRefusedNamingTheArgument() {
        assertEquals("reference: must be a finite perplexity > 0 but was 0.0",
                assertThrows(IllegalArgumentException.class, () -> GapRecovery.of(0, new double[] {1}, new double[] {1})).getMessage());
        assertEquals("before, after: need one perplexity per seed each, at least one, but got 2 and 1",
                assertThrows(IllegalArgumentException.class, () -> GapRecovery.of(9, new double[] {10, 11}, new double[] {10}))
                        .getMessage());
        assertEquals("seed 1: perplexities must be finite but were NaN before and 10.0 after",
                assertThrows(IllegalArgumentException.class,
                        () -> GapRecovery.of(9, new double[] {10, Double.NaN}, new double[] {10, 10})).getMessage());
    }
}
