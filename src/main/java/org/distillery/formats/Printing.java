package org.distillery.formats;

import java.math.BigDecimal;
import java.math.MathContext;
import tech.tablesaw.columns.numbers.NumberColumnFormatter;

/** How the format tables print numbers (Tablesaw's default prints 1e38 with all its zeros). */
final class Printing {
    private Printing() {}

    /** The shortest decimal that reads back as the same double, e.g. {@code 6.103515625E-5}, {@code 65504.0}. */
    static NumberColumnFormatter exact() {
        return new NumberColumnFormatter() {
            @Override
            public String format(double v) {
                return Double.toString(v);
            }

            @Override
            public String format(float v) {
                return Double.toString(v); // the float's exact value as a double
            }
        };
    }

    /** A float as typed: the shortest decimal that reads back as the same float, e.g. {@code 0.1}. */
    static NumberColumnFormatter asFloat() {
        return new NumberColumnFormatter() {
            @Override
            public String format(float v) {
                return Float.toString(v);
            }

            @Override
            public String format(double v) {
                return Float.toString((float) v);
            }
        };
    }

    /** Rounded to {@code digits} significant digits, e.g. {@code 4.15264E-6}; infinities as {@code Infinity}. */
    static NumberColumnFormatter significant(int digits) {
        return new NumberColumnFormatter() {
            @Override
            public String format(double v) {
                if (!Double.isFinite(v) || v == 0) {
                    return Double.toString(v);
                }
                return Double.toString(new BigDecimal(v).round(new MathContext(digits)).doubleValue());
            }

            @Override
            public String format(float v) {
                return format((double) v);
            }
        };
    }
}
