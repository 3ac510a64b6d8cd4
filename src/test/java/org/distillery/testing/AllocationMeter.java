package org.distillery.testing;

import java.lang.management.ManagementFactory;

/** Heap bytes allocated by the current thread (HotSpot's per-thread counter), for allocation tests. */
public final class AllocationMeter {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private AllocationMeter() {}

    /** Bytes allocated so far by the calling thread. */
    public static long allocated() {
        return THREADS.getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    /** Bytes one reading itself allocates (the minimum of 5), to subtract from every measurement. */
    public static long overhead() {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long a = allocated();
            min = Math.min(min, allocated() - a);
        }
        return min;
    }

    /** Steady-state heap bytes per run of {@code r}: the minimum over 8 rounds of {@code warm} runs then {@code measured} measured ones. */
    public static long bytesPerRun(Runnable r, int warm, int measured) {
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 8; round++) {
            for (int i = 0; i < warm; i++) r.run();
            long before = allocated();
            for (int i = 0; i < measured; i++) r.run();
            best = Math.min(best, (allocated() - before) / measured);
        }
        return best;
    }

    /**
     * Heap bytes of 100 runs of {@code step} after warm-up: rounds of 2,000 warm-up runs then 100 measured ones
     * (the reading's own overhead subtracted), repeated until a round allocates nothing or 40 rounds have run.
     */
    public static long bytesPer100AfterWarmUp(Runnable step) {
        long perRound = -1;
        for (int round = 0; round < 40 && perRound != 0; round++) {
            for (int i = 0; i < 2000; i++) step.run();
            long overhead = overhead();
            long before = allocated();
            for (int i = 0; i < 100; i++) step.run();
            perRound = allocated() - before - overhead;
        }
        return perRound;
    }
}
