package org.distillery.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link ParetoFrontier} against a hand example and against the definition (a brute-force twin) on random points. */
class ParetoFrontierTest {
    @Test
    void handExample() {
        //             0    1    2    3    4    5
        double[] c = {4, 1, 2, 3, 2, 5};
        double[] l = {10, 30, 20, 25, 20, 9};
        // 1 (1, 30); 2 and 4 (2, 20) equal, both kept; 3 (3, 25) dominated by 2; 0 (4, 10); 5 (5, 9)
        assertArrayEquals(new int[] {1, 2, 4, 0, 5}, ParetoFrontier.indices(c, l));
        assertArrayEquals(new int[] {0}, ParetoFrontier.indices(new double[] {1}, new double[] {1}));
        assertArrayEquals(new int[] {}, ParetoFrontier.indices(new double[0], new double[0]));
    }

    @Test
    void matchesTheDefinitionOnRandomPoints() {
        Random r = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(12);
            double[] c = new double[n], l = new double[n];
            for (int i = 0; i < n; i++) {
                c[i] = r.nextInt(5);
                l[i] = r.nextInt(5);
            }
            int[] got = ParetoFrontier.indices(c, l);
            java.util.Set<Integer> expected = new java.util.TreeSet<>();
            for (int i = 0; i < n; i++) {
                boolean dominated = false;
                for (int j = 0; j < n; j++) {
                    if (c[j] <= c[i] && l[j] <= l[i] && (c[j] < c[i] || l[j] < l[i])) dominated = true;
                }
                if (!dominated) expected.add(i);
            }
            assertEquals(expected, new java.util.TreeSet<>(java.util.Arrays.stream(got).boxed().toList()), "trial " + trial);
        }
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ParetoFrontier.indices(new double[] {1, 2}, new double[] {1}));
        assertEquals("cost, loss: lengths 2 and 1 differ", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ParetoFrontier.indices(new double[] {1}, new double[] {Double.NaN}));
        assertEquals("cost, loss: point 0 is (1.0, NaN); both must be finite", e.getMessage());
    }
}
