package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * Small vectorised loops over {@link FloatTensor} memory shared by the kernels. Offsets and
 * lengths are in elements (floats), not bytes. Vector loads and stores go through {@link VectorMemory}
 * (the one class that knows which JDK-specific Vector API memory access exists); scalar access goes
 * through {@link FloatTensor#buffer()}. Each loop runs the preferred vector species and a
 * scalar tail for lengths that are not a multiple of the lane count.
 *
 * <h2>Determinism across JIT tiers</h2>
 * A kernel's result must not depend on whether its code runs interpreted, C1- or C2-compiled (otherwise two
 * training runs from one seed in one JVM differ in the last bits, as measured: on JDK 25 C2's
 * {@code reduceLanes(ADD)} sums lanes in another order than the Java fallback, on JDK 17 and 25 C2's
 * {@code lanewise(EXP)} (SVML) differs by an ulp from the fallback for some inputs). So the kernels never
 * call {@code reduceLanes(ADD)} or the transcendental {@code lanewise} operators: they use
 * {@link #sumLanes} (a fixed shuffle tree) and {@link #exp(FloatVector)} (a polynomial of elementwise
 * IEEE operations) with its scalar twin {@link #exp(float)}, which performs the same operations in the
 * same order (GELU's tanh is evaluated through exp, see {@link GeluKernel}; the erf GELU through exp and a
 * fitted polynomial, see {@link GeluErfKernel}). Elementwise add, mul,
 * div, sqrt, fma, min and max are correctly rounded in every tier; MAX reductions are order-independent.
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

    /** Rotations by LANES/2, LANES/4, ..., 1 lanes: the fixed reduction tree of {@link #sumLanes}. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] TREE = new VectorShuffle[Integer.numberOfTrailingZeros(LANES)];

    static {
        for (int k = 0, w = LANES / 2; w >= 1; w >>= 1, k++) {
            int shift = w;
            TREE[k] = VectorShuffle.fromOp(SPECIES, i -> (i + shift) % LANES);
        }
    }

    /**
     * The sum of the lanes of {@code v} in a fixed order (pairwise tree: lane i + lane i+L/2, ...), the
     * same in every JIT tier; use instead of {@code reduceLanes(ADD)}, whose order is unspecified.
     */
    static float sumLanes(FloatVector v) {
        for (int k = 0; k < TREE.length; k++) v = v.add(v.rearrange(TREE[k]));
        return v.lane(0);
    }

    // exp: Cody-Waite reduction x = n ln2 + r and the Cephes expf polynomial (relative error about 1e-7)
    private static final float EXP_HI = 88.0f, EXP_LO = -87.0f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float MAGIC = 12582912f;                   // 1.5 * 2^23: x + MAGIC rounds x to an integer
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    private static final float TANH_CLAMP = 9f;                    // tanh(9) = 1 - 3e-8: 1 in fp32

    private static final FloatVector V_LOG2E = FloatVector.broadcast(SPECIES, LOG2E), V_MAGIC = FloatVector.broadcast(SPECIES, MAGIC);
    private static final FloatVector V_NLN2_HI = FloatVector.broadcast(SPECIES, -LN2_HI), V_NLN2_LO = FloatVector.broadcast(SPECIES, -LN2_LO);
    private static final FloatVector V_P0 = FloatVector.broadcast(SPECIES, P0), V_P1 = FloatVector.broadcast(SPECIES, P1),
            V_P2 = FloatVector.broadcast(SPECIES, P2), V_P3 = FloatVector.broadcast(SPECIES, P3),
            V_P4 = FloatVector.broadcast(SPECIES, P4), V_P5 = FloatVector.broadcast(SPECIES, P5);
    private static final FloatVector V_ONE = FloatVector.broadcast(SPECIES, 1f);
    private static final FloatVector V_EXP_LO = FloatVector.broadcast(SPECIES, EXP_LO), V_EXP_HI = FloatVector.broadcast(SPECIES, EXP_HI);

    /**
     * e^x per lane (x clamped to [-87, 88]); the same operations as {@link #exp(float)}, lane by lane:
     * f = fma(x, log2 e, 1.5*2^23) holds n = round(x log2 e) in its low mantissa bits, r = x - n ln 2
     * (two fmas, Cody-Waite), e^r by the Cephes expf polynomial, 2^n from the bits of f (bits(f) * 2^23
     * + 127 * 2^23 = (n + 127) &lt;&lt; 23 modulo 2^32, as an int multiply: C2 did not always intrinsify the
     * vector shift here).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(V_EXP_LO).min(V_EXP_HI);
        FloatVector f = x.fma(V_LOG2E, V_MAGIC);
        FloatVector n = f.sub(V_MAGIC);
        FloatVector r = n.fma(V_NLN2_HI, x);
        r = n.fma(V_NLN2_LO, r);
        FloatVector p = r.fma(V_P0, V_P1).fma(r, V_P2).fma(r, V_P3).fma(r, V_P4).fma(r, V_P5);
        FloatVector y = p.fma(r.mul(r), r).add(V_ONE);
        IntVector bits = ((IntVector) f.reinterpretAsInts()).mul(1 << 23).add(127 << 23);
        return y.mul((FloatVector) bits.reinterpretAsFloats());
    }

    /** Scalar twin of {@link #exp(FloatVector)}: bit-identical to one lane of it. */
    static float exp(float x) {
        x = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float f = Math.fma(x, LOG2E, MAGIC);
        float n = f - MAGIC;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(Float.floatToRawIntBits(f) * (1 << 23) + (127 << 23));
    }

    /**
     * out[oo+k] = e^((in[io+k] - shift) * scale) for k &lt; n, returning their sum (vector part summed by
     * {@link #sumLanes}, then the scalar tail in order). Its own method, so that the exp loop is compiled
     * as a small unit (inlined into a large row body it can exceed C2's inlining node budget, and a vector
     * passed to a method left out of line is allocated on the heap). out may alias in at the same offset.
     */
    static float expSum(FloatTensor in, int io, FloatTensor out, int oo, int n, float shift, float scale) {
        FloatVector vm = FloatVector.broadcast(SPECIES, shift), vs = FloatVector.broadcast(SPECIES, scale);
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) {
            FloatVector e = exp(load(in, io + k).sub(vm).mul(vs));
            store(e, out, oo + k);
            acc = acc.add(e);
        }
        float s = sumLanes(acc);
        for (; k < n; k++) {
            float e = exp((get(in, io + k) - shift) * scale);
            put(out, oo + k, e);
            s += e;
        }
        return s;
    }

    /** sum_{k<n} x[xo+k]. */
    static float sum(FloatTensor x, int xo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) acc = acc.add(load(x, xo + k));
        float s = sumLanes(acc);
        for (; k < n; k++) s += get(x, xo + k);
        return s;
    }

    /** sum_{k<n} x[xo+k] * y[yo+k]. */
    static float dot(FloatTensor x, int xo, FloatTensor y, int yo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) acc = load(x, xo + k).fma(load(y, yo + k), acc);
        float s = sumLanes(acc);
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

    /** out[oo+k] = a[ao+k] for k < n (the ranges must not overlap unless oo &lt;= ao). */
    static void copy(FloatTensor a, int ao, FloatTensor out, int oo, int n) {
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(load(a, ao + k), out, oo + k);
        for (; k < n; k++) put(out, oo + k, get(a, ao + k));
    }

    /** x[xo+k] = v for k < n. */
    /** x[xo .. xo+n) *= a. */
    static void scale(FloatTensor x, int xo, int n, float a) {
        FloatVector va = FloatVector.broadcast(SPECIES, a);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(load(x, xo + k).mul(va), x, xo + k);
        for (; k < n; k++) put(x, xo + k, get(x, xo + k) * a);
    }

    static void fill(FloatTensor x, int xo, int n, float v) {
        FloatVector c = FloatVector.broadcast(SPECIES, v);
        int k = 0, bound = SPECIES.loopBound(n);
        for (; k < bound; k += LANES) store(c, x, xo + k);
        for (; k < n; k++) put(x, xo + k, v);
    }
}
