package org.distillery.formats;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How much rounding a tensor to a format changes it. For weights {@code w} and rounded weights {@code w'}
 * (an integer format uses a per-tensor scale derived from {@code w}):
 * <ul>
 *   <li>{@code rmse}: {@code sqrt(mean((w' - w)²))}</li>
 *   <li>{@code max_abs_error}: {@code max |w' - w|}</li>
 *   <li>{@code mean_rel_error}: mean of {@code |w' - w| / |w|} over the non-zero {@code w}</li>
 *   <li>{@code sqnr_db}: signal-to-quantization-noise ratio {@code 10 log10(Σ w² / Σ (w' - w)²)},
 *   infinite when the rounding is exact</li>
 *   <li>{@code flushed_to_zero}: fraction of the non-zero {@code w} that became 0</li>
 *   <li>{@code saturated}: fraction of all {@code w} beyond the representable range (larger in magnitude
 *   than the largest finite value, or clamped by an integer format); they were saturated or, in the
 *   non-saturating modes, became infinite or NaN</li>
 * </ul>
 * Sums are accumulated in double.
 */
public final class RoundingError {
    private RoundingError() {}

    /** The error of one format on one tensor (see the class doc for the definitions). */
    public record Result(String format, int bits, int count, double rmse, double maxAbsError,
                         double meanRelativeError, double sqnrDb, double flushedToZero, double saturated) {}

    /** The error of each format on {@code weights}, one row per format. */
    public static Table measure(float[] weights, NumericFormat... formats) {
        return measure(weights, Arrays.asList(formats));
    }

    /** The error of each format on {@code weights}, one row per format. */
    public static Table measure(float[] weights, List<? extends NumericFormat> formats) {
        List<Result> results = new ArrayList<>();
        for (NumericFormat f : formats) {
            results.add(of(weights, f));
        }
        return table(results);
    }

    /** The error of one format on {@code weights}. */
    public static Result of(float[] weights, NumericFormat format) {
        if (weights.length == 0) {
            throw new IllegalArgumentException("weights.length = 0: nothing to measure");
        }
        float[] r = new float[weights.length];
        format.round(weights, r);
        IntFormat.Params params = format instanceof IntFormat i ? i.params(weights) : null;
        double sumSq = 0, sumErrSq = 0, maxAbs = 0, sumRel = 0;
        int nonZero = 0, flushed = 0, saturated = 0;
        for (int k = 0; k < weights.length; k++) {
            double w = weights[k];
            double err = Math.abs((double) r[k] - w);
            if (Double.isNaN(err)) {
                err = Double.POSITIVE_INFINITY; // overflow to NaN counts as an unbounded error
            }
            sumSq += w * w;
            sumErrSq += err * err;
            maxAbs = Math.max(maxAbs, err);
            if (w != 0) {
                nonZero++;
                sumRel += err / Math.abs(w);
                if (r[k] == 0) {
                    flushed++;
                }
            }
            if (format instanceof FloatFormat f ? Math.abs(w) > f.maxFinite() : ((IntFormat) format).clips(weights[k], params)) {
                saturated++;
            }
        }
        int n = weights.length;
        double rmse = Math.sqrt(sumErrSq / n);
        double sqnr = 10 * Math.log10(sumSq / sumErrSq);
        return new Result(format.name(), format.bits(), n, rmse, maxAbs,
                nonZero == 0 ? 0 : sumRel / nonZero, sqnr,
                nonZero == 0 ? 0 : (double) flushed / nonZero, (double) saturated / n);
    }

    /**
     * The relative error {@code |w' - w| / |w|} of every non-zero weight, in the order of the weights
     * (for histograms).
     */
    public static double[] relativeErrors(float[] weights, NumericFormat format) {
        float[] r = new float[weights.length];
        format.round(weights, r);
        double[] rel = new double[weights.length];
        int n = 0;
        for (int k = 0; k < weights.length; k++) {
            if (weights[k] != 0) {
                rel[n++] = Math.abs((double) r[k] - weights[k]) / Math.abs((double) weights[k]);
            }
        }
        return Arrays.copyOf(rel, n);
    }

    /** The results as a table: format, bits, n, rmse, max_abs_error, mean_rel_error, sqnr_db, flushed_to_zero, saturated. */
    public static Table table(List<Result> results) {
        StringColumn name = StringColumn.create("format");
        IntColumn bits = IntColumn.create("bits");
        IntColumn n = IntColumn.create("n");
        DoubleColumn rmse = DoubleColumn.create("rmse");
        DoubleColumn maxAbs = DoubleColumn.create("max_abs_error");
        DoubleColumn rel = DoubleColumn.create("mean_rel_error");
        DoubleColumn sqnr = DoubleColumn.create("sqnr_db");
        DoubleColumn ftz = DoubleColumn.create("flushed_to_zero");
        DoubleColumn sat = DoubleColumn.create("saturated");
        for (Result r : results) {
            name.append(r.format());
            bits.append(r.bits());
            n.append(r.count());
            rmse.append(r.rmse());
            maxAbs.append(r.maxAbsError());
            rel.append(r.meanRelativeError());
            sqnr.append(r.sqnrDb());
            ftz.append(r.flushedToZero());
            sat.append(r.saturated());
        }
        for (DoubleColumn c : new DoubleColumn[] {rmse, maxAbs, rel, sqnr, ftz, sat}) {
            c.setPrintFormatter(Printing.significant(6));
        }
        return Table.create("Rounding error", name, bits, n, rmse, maxAbs, rel, sqnr, ftz, sat);
    }
}
