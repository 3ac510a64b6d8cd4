package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/** {@link StudentComparison}: means over seeds, ratios to the teacher, DistilGPT2's published ratios. */
class StudentComparisonTest {
    @Test
    void ratiosAndPublishedRow() {
        var teacher = new StudentComparison.Entry("teacher", "teacher", 4, 128, 1000, new double[] {8}, 100);
        var s = new StudentComparison.Entry("shallow", "soft", 2, 128, 500, new double[] {9, 11}, 200);
        Table t = StudentComparison.table("t", teacher, List.of(s));
        assertEquals(3, t.rowCount());
        assertEquals(1.0, t.doubleColumn("ppl_vs_teacher").get(0), 0);
        assertEquals(10.0, t.doubleColumn("val_ppl").get(1), 0);
        assertEquals(9.0, t.doubleColumn("val_ppl_min").get(1), 0);
        assertEquals(1.25, t.doubleColumn("ppl_vs_teacher").get(1), 1e-12);
        assertEquals(0.5, t.doubleColumn("params_vs_teacher").get(1), 1e-12);
        assertEquals(2.0, t.doubleColumn("speed_vs_teacher").get(1), 1e-12);
        assertEquals(82.0 / 124, t.doubleColumn("params_vs_teacher").get(2), 1e-12);
        assertEquals(21.1 / 16.3, t.doubleColumn("ppl_vs_teacher").get(2), 1e-12);
        assertEquals(2, StudentComparison.perplexityVsParameters("p", teacher, List.of(s)).getSeriesMap().size(),
                "one series per training type: teacher, soft");
    }
}
