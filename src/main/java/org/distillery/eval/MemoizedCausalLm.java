package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link CausalLm} that remembers the logits of every batch it has computed, for a model that does not change
 * (the float reference of a sweep, scored against many quantized or pruned copies on the same windows): the second
 * time the same ids come, the stored copy is returned instead of running the model again.
 *
 * <p>Memory: one float32 copy of every distinct batch's logits, {@code b*t*V*4} bytes each (32,768 tokens of a
 * 256-symbol vocabulary: 32 MiB). The wrapped model must not be modified while this is in use; nothing checks it.
 */
public final class MemoizedCausalLm implements CausalLm {
    private final CausalLm model;
    private final Map<Key, FloatTensor> stored = new HashMap<>();
    private long computed, reused;

    private MemoizedCausalLm(CausalLm model) {
        this.model = model;
    }

    /** Wraps {@code model} (which must stay unchanged while the wrapper is used). */
    public static MemoizedCausalLm of(CausalLm model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        return new MemoizedCausalLm(model);
    }

    @Override
    public int maxBatch() { return model.maxBatch(); }

    @Override
    public int maxSequenceLength() { return model.maxSequenceLength(); }

    @Override
    public int vocabSize() { return model.vocabSize(); }

    /**
     * The logits of the batch, computed once per distinct (ids, b, t).
     *
     * @return [b*t, V], a stored copy: callers must not write to it
     */
    @Override
    public synchronized FloatTensor logits(int[] ids, int b, int t) {
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        Key key = new Key(ids.clone(), b, t);
        FloatTensor hit = stored.get(key);
        if (hit != null) {
            reused++;
            return hit;
        }
        FloatTensor live = model.logits(ids, b, t);                    // [b*t, V], the model's own buffer
        FloatTensor copy = FloatTensor.wrap(live.nd().dup('c'));
        stored.put(key, copy);
        computed++;
        return copy;
    }

    /** Batches the wrapped model was run on. */
    public synchronized long computed() { return computed; }

    /** Calls answered from the stored logits. */
    public synchronized long reused() { return reused; }

    @Override
    public String toString() { return model + " (memoized)"; }

    private record Key(int[] ids, int b, int t) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.b == b && k.t == t && Arrays.equals(k.ids, ids);
        }

        @Override
        public int hashCode() { return 31 * (31 * Arrays.hashCode(ids) + b) + t; }
    }
}
