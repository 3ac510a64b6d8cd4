package org.distillery.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ImageJitterTest {

    /** A 3x4 image with distinct pixel values 1..12. */
    private static final float[] IMAGE = {
            1, 2, 3, 4,
            5, 6, 7, 8,
            9, 10, 11, 12};

    private static float[] shifted(int dy, int dx) {
        float[] out = new float[12];
        java.util.Arrays.fill(out, -7f);                     // every pixel must be overwritten
        ImageJitter.shift(IMAGE, 0, out, 0, 3, 4, dy, dx);
        return out;
    }

    @Test
    void shiftsAHandMadeImageWithZeroFill() {
        assertArrayEquals(IMAGE, shifted(0, 0));
        assertArrayEquals(new float[] {
                0, 0, 0, 0,
                1, 2, 3, 4,
                5, 6, 7, 8}, shifted(1, 0), "down by one");
        assertArrayEquals(new float[] {
                0, 0, 1, 2,
                0, 0, 5, 6,
                0, 0, 9, 10}, shifted(0, 2), "right by two");
        assertArrayEquals(new float[] {
                6, 7, 8, 0,
                10, 11, 12, 0,
                0, 0, 0, 0}, shifted(-1, -1), "up and left by one");
        assertArrayEquals(new float[] {
                0, 0, 0, 0,
                0, 0, 0, 0,
                3, 4, 0, 0}, shifted(2, -2), "down two, left two");
        assertArrayEquals(new float[12], shifted(3, 0), "shifted out of the frame");
        assertArrayEquals(new float[12], shifted(0, -4));
        assertArrayEquals(new float[12], shifted(Integer.MIN_VALUE, Integer.MAX_VALUE));
    }

    @Test
    void writesAtOffsetsAndLeavesTheRestAlone() {
        float[] src = new float[5 + 12], dst = new float[3 + 12 + 2];
        System.arraycopy(IMAGE, 0, src, 5, 12);
        java.util.Arrays.fill(dst, 9f);
        ImageJitter.shift(src, 5, dst, 3, 3, 4, 0, 1);
        float[] expect = {9, 9, 9,
                0, 1, 2, 3,
                0, 5, 6, 7,
                0, 9, 10, 11,
                9, 9};
        assertArrayEquals(expect, dst);
    }

    @Test
    void offsetsAreUniformOnMinusTwoToTwoAndSeeded() {
        int[] counts = new int[5];
        int n = 50_000;
        for (int i = 0; i < n; i++) {
            int dy = ImageJitter.offset(42, i, 0, 2), dx = ImageJitter.offset(42, i, 1, 2);
            assertTrue(dy >= -2 && dy <= 2 && dx >= -2 && dx <= 2, dy + ", " + dx);
            counts[dy + 2]++;
            assertEquals(dy, ImageJitter.offset(42, i, 0, 2), "pure function of (seed, image, axis)");
        }
        for (int c : counts) assertEquals(n / 5.0, c, 5 * Math.sqrt(n / 5.0), "each offset about 1/5: " + java.util.Arrays.toString(counts));
        int same = 0;
        for (int i = 0; i < 1000; i++) if (ImageJitter.offset(1, i, 0, 2) == ImageJitter.offset(2, i, 0, 2)) same++;
        assertTrue(same < 300, "another seed, other offsets: " + same + " of 1000 equal");
        assertEquals(0, ImageJitter.offset(5, 3, 1, 0), "maxShift 0 is no jitter");
    }

    @Test
    void batchJitterMatchesPerImageShiftsAndIsDeterministic() {
        int n = 6;
        float[] src = new float[n * 12];
        for (int i = 0; i < src.length; i++) src[i] = i + 1;
        float[] a = new float[src.length], b = new float[src.length];
        ImageJitter.jitter(src, a, n, 3, 4, 2, 77);
        ImageJitter.jitter(src, b, n, 3, 4, 2, 77);
        assertArrayEquals(a, b);
        for (int i = 0; i < n; i++) {
            float[] one = new float[12];
            ImageJitter.shift(src, i * 12, one, 0, 3, 4, ImageJitter.offset(77, i, 0, 2), ImageJitter.offset(77, i, 1, 2));
            assertArrayEquals(one, java.util.Arrays.copyOfRange(a, i * 12, i * 12 + 12), "image " + i);
        }
    }

    @Test
    void badArguments() {
        float[] img = new float[12];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageJitter.shift(img, 1, new float[12], 0, 3, 4, 0, 0));
        assertTrue(e.getMessage().contains("src") && e.getMessage().contains("12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageJitter.shift(img, 0, img, 0, 3, 4, 1, 0));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageJitter.jitter(img, new float[12], 1, 3, 4, -1, 0));
        assertTrue(e.getMessage().contains("maxShift"), e.getMessage());
    }
}
