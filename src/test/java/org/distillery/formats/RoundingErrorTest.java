package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

class RoundingErrorTest {
    static final float[] W = WeightSamples.weightLike(200_000);

    /** The metrics computed from a rounding given by the test (the naive twin, or a closed form). */
    static RoundingError.Result twinResult(String name, int bits, float[] w, double[] r, double max) {
        double sumSq = 0, errSq = 0, maxAbs = 0, rel = 0;
        int nz = 0, ftz = 0, sat = 0;
        for (int i = 0; i < w.length; i++) {
            double e = Math.abs(r[i] - w[i]);
            sumSq += (double) w[i] * w[i];
            errSq += e * e;
            maxAbs = Math.max(maxAbs, e);
            if (w[i] != 0) {
                nz++;
                rel += e / Math.abs(w[i]);
                if (r[i] == 0) {
                    ftz++;
                }
            }
            if (Math.abs(w[i]) > max) {
                sat++;
            }
        }
        return new RoundingError.Result(name, bits, w.length, Math.sqrt(errSq / w.length), maxAbs, rel / nz,
                10 * Math.log10(sumSq / errSq), (double) ftz / nz, (double) sat / w.length);
    }

    static void assertSame(RoundingError.Result expected, RoundingError.Result got) {
        assertEquals(expected.format(), got.format());
        assertEquals(expected.bits(), got.bits());
        assertEquals(expected.count(), got.count());
        assertEquals(expected.rmse(), got.rmse(), 1e-12 * expected.rmse());
        assertEquals(expected.maxAbsError(), got.maxAbsError(), 0.0);
        assertEquals(expected.meanRelativeError(), got.meanRelativeError(), 1e-12 * expected.meanRelativeError());
        assertEquals(expected.sqnrDb(), got.sqnrDb(), 1e-9);
        assertEquals(expected.flushedToZero(), got.flushedToZero(), 0.0);
        assertEquals(expected.saturated(), got.saturated(), 0.0);
    }

    static RoundingError.Result twinFloat(FloatFormat f, Reference.Spec s, float[] w) {
        Reference.Naive twin = new Reference.Naive(s);
        boolean saturate = f.overflow() == Overflow.SATURATE;
        double[] r = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            r[i] = twin.round(w[i], saturate);
        }
        return twinResult(f.name(), s.bits(), w, r, twin.maxFinite());
    }

    @Test
    void fp32IsExact() {
        RoundingError.Result r = RoundingError.of(W, FloatFormat.FP32);
        assertEquals(0.0, r.rmse());
        assertEquals(0.0, r.maxAbsError());
        assertEquals(0.0, r.meanRelativeError());
        assertEquals(Double.POSITIVE_INFINITY, r.sqnrDb());
        assertEquals(0.0, r.flushedToZero());
        assertEquals(0.0, r.saturated());
    }

    @Test
    void floatFormatsMatchTheNaiveTwin() {
        assertSame(twinFloat(FloatFormat.FP16, Reference.FP16, W), RoundingError.of(W, FloatFormat.FP16));
        assertSame(twinFloat(FloatFormat.BF16, Reference.BF16, W), RoundingError.of(W, FloatFormat.BF16));
        assertSame(twinFloat(FloatFormat.FP8_E4M3, Reference.E4M3, W), RoundingError.of(W, FloatFormat.FP8_E4M3));
        assertSame(twinFloat(FloatFormat.FP8_E5M2, Reference.E5M2, W), RoundingError.of(W, FloatFormat.FP8_E5M2));
    }

    @Test
    void intFormatsMatchTheClosedForm() {
        for (IntFormat f : List.of(IntFormat.INT8, IntFormat.INT4, IntFormat.INT8_ASYM, IntFormat.INT4_ASYM)) {
            float min = 0, max = 0;
            for (float v : W) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            float scale = f.symmetric() ? Math.max(-min, max) / f.qmax() : (max - min) / f.qmax();
            int zero = f.symmetric() ? 0 : (int) Math.rint(-min / scale);
            double[] r = new double[W.length];
            for (int i = 0; i < W.length; i++) {
                double q = Math.min(Math.max(Math.rint((double) W[i] / scale) + zero, f.qmin()), f.qmax());
                r[i] = scale * (float) (q - zero);
            }
            assertSame(twinResult(f.name(), f.bits(), W, r, Double.POSITIVE_INFINITY), RoundingError.of(W, f));
        }
    }

    @Test
    void everyErrorIsWithinTheRoundingBound() {
        for (FloatFormat f : FloatFormat.STANDARD) {
            double sumBoundSq = 0;
            float[] out = new float[W.length];
            f.round(W, out);
            for (int i = 0; i < W.length; i++) {
                double a = Math.abs(W[i]);
                // RNE: half a unit in the last place, i.e. relative 2^-(m+1) for normals, 2^-(m+1) of
                // the smallest normal (half the subnormal spacing) below the normal range
                double bound = a >= f.minNormal() ? a * Math.scalb(1.0, -f.mantissaBits() - 1)
                        : Math.scalb(1.0, 1 - f.bias() - f.mantissaBits() - 1);
                double err = Math.abs((double) out[i] - W[i]);
                assertTrue(err <= bound, f.name() + " w=" + W[i] + " err=" + err + " bound=" + bound);
                sumBoundSq += bound * bound;
            }
            RoundingError.Result r = RoundingError.of(W, f);
            assertTrue(r.rmse() <= Math.sqrt(sumBoundSq / W.length), f.name() + " rmse below its bound");
        }
        // FP16 in its normal range: relative error at most 2^-11
        double[] rel = RoundingError.relativeErrors(W, FloatFormat.FP16);
        int k = 0;
        for (float w : W) {
            if (w != 0) {
                if (Math.abs(w) >= FloatFormat.FP16.minNormal()) {
                    assertTrue(rel[k] <= 0x1p-11);
                }
                k++;
            }
        }
        assertEquals(k, rel.length);
    }

    @Test
    void rmseGrowsAsMantissaBitsShrink() {
        // Twin-verified values (floatFormatsMatchTheNaiveTwin). FP32 < FP16 < BF16 follows from the error
        // bounds; E4M3 < E5M2 is a computed fact of this sample (std 0.02: E4M3's finer steps above its
        // smallest normal, 2^-6, outweigh E5M2's finer steps far below it).
        double fp32 = RoundingError.of(W, FloatFormat.FP32).rmse();
        double fp16 = RoundingError.of(W, FloatFormat.FP16).rmse();
        double bf16 = RoundingError.of(W, FloatFormat.BF16).rmse();
        double e4m3 = RoundingError.of(W, FloatFormat.FP8_E4M3).rmse();
        double e5m2 = RoundingError.of(W, FloatFormat.FP8_E5M2).rmse();
        assertTrue(fp32 < fp16 && fp16 < bf16 && bf16 < e4m3 && e4m3 < e5m2,
                fp32 + " " + fp16 + " " + bf16 + " " + e4m3 + " " + e5m2);
    }

    @Test
    void saturationAndOverflowAreCounted() {
        float[] big = W.clone();
        for (int i = 0; i < big.length; i++) {
            big[i] *= 30_000f; // std 600: a tail beyond 448 (E4M3 max)
        }
        int beyond = 0;
        for (float v : big) {
            if (Math.abs(v) > 448f) {
                beyond++;
            }
        }
        assertTrue(beyond > 0);
        RoundingError.Result sat = RoundingError.of(big, FloatFormat.FP8_E4M3);
        assertEquals((double) beyond / big.length, sat.saturated(), 0.0);
        assertTrue(Double.isFinite(sat.rmse()));
        assertSame(twinFloat(FloatFormat.FP8_E4M3, Reference.E4M3, big), sat);
        RoundingError.Result nan = RoundingError.of(big, FloatFormat.FP8_E4M3.withOverflow(Overflow.NON_SATURATING));
        assertEquals(Double.POSITIVE_INFINITY, nan.rmse()); // some became NaN
        assertEquals(sat.saturated(), nan.saturated());
    }

    @Test
    void flushToZeroIsCounted() {
        // E4M3: |w| <= 2^-10 (half the smallest subnormal) becomes 0
        int small = 0;
        for (float v : W) {
            if (v != 0 && Math.abs(v) <= 0x1p-10f) {
                small++;
            }
        }
        assertTrue(small > 0);
        assertEquals((double) small / W.length, RoundingError.of(W, FloatFormat.FP8_E4M3).flushedToZero(), 0.0);
    }

    @Test
    void table() {
        Table t = RoundingError.measure(W, FloatFormat.FP16, IntFormat.INT8);
        assertEquals(List.of("format", "bits", "n", "rmse", "max_abs_error", "mean_rel_error", "sqnr_db",
                "flushed_to_zero", "saturated"), t.columnNames());
        assertEquals(2, t.rowCount());
        assertEquals("INT8", t.stringColumn("format").get(1));
        assertEquals(RoundingError.of(W, IntFormat.INT8).rmse(), t.doubleColumn("rmse").get(1), 0.0);
        assertEquals("weights.length = 0: nothing to measure", assertThrows(IllegalArgumentException.class,
                () -> RoundingError.of(new float[0], FloatFormat.FP16)).getMessage());
    }
}
