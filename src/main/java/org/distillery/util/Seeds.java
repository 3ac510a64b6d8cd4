package org.distillery.util;

/** Deriving independent seeds from a seed and an index, so that randomness stays explicit and reproducible. */
public final class Seeds {
    private Seeds() {}

    /**
     * SplitMix64's finaliser over {@code a * golden + b}: well-spread, distinct seeds for neighbouring
     * indices {@code b} (e.g. one per forward call, per dropout site, per batch window).
     */
    public static long mix(long a, long b) {
        return finalise(a * GOLDEN + b);
    }

    /** The golden-ratio increment of SplitMix64's state, 2^64 / phi. */
    public static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /** Where {@link #hash} chains start. */
    private static final long HASH_START = 0x243F6A8885A308D3L;

    /** A 64-bit hash of {@code values}: {@link #mix} chained over the elements (for data fingerprints). */
    public static long hash(int[] values) {
        long h = HASH_START;
        for (int x : values) h = mix(h, x);
        return h;
    }

    /** A 64-bit hash of {@code values} by their raw float bits, as {@link #hash(int[])}. */
    public static long hash(float[] values) {
        long h = HASH_START;
        for (float x : values) h = mix(h, Float.floatToRawIntBits(x));
        return h;
    }

    /** SplitMix64's output function (a bijection of 64-bit values with good avalanche). */
    public static long finalise(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
