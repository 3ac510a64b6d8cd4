package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * Small vectorised loops over {@link FloatTensor} memory shared by the kernels. Offsets and
 * lengths are in elements (floats), not bytes. Vector loads and stores go through {@link VectorMemory}
 * (the one class that knows which JDK-specific Vector API memory access exists); scalar access goes
 * through {@link FloatTensor#buffer()}. Each loop runs the preferred vector species and a
 * scalar tail for lengths that are not a multiple of the lane count.
 */
final class VectorOps {
    private VectorOps() {}

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** The vector of {@link #LANES} floats at element offset {@code off} of {@code t}. */
    static FloatVector load(FloatTensor t, int off) {
        return VectorMemory.LOAD.load(SPECIES, t.vectorMemory(), off * Float.BYTES, ORDER);
    }

    /** Writes {@code v} at element offset {@code off} of {@code t}. */
    static void store(FloatVector v, FloatTensor t, int off) {
        VectorMemory.STORE.store(v, t.vectorMemory(), off * Float.BYTES, ORDER);
    }

    static float get(FloatTensor t, int i) { return t.buffer().getFloat(i * Float.BYTES); }

    static void put(FloatTensor t, int i, float v) { t.buffer().putFloat(i * Float.BYTES, v); }

    /** sum_{k<n} x[xo+k]. */
    static float sum(FloatTensor x, int xo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) acc = acc.add(load(x, xo + k));
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) s += get(x, xo + k);
        return s;
    }

    /** sum_{k<n} x[xo+k] * y[yo+k]. */
    static float dot(FloatTensor x, int xo, FloatTensor y, int yo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) acc = load(x, xo + k).fma(load(y, yo + k), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) s += get(x, xo + k) * get(y, yo + k);
        return s;
    }

    /** max_{k<n} x[xo+k] (n >= 1). */
    static float max(FloatTensor x, int xo, int n) {
        FloatVector acc = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) acc = acc.max(load(x, xo + k));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; k < n; k++) m = Math.max(m, get(x, xo + k));
        return m;
    }

    /** y[yo+k] += alpha * x[xo+k] for k < n. */
    static void axpy(float alpha, FloatTensor x, int xo, FloatTensor y, int yo, int n) {
        FloatVector a = FloatVector.broadcast(SPECIES, alpha);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(load(x, xo + k).fma(a, load(y, yo + k)), y, yo + k);
        for (; k < n; k++) put(y, yo + k, get(y, yo + k) + alpha * get(x, xo + k));
    }

    /** out[oo+k] = a[ao+k] + b[bo+k] for k < n (out may alias a or b). */
    static void add(FloatTensor a, int ao, FloatTensor b, int bo, FloatTensor out, int oo, int n) {
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(load(a, ao + k).add(load(b, bo + k)), out, oo + k);
        for (; k < n; k++) put(out, oo + k, get(a, ao + k) + get(b, bo + k));
    }

    /** x[xo+k] = v for k < n. */
    static void fill(FloatTensor x, int xo, int n, float v) {
        FloatVector c = FloatVector.broadcast(SPECIES, v);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(c, x, xo + k);
        for (; k < n; k++) put(x, xo + k, v);
    }
}
