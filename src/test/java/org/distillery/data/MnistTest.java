package org.distillery.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shipped MNIST split: counts, shapes, label and pixel ranges, and the float view. */
class MnistTest {
    static Mnist train;
    static Mnist test;

    @BeforeAll
    static void load() {
        train = Mnist.load(Mnist.Split.TRAIN);
        test = Mnist.load(Mnist.Split.TEST);
    }

    @Test
    void countsPerSplitAndDigit() {
        assertEquals(8004, train.size());
        assertEquals(1996, test.size());
        assertArrayEquals(new int[] {801, 902, 793, 826, 784, 691, 812, 856, 756, 783}, train.labelCounts());
        assertArrayEquals(new int[] {200, 225, 198, 206, 196, 172, 202, 214, 188, 195}, test.labelCounts());
    }

    @Test
    void shapesAndLabelRange() {
        assertEquals(784, Mnist.PIXELS);
        for (Mnist m : new Mnist[] {train, test}) {
            assertEquals(m.size() * 784, m.rawPixels().length);
            assertEquals(m.size() * 784, m.pixels().length);
            int[] y = m.labels();
            assertEquals(m.size(), y.length);
            for (int v : y) {
                assertTrue(v >= 0 && v <= 9, "label " + v);
            }
            // round-robin order: the first 10 labels are 0..9
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, java.util.Arrays.copyOf(y, 10));
        }
    }

    @Test
    void pixelsAreBytesAndFloatsAreTheirExactScaling() {
        // reference values computed from the IDX files with Python when they were made
        long[] sums = {209482112L, 52664488L};
        long[] firstImage = {31095, 45543};
        Mnist[] splits = {train, test};
        for (int s = 0; s < 2; s++) {
            byte[] raw = splits[s].rawPixels(); // [n, 784]
            float[] x = splits[s].pixels();     // [n, 784]
            long sum = 0;
            long first = 0;
            int min = 255;
            int max = 0;
            for (int i = 0; i < raw.length; i++) {
                int k = raw[i] & 0xFF;
                sum += k;
                if (i < 784) {
                    first += k;
                }
                min = Math.min(min, k);
                max = Math.max(max, k);
                assertEquals(k / 255f, x[i]);
                assertTrue(x[i] >= 0f && x[i] <= 1f);
            }
            assertEquals(sums[s], sum);
            assertEquals(firstImage[s], first);
            assertEquals(0, min);
            assertEquals(255, max);
            assertEquals(raw[784 + 300] & 0xFF, splits[s].rawPixel(1, 300));
        }
    }

    @Test
    void accessorsReturnCopies() {
        train.labels()[0] = 7;
        train.rawPixels()[0] = 1;
        assertEquals(0, train.label(0));
        assertEquals(0, train.rawPixel(0, 0));
    }
}
