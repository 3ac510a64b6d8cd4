package org.distillery.tokenize;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.BinaryOperator;

/**
 * Byte-pair-encoding merge learning (Sennrich, Haddow and Birch 2016, "Neural Machine Translation
 * of Rare Words with Subword Units", Algorithm 1) over words given as integer symbol sequences with
 * frequencies. Shared by {@link BpeTrainer} (symbols = bytes) and {@link WordPieceTrainer}
 * (symbols = characters).
 *
 * <ol>
 *   <li>Count every adjacent symbol pair over all words, weighted by word frequency (overlapping
 *       pairs count: {@code a a a} holds {@code (a,a)} twice).</li>
 *   <li>Take the most frequent pair {@code (a, b)}; ties go to the pair whose left symbol's key is
 *       smallest ({@link String#compareTo}), then the right symbol's key, then the smaller ids.</li>
 *   <li>Give {@code ab} the next id and key {@code join(key(a), key(b))}; in every word holding
 *       the pair, replace its occurrences left to right, non-overlapping, by {@code ab}.</li>
 *   <li>Repeat from 2 until {@code maxMerges} merges are made or no pair is left.</li>
 * </ol>
 *
 * <p>Efficiency: words are counted once (distinct words with frequencies), not per occurrence;
 * pair counts are updated incrementally, only for the words that hold the merged pair (found via
 * a pair-to-words index), and the best pair comes from a priority queue with lazy deletion (an
 * entry whose count is out of date is skipped when popped). {@link #learnNaive} recounts every
 * pair at every step: the slow reference the tests compare against.
 */
public final class BpeMergeLearner {
    private BpeMergeLearner() {}

    /**
     * The learned merges: merge {@code i} joins symbols {@code left[i]} and {@code right[i]} into
     * the new symbol {@code firstNewId + i}; {@code keys} holds every symbol's key, initial ones first.
     */
    public record Result(int[] left, int[] right, int firstNewId, List<String> keys) {
        /** Number of merges learned. */
        public int size() {
            return left.length;
        }
    }

    /**
     * Learns up to {@code maxMerges} merges.
     *
     * @param words symbol sequences, one per distinct word (each symbol in {@code [0, keys.size())});
     *     rewritten in place as merges are applied
     * @param freqs frequency of each word (>= 1)
     * @param keys one key per initial symbol, for tie-breaking; new symbols get {@code join(left, right)}
     * @param maxMerges how many merges at most (>= 0)
     */
    public static Result learn(int[][] words, long[] freqs, List<String> keys, BinaryOperator<String> join,
                               int maxMerges) {
        check(words, freqs, keys, maxMerges);
        List<String> allKeys = new ArrayList<>(keys);
        Map<Long, long[]> counts = new HashMap<>();
        Map<Long, IntList> where = new HashMap<>();
        for (int w = 0; w < words.length; w++) {
            int[] s = words[w];
            for (int i = 0; i + 1 < s.length; i++) {
                long p = pair(s[i], s[i + 1]);
                counts.computeIfAbsent(p, k -> new long[1])[0] += freqs[w];
                IntList list = where.computeIfAbsent(p, k -> new IntList());
                if (list.size == 0 || list.data[list.size - 1] != w) {
                    list.add(w);
                }
            }
        }
        PriorityQueue<Entry> queue = new PriorityQueue<>(Math.max(16, counts.size()), (x, y) -> compare(x, y, allKeys));
        for (Map.Entry<Long, long[]> e : counts.entrySet()) {
            queue.add(new Entry(e.getValue()[0], e.getKey()));
        }
        int[] seen = new int[words.length];
        IntList left = new IntList();
        IntList right = new IntList();
        int firstNewId = keys.size();
        while (left.size < maxMerges) {
            // Step 2: the best pair whose queued count is current.
            Entry best = null;
            while (!queue.isEmpty()) {
                Entry e = queue.poll();
                long[] c = counts.get(e.pair);
                if (c != null && c[0] == e.count && c[0] > 0) {
                    best = e;
                    break;
                }
            }
            if (best == null) {
                break;
            }
            int a = (int) (best.pair >>> 32);
            int b = (int) best.pair;
            int merged = allKeys.size();
            allKeys.add(join.apply(allKeys.get(a), allKeys.get(b)));
            left.add(a);
            right.add(b);
            // Step 3: rewrite the words holding (a, b), moving their pair counts.
            Set<Long> changed = new HashSet<>();
            IntList holders = where.remove(best.pair);
            int stamp = left.size;
            for (int k = 0; k < holders.size; k++) {
                int w = holders.data[k];
                if (seen[w] == stamp) {
                    continue;
                }
                seen[w] = stamp;
                int[] before = words[w];
                int[] after = applyMerge(before, a, b, merged);
                if (after == before) {
                    continue; // stale index entry: an earlier merge removed the pair from this word
                }
                addPairs(before, -freqs[w], counts, changed);
                addPairs(after, freqs[w], counts, changed);
                for (int i = 0; i + 1 < after.length; i++) {
                    if (after[i] == merged || after[i + 1] == merged) {
                        IntList list = where.computeIfAbsent(pair(after[i], after[i + 1]), x -> new IntList());
                        if (list.size == 0 || list.data[list.size - 1] != w) {
                            list.add(w);
                        }
                    }
                }
                words[w] = after;
            }
            for (long p : changed) {
                long[] c = counts.get(p);
                if (c[0] > 0) {
                    queue.add(new Entry(c[0], p));
                } else {
                    counts.remove(p);
                }
            }
        }
        return new Result(left.toArray(), right.toArray(), firstNewId, List.copyOf(allKeys));
    }

    /**
     * The naive reference: same rule and tie-break as {@link #learn}, but every step recounts all
     * pairs of all words (O(merges x total symbols)); for tests on small inputs.
     */
    public static Result learnNaive(int[][] words, long[] freqs, List<String> keys, BinaryOperator<String> join,
                                    int maxMerges) {
        check(words, freqs, keys, maxMerges);
        List<String> allKeys = new ArrayList<>(keys);
        IntList left = new IntList();
        IntList right = new IntList();
        while (left.size < maxMerges) {
            Map<Long, long[]> counts = new HashMap<>();
            for (int w = 0; w < words.length; w++) {
                addPairs(words[w], freqs[w], counts, null);
            }
            Entry best = null;
            for (Map.Entry<Long, long[]> e : counts.entrySet()) {
                Entry cand = new Entry(e.getValue()[0], e.getKey());
                if (best == null || compare(cand, best, allKeys) < 0) {
                    best = cand;
                }
            }
            if (best == null) {
                break;
            }
            int a = (int) (best.pair >>> 32);
            int b = (int) best.pair;
            int merged = allKeys.size();
            allKeys.add(join.apply(allKeys.get(a), allKeys.get(b)));
            left.add(a);
            right.add(b);
            for (int w = 0; w < words.length; w++) {
                words[w] = applyMerge(words[w], a, b, merged);
            }
        }
        return new Result(left.toArray(), right.toArray(), keys.size(), List.copyOf(allKeys));
    }

    /**
     * {@code symbols} with every occurrence of {@code (a, b)}, scanned left to right and not
     * overlapping, replaced by {@code merged}; the same array when there is none.
     */
    static int[] applyMerge(int[] symbols, int a, int b, int merged) {
        int[] out = null;
        int n = 0;
        for (int i = 0; i < symbols.length; i++) {
            if (i + 1 < symbols.length && symbols[i] == a && symbols[i + 1] == b) {
                if (out == null) {
                    out = new int[symbols.length - 1];
                    System.arraycopy(symbols, 0, out, 0, i);
                    n = i;
                }
                out[n++] = merged;
                i++;
            } else if (out != null) {
                out[n++] = symbols[i];
            }
        }
        return out == null ? symbols : Arrays.copyOf(out, n);
    }

    private static void addPairs(int[] s, long weight, Map<Long, long[]> counts, Set<Long> changed) {
        for (int i = 0; i + 1 < s.length; i++) {
            long p = pair(s[i], s[i + 1]);
            counts.computeIfAbsent(p, k -> new long[1])[0] += weight;
            if (changed != null) {
                changed.add(p);
            }
        }
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private record Entry(long count, long pair) {}

    /** Higher count first, then smaller left key, smaller right key, smaller ids. */
    private static int compare(Entry x, Entry y, List<String> keys) {
        if (x.count != y.count) {
            return Long.compare(y.count, x.count);
        }
        int xa = (int) (x.pair >>> 32);
        int ya = (int) (y.pair >>> 32);
        int c = keys.get(xa).compareTo(keys.get(ya));
        if (c != 0) {
            return c;
        }
        c = keys.get((int) x.pair).compareTo(keys.get((int) y.pair));
        return c != 0 ? c : Long.compare(x.pair, y.pair);
    }

    private static void check(int[][] words, long[] freqs, List<String> keys, int maxMerges) {
        if (words.length != freqs.length) {
            throw new IllegalArgumentException("words.length = " + words.length + " but freqs.length = "
                    + freqs.length + ": one frequency per word");
        }
        if (maxMerges < 0) {
            throw new IllegalArgumentException("maxMerges = " + maxMerges + ": must be >= 0");
        }
        for (int w = 0; w < words.length; w++) {
            if (freqs[w] < 1) {
                throw new IllegalArgumentException("freqs[" + w + "] = " + freqs[w] + ": must be >= 1");
            }
            for (int s : words[w]) {
                if (s < 0 || s >= keys.size()) {
                    throw new IllegalArgumentException("words[" + w + "] holds symbol " + s
                            + ": symbols must be in [0, " + keys.size() + ")");
                }
            }
        }
    }

    /** A growable int array. */
    private static final class IntList {
        int[] data = new int[4];
        int size;

        void add(int v) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
