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
}
