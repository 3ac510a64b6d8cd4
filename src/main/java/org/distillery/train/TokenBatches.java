package org.distillery.train;

import org.distillery.util.Seeds;

import java.util.SplittableRandom;

/**
 * Random training windows from one token stream, as a pure function of (seed, window index): window i
 * starts at {@code new SplittableRandom(Seeds.mix(seed, i)).nextInt(N - T)} and holds T + 1 tokens, the T
 * inputs and the T targets shifted by one. A batch is B consecutive window indices, so batch k of a run
 * is windows [k*B, (k+1)*B) and a resumed run draws exactly the batches it would have drawn, without
 * replaying the earlier ones. Micro-batches of B/2 over twice as many indices see the same windows as
 * the full batch.
 */
public final class TokenBatches {
    private final int[] tokens;
    private final int seqLen;
    private final long seed;

    /**
     * @param tokens the token stream (not copied; must not change), length &gt;= seqLen + 1
     * @param seqLen T, the window's input length, &gt;= 1
     * @param seed   the sampling seed
     */
    public TokenBatches(int[] tokens, int seqLen, long seed) {
        if (tokens == null) throw new IllegalArgumentException("tokens: must not be null");
        if (seqLen < 1) throw new IllegalArgumentException("seqLen: must be >= 1 but was " + seqLen);
        if (tokens.length < seqLen + 1L) {
            throw new IllegalArgumentException("tokens: the stream has " + tokens.length + " tokens but a window of"
                    + " seqLen + 1 = " + (seqLen + 1L) + " is needed (inputs plus the shifted targets)");
        }
        this.tokens = tokens;
        this.seqLen = seqLen;
        this.seed = seed;
    }

    public int seqLen() { return seqLen; }

    public long seed() { return seed; }

    /** The start offset of window {@code index} in the stream, in [0, N - T - 1]. */
    public int windowStart(long index) {
        if (index < 0) throw new IllegalArgumentException("index: must be >= 0 but was " + index);
        return new SplittableRandom(Seeds.mix(seed, index)).nextInt(tokens.length - seqLen);
    }

    /**
     * Fills {@code b} windows, indices [firstWindow, firstWindow + b), into row-major arrays: row r's
     * token t is {@code inputs[r*T + t] = tokens[start + t]}, {@code targets[r*T + t] = tokens[start + t + 1]}.
     *
     * @param firstWindow index of the first window, &gt;= 0
     * @param b           number of windows, &gt;= 1
     * @param inputs      [b*T] output
     * @param targets     [b*T] output
     */
    public void fill(long firstWindow, int b, int[] inputs, int[] targets) {
        if (firstWindow < 0) throw new IllegalArgumentException("firstWindow: must be >= 0 but was " + firstWindow);
        if (b < 1) throw new IllegalArgumentException("b: must be >= 1 but was " + b);
        long n = (long) b * seqLen;
        if (inputs == null || inputs.length != n) {
            throw new IllegalArgumentException("inputs: length must be b*T = " + n + " but was "
                    + (inputs == null ? "null" : inputs.length));
        }
        if (targets == null || targets.length != n) {
            throw new IllegalArgumentException("targets: length must be b*T = " + n + " but was "
                    + (targets == null ? "null" : targets.length));
        }
        for (int r = 0; r < b; r++) {
            int start = windowStart(firstWindow + r);
            System.arraycopy(tokens, start, inputs, r * seqLen, seqLen);
            System.arraycopy(tokens, start + 1, targets, r * seqLen, seqLen);
        }
    }

}
