package org.distillery.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SeedsTest {
    /** The JDK's SplittableRandom(s).nextLong() is SplitMix64: finalise(s + golden). */
    @Test
    void finaliseIsSplitMix64AsTheJdkComputesIt() {
        for (long s : new long[] {0, 1, -1, 42, Long.MAX_VALUE, 0x243F6A8885A308D3L}) {
            assertEquals(new SplittableRandom(s).nextLong(), Seeds.finalise(s + Seeds.GOLDEN), "seed " + s);
        }
    }

    @Test
    void mixIsTheFinaliserOfAGoldenStepPlusTheIndex() {
        // mix(a, b) = finalise(a * golden + b); with a = 1 and b = 0 that is SplittableRandom(0).nextLong()
        assertEquals(new SplittableRandom(0).nextLong(), Seeds.mix(1, 0));
        assertEquals(Seeds.finalise(7 * Seeds.GOLDEN + 3), Seeds.mix(7, 3));
    }
}
