package org.distillery.formats;

import java.util.Arrays;
import java.util.List;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.FloatColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** Tables describing number formats, for notebooks and reports. */
public final class FormatTables {
    private FormatTables() {}

    /**
     * One row per format: name, bits, sign/exponent/mantissa bits, bias, max finite, min normal, min
     * subnormal, epsilon, unit roundoff, decimal digits, dynamic range in binades (total and normal),
     * infinities, NaN encoding, overflow mode.
     */
    public static Table properties(FloatFormat... formats) {
        return properties(Arrays.asList(formats));
    }

    /** See {@link #properties(FloatFormat...)}. */
    public static Table properties(List<FloatFormat> formats) {
        StringColumn name = StringColumn.create("format");
        IntColumn bits = IntColumn.create("bits");
        IntColumn sign = IntColumn.create("sign_bits");
        IntColumn exp = IntColumn.create("exponent_bits");
        IntColumn man = IntColumn.create("mantissa_bits");
        IntColumn bias = IntColumn.create("bias");
        DoubleColumn max = DoubleColumn.create("max_finite");
        DoubleColumn minNormal = DoubleColumn.create("min_normal");
        DoubleColumn minSub = DoubleColumn.create("min_subnormal");
        DoubleColumn eps = DoubleColumn.create("epsilon");
        DoubleColumn roundoff = DoubleColumn.create("unit_roundoff");
        DoubleColumn digits = DoubleColumn.create("decimal_digits");
        DoubleColumn range = DoubleColumn.create("range_binades");
        DoubleColumn normalRange = DoubleColumn.create("normal_range_binades");
        BooleanColumn inf = BooleanColumn.create("infinities");
        StringColumn nan = StringColumn.create("nan_encoding");
        StringColumn overflow = StringColumn.create("overflow");
        for (FloatFormat f : formats) {
            name.append(f.name());
            bits.append(f.bits());
            sign.append(1);
            exp.append(f.exponentBits());
            man.append(f.mantissaBits());
            bias.append(f.bias());
            max.append(f.maxFinite());
            minNormal.append(f.minNormal());
            minSub.append(f.minSubnormal());
            eps.append(f.epsilon());
            roundoff.append(f.unitRoundoff());
            digits.append(f.decimalDigits());
            range.append(f.dynamicRangeBinades());
            normalRange.append(f.normalRangeBinades());
            inf.append(f.hasInfinity());
            nan.append(f.nanEncoding().name());
            overflow.append(f.overflow().name());
        }
        for (DoubleColumn c : new DoubleColumn[] {max, minNormal, minSub, eps, roundoff}) {
            c.setPrintFormatter(Printing.exact());
        }
        for (DoubleColumn c : new DoubleColumn[] {digits, range, normalRange}) {
            c.setPrintFormatter(Printing.significant(4));
        }
        return Table.create("Floating-point formats", name, bits, sign, exp, man, bias, max, minNormal, minSub,
                eps, roundoff, digits, range, normalRange, inf, nan, overflow);
    }

    /**
     * One row per integer format: name, bits, symmetric, qmin, qmax, levels, dynamic range in binades
     * (largest magnitude over the step, independent of the scale).
     */
    public static Table intProperties(IntFormat... formats) {
        return intProperties(Arrays.asList(formats));
    }

    /** See {@link #intProperties(IntFormat...)}. */
    public static Table intProperties(List<IntFormat> formats) {
        StringColumn name = StringColumn.create("format");
        IntColumn bits = IntColumn.create("bits");
        BooleanColumn sym = BooleanColumn.create("symmetric");
        IntColumn qmin = IntColumn.create("qmin");
        IntColumn qmax = IntColumn.create("qmax");
        IntColumn levels = IntColumn.create("levels");
        DoubleColumn range = DoubleColumn.create("range_binades");
        for (IntFormat f : formats) {
            name.append(f.name());
            bits.append(f.bits());
            sym.append(f.symmetric());
            qmin.append(f.qmin());
            qmax.append(f.qmax());
            levels.append(f.levels());
            range.append(f.dynamicRangeBinades());
        }
        range.setPrintFormatter(Printing.significant(4));
        return Table.create("Integer formats", name, bits, sym, qmin, qmax, levels, range);
    }

    /**
     * Each value rounded to each format, bit by bit: format, input, sign, exponent, mantissa, bits,
     * kind, unbiased exponent, formula (binary significand × power of two), decoded value, absolute error.
     */
    public static Table layouts(List<FloatFormat> formats, float... values) {
        Table t = emptyLayoutTable("Bit layouts");
        for (FloatFormat f : formats) {
            for (float v : values) {
                addLayout(t, v, f.layout(v));
            }
        }
        return t;
    }

    /**
     * The smallest subnormal, smallest normal and largest finite value of each format, bit by bit
     * (same columns as {@link #layouts}; the input is the value itself).
     */
    public static Table extremes(List<FloatFormat> formats) {
        Table t = emptyLayoutTable("Smallest and largest values");
        for (FloatFormat f : formats) {
            for (float v : new float[] {f.minSubnormal(), f.minNormal(), f.maxFinite()}) {
                addLayout(t, v, f.layout(v));
            }
        }
        return t;
    }

    private static Table emptyLayoutTable(String title) {
        FloatColumn input = FloatColumn.create("input");
        input.setPrintFormatter(Printing.asFloat());
        FloatColumn decoded = FloatColumn.create("decoded");
        decoded.setPrintFormatter(Printing.exact());
        DoubleColumn err = DoubleColumn.create("abs_error");
        err.setPrintFormatter(Printing.significant(6));
        return Table.create(title, StringColumn.create("format"), input,
                StringColumn.create("sign"), StringColumn.create("exponent"), StringColumn.create("mantissa"),
                StringColumn.create("bits"), StringColumn.create("kind"), IntColumn.create("unbiased_exponent"),
                StringColumn.create("formula"), decoded, err);
    }

    private static void addLayout(Table t, float input, BitLayout l) {
        t.stringColumn("format").append(l.format());
        t.floatColumn("input").append(input);
        t.stringColumn("sign").append(l.sign());
        t.stringColumn("exponent").append(l.exponent());
        t.stringColumn("mantissa").append(l.mantissa());
        t.stringColumn("bits").append(l.bits());
        t.stringColumn("kind").append(l.kind().name().toLowerCase());
        t.intColumn("unbiased_exponent").append(l.unbiasedExponent());
        t.stringColumn("formula").append(l.formula());
        t.floatColumn("decoded").append(l.value());
        // an exactly represented input (including an infinity) has error 0; NaN when the result is NaN
        t.doubleColumn("abs_error").append(l.value() == input ? 0 : Math.abs((double) l.value() - input));
    }

    /**
     * The values quantized with each integer format, the per-tensor parameters derived from the values
     * themselves: format, input, scale, zero point, code, stored bits, decoded value, absolute error.
     */
    public static Table intLayouts(List<IntFormat> formats, float... values) {
        StringColumn name = StringColumn.create("format");
        FloatColumn input = FloatColumn.create("input");
        FloatColumn scale = FloatColumn.create("scale");
        IntColumn zero = IntColumn.create("zero_point");
        IntColumn code = IntColumn.create("q");
        StringColumn bits = StringColumn.create("bits");
        FloatColumn decoded = FloatColumn.create("decoded");
        DoubleColumn err = DoubleColumn.create("abs_error");
        for (IntFormat f : formats) {
            IntFormat.Params p = f.params(values);
            for (float v : values) {
                int q = f.quantize(v, p);
                float d = f.dequantize(q, p);
                name.append(f.name());
                input.append(v);
                scale.append(p.scale());
                zero.append(p.zeroPoint());
                code.append(q);
                bits.append(f.bitString(q));
                decoded.append(d);
                err.append(Math.abs((double) d - v));
            }
        }
        input.setPrintFormatter(Printing.asFloat());
        scale.setPrintFormatter(Printing.asFloat());
        decoded.setPrintFormatter(Printing.asFloat());
        err.setPrintFormatter(Printing.significant(6));
        return Table.create("Integer codes", name, input, scale, zero, code, bits, decoded, err);
    }
}
