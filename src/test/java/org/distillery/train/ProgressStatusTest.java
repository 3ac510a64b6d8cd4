package org.distillery.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressStatusTest {
    @Test
    void throughputAndEtaFollowFromStepsTokensAndTime() {
        // 50 of 200 steps, 1000 tokens a step, in 10 s: 5000 tok/s; ETA = 10 s / 50 * 150 = 30 s
        ProgressStatus s = ProgressStatus.of("train", 50, 200, 2.5, 50 * 1000L, 10_000_000_000L);
        assertEquals(5000.0, s.tokensPerSecond(), 1e-9);
        assertEquals(Duration.ofSeconds(30), s.eta());
        assertEquals(0.25, s.fraction());
        assertEquals("train: step 50/200 (25%) | loss 2.5000 | 5,000 tok/s | 0:10 elapsed | ETA 0:30", s.text());
    }

    @Test
    void beforeTheFirstStepThereIsNoEtaOrLoss() {
        ProgressStatus s = ProgressStatus.of("t", 0, 10, Double.NaN, 0, 0);
        assertNull(s.eta());
        assertEquals("t: step 0/10 (0%) | loss - | 0 tok/s | 0:00 elapsed | ETA -", s.text());
    }

    @Test
    void clockShowsHoursOnlyWhenNeeded() {
        assertEquals("1:05", ProgressStatus.clock(Duration.ofSeconds(65)));
        assertEquals("2:00:07", ProgressStatus.clock(Duration.ofSeconds(7207)));
    }

    @Test
    void htmlEscapesTheTaskName() {
        String html = ProgressStatus.of("a<b", 1, 2, 1.0, 10, 1_000_000_000L).html();
        assertEquals("<div class=\"distillery-progress\" style=\"font-family:monospace\"><progress value=\"1\" "
                + "max=\"2\" style=\"width:300px\"></progress> a&lt;b: step 1/2 (50%) | loss 1.0000 | 10 tok/s "
                + "| 0:01 elapsed | ETA 0:01</div>", html);
    }

    @Test
    void rejectsBadSteps() {
        assertEquals("step 11 is outside [0, 10]", assertThrows(IllegalArgumentException.class,
                () -> ProgressStatus.of("t", 11, 10, 0, 0, 0)).getMessage());
        assertEquals("total steps must be > 0, got 0", assertThrows(IllegalArgumentException.class,
                () -> ProgressStatus.of("t", 0, 0, 0, 0, 0)).getMessage());
    }
}
