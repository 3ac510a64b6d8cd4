package org.distillery.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** Writes a fake {@code root/mnist} test split with the given tensors and a matching SHA256SUMS. */
    private static void fakeTestSplit(Path root, Idx.Tensor images, Idx.Tensor labels) throws Exception {
        Path dir = root.resolve("mnist");
        Idx.write(dir.resolve("t10k-images-idx3-ubyte.gz"), images);
        Idx.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), labels);
        Files.writeString(dir.resolve("SHA256SUMS"),
                DatasetFiles.sha256(dir.resolve("t10k-images-idx3-ubyte.gz")) + "  t10k-images-idx3-ubyte.gz\n"
                + DatasetFiles.sha256(dir.resolve("t10k-labels-idx1-ubyte.gz")) + "  t10k-labels-idx1-ubyte.gz\n");
    }

    @Test
    void rejectsWrongShapesAndLabels(@TempDir Path root) throws Exception {
        Path dir = root.resolve("mnist");
        fakeTestSplit(root, Idx.Tensor.ofUnsignedBytes(new byte[2 * 27 * 27], 2, 27, 27),
                Idx.Tensor.ofUnsignedBytes(new byte[2], 2));
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz") + ": expected UBYTE images [n, 28, 28], got UBYTE [2, 27, 27]",
                assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TEST)).getMessage());
        fakeTestSplit(root, Idx.Tensor.ofUnsignedBytes(new byte[2 * 784], 2, 28, 28),
                Idx.Tensor.ofUnsignedBytes(new byte[3], 3));
        assertEquals(dir.resolve("t10k-labels-idx1-ubyte.gz") + ": expected UBYTE labels [2], got UBYTE [3]",
                assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TEST)).getMessage());
        fakeTestSplit(root, Idx.Tensor.ofUnsignedBytes(new byte[2 * 784], 2, 28, 28),
                Idx.Tensor.ofUnsignedBytes(new byte[] {3, 10}, 2));
        assertEquals(dir.resolve("t10k-labels-idx1-ubyte.gz") + ": label 10 at index 1 is not a digit 0-9",
                assertThrows(DatasetException.class, () -> Mnist.load(root, Mnist.Split.TEST)).getMessage());
        // a well-formed fake split loads, with exact float scaling
        byte[] px = new byte[2 * 784]; // [2, 784]
        px[5] = (byte) 255;
        px[784 + 6] = (byte) 128;
        fakeTestSplit(root, Idx.Tensor.ofUnsignedBytes(px, 2, 28, 28), Idx.Tensor.ofUnsignedBytes(new byte[] {3, 9}, 2));
        Mnist m = Mnist.load(root, Mnist.Split.TEST);
        assertArrayEquals(new int[] {3, 9}, m.labels());
        assertEquals(1f, m.pixels()[5]);
        assertEquals(128 / 255f, m.pixels()[784 + 6]);
        assertEquals(128, m.rawPixel(1, 6));
    }
}
