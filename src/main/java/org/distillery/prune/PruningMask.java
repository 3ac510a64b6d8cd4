package org.distillery.prune;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;

/**
 * Which weights of some linear layers are kept: per weight name a keep flag per element of W [out, in]
 * (row-major, the kernels' layout), {@code true} = kept. {@link #apply} zeroes the pruned weights;
 * {@link #maskGradients} zeroes their gradients, which is how a mask stays in force during fine-tuning
 * ({@link MaskedObjective}).
 */
public final class PruningMask {
    private final Map<String, boolean[]> keep = new LinkedHashMap<>();
    private final Map<String, int[]> shapes = new LinkedHashMap<>();

    /** An empty mask (no layers). */
    public PruningMask() {}

    /**
     * Adds (or replaces) the mask of weight {@code name} [rows, cols].
     *
     * @param keep [rows * cols] row-major, true = kept (not copied)
     */
    public PruningMask put(String name, int rows, int cols, boolean[] keep) {
        if (name == null) throw new IllegalArgumentException("name: must not be null");
        if (keep == null || keep.length != (long) rows * cols) {
            throw new IllegalArgumentException("keep: need [" + rows + ", " + cols + "] = " + (long) rows * cols + " flags for "
                    + name + "; got " + (keep == null ? "null" : keep.length));
        }
        this.keep.put(name, keep);
        this.shapes.put(name, new int[] {rows, cols});
        return this;
    }

    /** The mask of every named weight's current zero pattern (kept = nonzero). */
    public static PruningMask ofNonzeros(Map<String, FloatTensor> parameters, List<String> names) {
        PruningMask m = new PruningMask();
        for (String n : names) {
            FloatTensor w = require(parameters, n);
            float[] v = w.toFloatArray();
            boolean[] k = new boolean[v.length];
            for (int i = 0; i < v.length; i++) k[i] = v[i] != 0f;
            m.put(n, w.dim(0), w.dim(1), k);
        }
        return m;
    }

    /** The layer names, in insertion order. */
    public List<String> names() {
        return List.copyOf(keep.keySet());
    }

    /** The keep flags of {@code name} [rows * cols] (live). */
    public boolean[] keep(String name) {
        boolean[] k = keep.get(name);
        if (k == null) throw new IllegalArgumentException("name: no mask for " + name + " (masked: " + keep.keySet() + ")");
        return k;
    }

    /** The shape {rows, cols} of {@code name}. */
    public int[] shape(String name) {
        keep(name);
        return shapes.get(name).clone();
    }

    /** Pruned weights of {@code name}. */
    public long pruned(String name) {
        long p = 0;
        for (boolean b : keep(name)) if (!b) p++;
        return p;
    }

    /** Fraction of the weights of {@code name} that are pruned. */
    public double sparsity(String name) {
        return (double) pruned(name) / keep(name).length;
    }

    /** Pruned weights over all layers. */
    public long pruned() {
        long p = 0;
        for (String n : keep.keySet()) p += pruned(n);
        return p;
    }

    /** Masked weights over all layers (pruned and kept). */
    public long total() {
        long t = 0;
        for (boolean[] k : keep.values()) t += k.length;
        return t;
    }

    /** Fraction of all masked weights that are pruned. */
    public double sparsity() {
        long t = total();
        return t == 0 ? 0 : (double) pruned() / t;
    }

    /** Per-layer sparsity, by name in order. */
    public Map<String, Double> layerSparsity() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (String n : keep.keySet()) m.put(n, sparsity(n));
        return Collections.unmodifiableMap(m);
    }

    /** Sets every pruned weight of {@code parameters} to 0 (others untouched). */
    public void apply(Map<String, FloatTensor> parameters) {
        zero(parameters, "parameters");
    }

    /** Sets the gradient of every pruned weight to 0, so that an optimiser step leaves it where it is. */
    public void maskGradients(Map<String, FloatTensor> gradients) {
        zero(gradients, "gradients");
    }

    private void zero(Map<String, FloatTensor> tensors, String what) {
        for (Map.Entry<String, boolean[]> e : keep.entrySet()) {
            FloatTensor t = tensors.get(e.getKey());
            if (t == null) throw new IllegalArgumentException(what + ": no tensor " + e.getKey());
            boolean[] k = e.getValue();
            if (t.size() != k.length) {
                throw new IllegalArgumentException(what + ": " + e.getKey() + " has shape " + t.shapeString() + " but the mask "
                        + Arrays.toString(shapes.get(e.getKey())));
            }
            for (int i = 0; i < k.length; i++) if (!k[i]) t.set(i, 0f);
        }
    }

    /** Whether every pruned weight of {@code parameters} is exactly 0 (+0 or -0). */
    public boolean holdsIn(Map<String, FloatTensor> parameters) {
        for (Map.Entry<String, boolean[]> e : keep.entrySet()) {
            FloatTensor t = require(parameters, e.getKey());
            boolean[] k = e.getValue();
            for (int i = 0; i < k.length; i++) if (!k[i] && t.get(i) != 0f) return false;
        }
        return true;
    }

    /**
     * Checks that the named weights of {@code parameters} exist, are [out, in] and hold no NaN/Inf, before a pruner
     * changes any of them (a NaN has no magnitude to rank).
     */
    static void requireFinite(Map<String, FloatTensor> parameters, java.util.Collection<String> names) {
        for (String name : names) {
            FloatTensor w = require(parameters, name);
            float[] v = w.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    throw new IllegalArgumentException(name + ": weight [" + i / w.dim(1) + ", " + i % w.dim(1) + "] = " + v[i]
                            + " is not finite: cannot prune NaN/Inf weights");
                }
            }
        }
    }

    static FloatTensor require(Map<String, FloatTensor> parameters, String name) {
        FloatTensor w = parameters.get(name);
        if (w == null) throw new IllegalArgumentException("parameters: no weight named " + name);
        if (w.rank() != 2) throw new IllegalArgumentException("parameters: " + name + " has shape " + w.shapeString() + ", not [out, in]");
        return w;
    }
}
