/**
 * Number formats for compressed models.
 *
 * <ul>
 *   <li>{@link org.distillery.formats.FloatFormat}: binary floating-point formats (FP32, FP16, BF16, FP8 E4M3,
 *   FP8 E5M2, or any described by exponent/mantissa bits, bias and special values) with bit-exact
 *   round-to-nearest-even {@code encode}, {@code decode}, {@code round}, their properties and bit layouts;
 *   {@link org.distillery.formats.Overflow} chooses saturation or IEEE-style overflow.</li>
 *   <li>{@link org.distillery.formats.IntFormat}: INT2..INT8 and INT16 with a per-tensor scale, symmetric
 *   (absmax) or asymmetric with a zero point (GPTQ convention).</li>
 *   <li>{@link org.distillery.formats.NumericFormat}: what both have in common ({@code round(float[], float[])}).</li>
 *   <li>{@link org.distillery.formats.RoundingError}: RMSE, max error, relative error, SQNR, flush-to-zero and
 *   saturation of a format on a tensor; {@link org.distillery.formats.WeightSamples}: documented synthetic
 *   weight-like samples.</li>
 *   <li>{@link org.distillery.formats.FormatTables} and {@link org.distillery.formats.FormatCharts}: Tablesaw
 *   tables and XChart charts for notebooks and reports.</li>
 * </ul>
 */
package org.distillery.formats;
