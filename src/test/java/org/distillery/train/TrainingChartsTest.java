package org.distillery.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import tech.tablesaw.api.Table;

class TrainingChartsTest {
    @TempDir
    Path tmp;

    @Test
    void lossCurveHasTheTrainLineAndTheValidationPoints() throws Exception {
        Path csv = Files.writeString(tmp.resolve("metrics.csv"), String.join("\n",
                "step,split,metric,value", "1,train,loss,5.5", "1,train,lr,0.001", "2,train,loss,4.5",
                "2,val,loss,4.75", "3,train,loss,4.0", ""));
        Table m = TrainingCharts.metrics(csv);
        assertEquals(5, m.rowCount());
        assertArrayEquals(new double[] {5.5, 4.5, 4.0},
                TrainingCharts.series(m, "train", "loss").numberColumn("value").asDoubleArray());
        XYChart chart = TrainingCharts.lossCurve(m, "run");
        assertEquals(List.of("train", "validation"), List.copyOf(chart.getSeriesMap().keySet()));
        assertArrayEquals(new double[] {2}, chart.getSeriesMap().get("validation").getXData());
    }
}
