package org.distillery.formats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WeightSamplesTest {

    @Test
    void reproducibleAndShapedLikeWeights() {
        float[] a = WeightSamples.weightLike(400_000);
        assertArrayEquals(a, WeightSamples.weightLike(400_000));
        assertArrayEquals(a, WeightSamples.studentT(400_000, 5, 0.02, 42));
        double sum = 0, sumSq = 0, sum4 = 0;
        for (float v : a) {
            sum += v;
            sumSq += (double) v * v;
        }
        double mean = sum / a.length;
        double var = sumSq / a.length - mean * mean;
        for (float v : a) {
            double d = v - mean;
            sum4 += d * d * d * d;
        }
        double kurtosis = sum4 / a.length / (var * var);
        // mean 0 (standard error 0.02 / sqrt(n) ~ 3e-5), std 0.02, heavier tails than a normal (kurtosis 3;
        // Student-t with 5 dof has kurtosis 9, though its sample estimate converges slowly)
        assertEquals(0, mean, 2e-4);
        assertEquals(0.02, Math.sqrt(var), 0.02 * 0.02);
        assertTrue(kurtosis > 4, "kurtosis " + kurtosis);
    }

    @Test
    void normalReferenceAndDescription() {
        float[] g = WeightSamples.normal(100_000, 0.02, 1);
        assertArrayEquals(g, WeightSamples.normal(100_000, 0.02, 1));
        tech.tablesaw.api.Table t = WeightSamples.describe("g", g);
        assertEquals(1, t.rowCount());
        assertEquals("g", t.stringColumn("sample").get(0));
        assertEquals(100_000, t.intColumn("n").get(0));
        assertEquals(0.02, t.doubleColumn("std").get(0), 0.02 * 0.02);
        assertEquals(3, t.doubleColumn("kurtosis").get(0), 0.1); // normal: 3, standard error ~ sqrt(24/n)
    }

    @Test
    void badArguments() {
        assertEquals("n = -1 must be >= 0",
                assertThrows(IllegalArgumentException.class, () -> WeightSamples.studentT(-1, 5, 0.02, 1)).getMessage());
        assertEquals("dof = 2 is out of range: accepted 3 to 1000 (finite variance)",
                assertThrows(IllegalArgumentException.class, () -> WeightSamples.studentT(1, 2, 0.02, 1)).getMessage());
        assertEquals("std = 0.0 must be positive and finite",
                assertThrows(IllegalArgumentException.class, () -> WeightSamples.studentT(1, 5, 0, 1)).getMessage());
    }
}
