package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

class FormatChartsTest {

    @Test
    void chartsRender() {
        float[] w = WeightSamples.weightLike(5_000);
        CategoryChart range = FormatCharts.dynamicRange(FloatFormat.STANDARD, List.of(IntFormat.INT8));
        assertEquals(2, range.getSeriesMap().size());
        XYChart line = FormatCharts.numberLine(List.of(FloatFormat.FP8_E4M3, FloatFormat.FP8_E5M2));
        assertEquals(126, line.getSeriesMap().values().iterator().next().getXData().length);
        Table errors = RoundingError.measure(w, FloatFormat.FP32, FloatFormat.FP16, IntFormat.INT4);
        CategoryChart sqnr = FormatCharts.sqnr(errors);
        assertEquals(2, sqnr.getSeriesMap().values().iterator().next().getXData().size()); // FP32 is infinite
        XYChart hist = FormatCharts.relativeErrorHistogram(w, List.of(FloatFormat.BF16, IntFormat.INT8), 40);
        assertEquals(2, hist.getSeriesMap().size());
        for (var chart : List.of(range, line, sqnr, hist)) {
            BufferedImage img = BitmapEncoder.getBufferedImage(chart);
            assertEquals(900, img.getWidth());
        }
    }
}
