package org.distillery.notebook;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.distillery.notebook.ChartAxes.Scale;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** The scale rule of {@link ChartAxes} at its boundaries, and what it sets on a chart. */
class ChartAxesTest {
    @Test
    void aRangeUnderThreeTimesStaysLinear() {
        // notebook 20's full-profile perplexities: 9.501 to 14.525, where a log axis labelled only "10"
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {9.501, 9.513, 10.63, 14.525}));
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {1, Math.nextDown(3.0)}));
        assertEquals(Scale.LOG_EVERY_TICK_LABELLED, ChartAxes.scaleFor(new double[] {1, 3}));
    }

    @Test
    void upToTwelveTimesEveryTickIsLabelledBeyondOnlyDecades() {
        // notebook 20's model sizes in MB (2-bit to float32)
        assertEquals(Scale.LOG_EVERY_TICK_LABELLED, ChartAxes.scaleFor(new double[] {0.482, 0.9, 3.370}));
        assertEquals(Scale.LOG_EVERY_TICK_LABELLED, ChartAxes.scaleFor(new double[] {2, 24}));
        assertEquals(Scale.LOG_DECADES_LABELLED, ChartAxes.scaleFor(new double[] {2, Math.nextUp(24.0)}));
        assertEquals(Scale.LOG_DECADES_LABELLED, ChartAxes.scaleFor(new double[] {1e-14, 0.3, 1}));
    }

    @Test
    void zeroNegativeOrNoFiniteValuesGiveALinearAxisAndNonFiniteValuesAreIgnored() {
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {0, 10, 90}));
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {-1, 100}));
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {}));
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {Double.NaN, Double.POSITIVE_INFINITY}));
        assertEquals(Scale.LINEAR, ChartAxes.scaleFor(new double[] {5, Double.NaN, 6, Double.POSITIVE_INFINITY}));
        assertEquals(Scale.LOG_DECADES_LABELLED, ChartAxes.scaleFor(new double[] {1, Double.NaN, 1000}));
    }

    private static XYChart chart(String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(400).height(300).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        c.addSeries("a", new double[] {0.5, 0.9}, new double[] {9.5, 14.5});
        c.addSeries("b", new double[] {3.4}, new double[] {9.6});
        return c;
    }

    @Test
    void theScaleIsChosenFromEverySeriesOnTheAxisAndSetOnTheStyler() {
        XYChart c = chart("model size (MB)", "validation perplexity");
        c.getStyler().setYAxisLogarithmic(true);                // an earlier choice is overridden
        assertArrayEquals(new double[] {0.5, 0.9, 3.4}, ChartAxes.values(c, true));
        assertEquals(Scale.LOG_EVERY_TICK_LABELLED, ChartAxes.logX(c));
        assertEquals(Scale.LINEAR, ChartAxes.logY(c));
        assertTrue(c.getStyler().isXAxisLogarithmic());
        assertFalse(c.getStyler().isXAxisLogarithmicDecadeOnly());
        assertFalse(c.getStyler().isYAxisLogarithmic());
        assertEquals("model size (MB) (log scale)", c.getXAxisTitle());
        assertEquals("validation perplexity", c.getYAxisTitle());
    }

    @Test
    void aWideRangeLabelsDecadesOnlyAndATitleSayingLogIsKept() {
        XYChart c = chart("T", "probability (log)");
        c.addSeries("c", new double[] {100}, new double[] {1e-9});
        assertEquals(Scale.LOG_DECADES_LABELLED, ChartAxes.logX(c));
        assertEquals(Scale.LOG_DECADES_LABELLED, ChartAxes.logY(c));
        assertTrue(c.getStyler().isXAxisLogarithmicDecadeOnly());
        assertTrue(c.getStyler().isYAxisLogarithmicDecadeOnly());
        assertEquals("T (log scale)", c.getXAxisTitle());
        assertEquals("probability (log)", c.getYAxisTitle());
        XYChart d = chart("logits", "");
        d.addSeries("c", new double[] {100}, new double[] {1e-9});
        ChartAxes.logX(d);
        ChartAxes.logY(d);
        assertEquals("logits (log scale)", d.getXAxisTitle());
        assertEquals("log scale", d.getYAxisTitle());
    }
}
