package org.distillery.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The schedule against its closed form at warm-up, warm-up end, decay midpoint and end. */
class LrScheduleTest {

    @Test
    void valuesMatchTheClosedForm() {
        LrSchedule s = new LrSchedule(1e-3, 1e-4, 10, 110);
        assertEquals(1e-4, s.lr(1), 1e-18, "warm-up step 1: max * 1/10");
        assertEquals(5e-4, s.lr(5), 1e-18, "warm-up step 5: max * 5/10");
        assertEquals(1e-3, s.lr(10), 0, "warm-up end: max");
        assertEquals(5.5e-4, s.lr(60), 1e-18, "decay midpoint: (max + min) / 2");
        double quarter = 1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25));
        assertEquals(quarter, s.lr(35), 1e-18, "a quarter into the decay");
        assertEquals(1e-4, s.lr(110), 0, "end: min");
        assertEquals(1e-4, s.lr(500), 0, "after the end: min");
        for (int k = 11; k <= 110; k++) assertTrue(s.lr(k) <= s.lr(k - 1), "monotone decay at step " + k);
    }

    @Test
    void noWarmupAndWarmupOnly() {
        LrSchedule none = new LrSchedule(2.0, 0.0, 0, 4);
        assertEquals(2.0, none.lr(0), 0);
        assertEquals(1.0, none.lr(2), 1e-15);
        assertEquals(0.0, none.lr(4), 0);
        LrSchedule only = new LrSchedule(2.0, 1.0, 4, 4);
        assertEquals(1.0, only.lr(2), 0);
        assertEquals(2.0, only.lr(4), 0);
    }

    @Test
    void badArgumentsNameTheArgumentAndRange() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 0, 11, 10)).getMessage()
                .contains("warmupSteps: must be in [0, totalSteps = 10] but was 11"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 2, 0, 10)).getMessage()
                .contains("minLr: must be in [0, maxLr = 1.0] but was 2.0"));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 0, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 0, 0, 10).lr(-1));
    }
}
