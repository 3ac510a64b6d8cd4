package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

class FormatTablesTest {

    @Test
    void layoutsByHand() {
        // 0.1 = 1.6 × 2^-4; 1.6 = 1.1001 1001 1001 ...b; FP16 keeps 10 bits, the rest (0.011..b) rounds down
        BitLayout l = FloatFormat.FP16.layout(0.1f);
        assertEquals("0", l.sign());
        assertEquals("01011", l.exponent()); // -4 + 15 = 11
        assertEquals("1001100110", l.mantissa());
        assertEquals(-4, l.unbiasedExponent());
        assertEquals(BitLayout.Kind.NORMAL, l.kind());
        assertEquals("0|01011|1001100110", l.bits());
        assertEquals("+1.1001100110 × 2^-4", l.formula());
        // -3.5 = -1.11b × 2^1 in E4M3: exponent 1 + 7 = 8
        BitLayout m = FloatFormat.FP8_E4M3.layout(-3.5f);
        assertEquals("1|1000|110", m.bits());
        assertEquals(-3.5f, m.value());
        // smallest subnormal of E5M2: 0.01b × 2^-14
        BitLayout s = FloatFormat.FP8_E5M2.layoutOfCode(1);
        assertEquals(BitLayout.Kind.SUBNORMAL, s.kind());
        assertEquals("+0.01 × 2^-14", s.formula());
        assertEquals(BitLayout.Kind.NAN, FloatFormat.FP8_E4M3.layoutOfCode(0x7F).kind());
        assertEquals(BitLayout.Kind.INFINITY, FloatFormat.FP16.layoutOfCode(0xFC00).kind());
        assertEquals("-inf", FloatFormat.FP16.layoutOfCode(0xFC00).formula());
        assertEquals(BitLayout.Kind.ZERO, FloatFormat.BF16.layout(-0f).kind());
        assertEquals("1", FloatFormat.BF16.layout(-0f).sign());
    }

    @Test
    void tables() {
        Table p = FormatTables.properties(FloatFormat.STANDARD);
        assertEquals(5, p.rowCount());
        assertEquals("448.0", p.getString(3, "max_finite"));
        assertEquals(448.0, p.doubleColumn("max_finite").get(3));
        Table l = FormatTables.layouts(FloatFormat.STANDARD, 0.1f, -3.5f);
        assertEquals(10, l.rowCount());
        assertEquals("0.1", l.getString(0, "input"));
        assertEquals("0.0999755859375", l.getString(2, "decoded"));
        assertEquals(15, FormatTables.extremes(FloatFormat.STANDARD).rowCount());
        Table i = FormatTables.intLayouts(List.of(IntFormat.INT4), -3.5f, 0.5f);
        assertEquals("1001", i.getString(0, "bits"));
        assertEquals(1, i.intColumn("q").get(1));
        assertEquals(3, FormatTables.intProperties(IntFormat.INT8, IntFormat.INT4, IntFormat.INT4_ASYM).rowCount());
    }
}
