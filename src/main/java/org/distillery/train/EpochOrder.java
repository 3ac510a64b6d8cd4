package org.distillery.train;

import java.util.SplittableRandom;
import org.distillery.util.Seeds;

/**
 * The order in which a training loop visits n examples, in epochs: epoch e is a permutation of 0..n-1
 * (Fisher-Yates from {@code new SplittableRandom(Seeds.mix(seed, e))}), and slot p of the run is example
 * {@code perm_{p / n}[p mod n]}. A pure function of (n, seed, p), so a resumed run sees the same examples.
 */
public final class EpochOrder {
    private final int n;
    private final long seed;
    private long permEpoch = -1;
    private final int[] perm;             // [n], the permutation of epoch permEpoch

    /**
     * @param n    number of examples, &gt;= 1
     * @param seed order seed
     */
    public EpochOrder(int n, long seed) {
        if (n < 1) throw new IllegalArgumentException("n: must be >= 1 but was " + n);
        this.n = n;
        this.seed = seed;
        this.perm = new int[n];
    }

    /** The example at slot {@code p} (&gt;= 0) of the run. */
    public int at(long p) {
        long epoch = p / n;
        if (epoch != permEpoch) {
            for (int i = 0; i < n; i++) perm[i] = i;
            SplittableRandom rnd = new SplittableRandom(Seeds.mix(seed, epoch));
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            permEpoch = epoch;
        }
        return perm[(int) (p % n)];
    }
}
