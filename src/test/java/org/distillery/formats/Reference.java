package org.distillery.formats;

import java.util.Arrays;

/**
 * Independent test references for floating-point formats, written from the format definitions and not
 * from the library code: a closed-form decoder in double arithmetic, and a naive round-to-nearest-even
 * that searches the sorted list of every finite value of the format.
 */
final class Reference {
    /** Special-value conventions. */
    enum Specials { IEEE, FN }

    /** A format as its specification states it. */
    record Spec(String name, int e, int m, int bias, Specials specials) {
        int bits() {
            return 1 + e + m;
        }
    }

    static final Spec FP16 = new Spec("FP16", 5, 10, 15, Specials.IEEE);
    static final Spec BF16 = new Spec("BF16", 8, 7, 127, Specials.IEEE);
    static final Spec E4M3 = new Spec("FP8_E4M3", 4, 3, 7, Specials.FN);
    static final Spec E5M2 = new Spec("FP8_E5M2", 5, 2, 15, Specials.IEEE);

    private Reference() {}

    /** Closed-form value of a code: (-1)^s × 2^(1-bias) × 0.m for subnormals, (-1)^s × 2^(E-bias) × 1.m otherwise. */
    static double decode(Spec s, int code) {
        int sign = (code >>> (s.e() + s.m())) & 1;
        int ef = (code >>> s.m()) & ((1 << s.e()) - 1);
        int mf = code & ((1 << s.m()) - 1);
        double sg = sign == 1 ? -1.0 : 1.0;
        int allOnes = (1 << s.e()) - 1;
        if (s.specials() == Specials.IEEE && ef == allOnes) {
            return mf == 0 ? sg * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (s.specials() == Specials.FN && ef == allOnes && mf == (1 << s.m()) - 1) {
            return Double.NaN;
        }
        double frac = (double) mf / (1 << s.m());
        if (ef == 0) {
            return sg * Math.scalb(frac, 1 - s.bias());
        }
        return sg * Math.scalb(1.0 + frac, ef - s.bias());
    }

    /** Naive RNE rounding to one format: a sorted table of all finite non-negative values and their codes. */
    static final class Naive {
        final Spec spec;
        final double[] values; // increasing, last entry is the virtual step above max finite
        final int[] codes;     // code of each value (virtual: max code + 1, for the parity of its mantissa)
        final int maxCode;

        Naive(Spec spec) {
            this.spec = spec;
            int n = 1 << (spec.e() + spec.m());
            double[] v = new double[n + 1];
            int[] c = new int[n + 1];
            int k = 0;
            for (int code = 0; code < n; code++) {
                double d = decode(spec, code);
                if (!Double.isNaN(d) && !Double.isInfinite(d)) {
                    v[k] = d;
                    c[k] = code;
                    k++;
                }
            }
            // sort by value (codes of non-negative values happen to be monotone, but do not rely on it)
            Integer[] idx = new Integer[k];
            for (int i = 0; i < k; i++) {
                idx[i] = i;
            }
            double[] vv = v;
            Arrays.sort(idx, (a, b) -> Double.compare(vv[a], vv[b]));
            values = new double[k + 1];
            codes = new int[k + 1];
            for (int i = 0; i < k; i++) {
                values[i] = v[idx[i]];
                codes[i] = c[idx[i]];
            }
            double max = values[k - 1];
            double prev = values[k - 2];
            // the next step above max in an unbounded exponent range: max + ulp(max), where ulp(max) is the
            // spacing in max's binade (max and the value below it are in the same binade for these formats)
            values[k] = max + (max - prev);
            codes[k] = codes[k - 1] + 1;
            maxCode = codes[k - 1];
        }

        double maxFinite() {
            return values[values.length - 2];
        }

        /**
         * The expected code of x, or -1 for "NaN expected". {@code saturate}: overflow and infinities go to
         * ±max finite; otherwise to ±inf (IEEE) or NaN (FN).
         */
        int encode(float x, boolean saturate) {
            int signBit = Float.floatToRawIntBits(x) < 0 ? 1 << (spec.e() + spec.m()) : 0;
            if (Float.isNaN(x)) {
                return -1;
            }
            double a = Math.abs((double) x);
            int idx;
            if (Double.isInfinite(a) || a >= values[values.length - 1]) {
                idx = values.length - 1;
            } else {
                int i = Arrays.binarySearch(values, a);
                if (i >= 0) {
                    idx = i;
                } else {
                    int hi = -i - 1; // first value > a
                    int lo = hi - 1;
                    double twice = 2 * a;               // exact
                    double sum = values[lo] + values[hi]; // exact: adjacent values
                    if (twice < sum) {
                        idx = lo;
                    } else if (twice > sum) {
                        idx = hi;
                    } else {
                        idx = (codes[lo] & 1) == 0 ? lo : hi;
                    }
                }
            }
            if (idx == values.length - 1) { // overflow
                if (saturate) {
                    return signBit | maxCode;
                }
                if (spec.specials() == Specials.IEEE) {
                    return signBit | (((1 << spec.e()) - 1) << spec.m());
                }
                return -1;
            }
            return signBit | codes[idx];
        }

        /** The expected rounded value (NaN where NaN is expected). */
        double round(float x, boolean saturate) {
            int c = encode(x, saturate);
            return c < 0 ? Double.NaN : decode(spec, c);
        }
    }
}
