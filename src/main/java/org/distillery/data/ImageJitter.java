package org.distillery.data;

import org.distillery.util.Seeds;

import java.util.Arrays;

/**
 * Input jitter for image batches: every image is translated by a random integer offset
 * (dy, dx) in [-maxShift, maxShift]^2 pixels, with zero fill where the shifted image leaves the frame
 * and whatever moves out of the frame dropped. This is the augmentation of Hinton, Vinyals and Dean
 * (2015, "Distilling the Knowledge in a Neural Network", section 3), whose MNIST teacher saw inputs
 * "jittered by up to two pixels in any direction" (maxShift = 2, 25 possible offsets, each equally likely).
 *
 * <p>Pure functions of their arguments: the offset of image {@code i} under {@code seed} is a hash of
 * (seed, i) (the SplitMix64 finaliser, as {@link org.distillery.engine.kernels.DropoutKernel}), so a run
 * is reproducible from the seed and independent of the order images are processed in. Callers derive a
 * fresh seed per batch (e.g. from the run seed and the step number). Images are row-major
 * {@code [rows, cols]} floats, batches {@code [n, rows*cols]}.
 */
public final class ImageJitter {
    private ImageJitter() {}


    /**
     * Copies one image shifted by (dy, dx): {@code dst[r][c] = src[r - dy][c - dx]}, or 0 where
     * {@code (r - dy, c - dx)} lies outside the image. Positive dy moves the content down, positive dx to
     * the right. {@code src} and {@code dst} must not overlap.
     *
     * @param src    source pixels, the image starting at {@code srcOff}
     * @param srcOff offset of the source image in {@code src}
     * @param dst    destination, the image starting at {@code dstOff} (rows*cols floats overwritten)
     * @param dstOff offset of the destination image in {@code dst}
     * @param rows   image height, &gt;= 1
     * @param cols   image width, &gt;= 1
     * @param dy     vertical shift in pixels (any integer; |dy| &gt;= rows gives an empty image)
     * @param dx     horizontal shift in pixels (any integer; |dx| &gt;= cols gives an empty image)
     */
    public static void shift(float[] src, int srcOff, float[] dst, int dstOff, int rows, int cols, int dy, int dx) {
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("rows, cols: image size must be >= 1 x 1 but was " + rows + " x " + cols);
        }
        int n = rows * cols;
        checkRange("src", src, srcOff, n);
        checkRange("dst", dst, dstOff, n);
        if (src == dst && srcOff < dstOff + n && dstOff < srcOff + n) {
            throw new IllegalArgumentException("src, dst: the images overlap (offsets " + srcOff + " and " + dstOff
                    + ", " + n + " pixels each)");
        }
        dy = Math.max(-rows, Math.min(rows, dy));             // larger shifts empty the image all the same
        dx = Math.max(-cols, Math.min(cols, dx));             // (and cannot overflow below)
        for (int r = 0; r < rows; r++) {
            int sr = r - dy;
            int d = dstOff + r * cols;
            if (sr < 0 || sr >= rows) {
                Arrays.fill(dst, d, d + cols, 0f);
                continue;
            }
            // destination columns c with 0 <= c - dx < cols
            int c0 = Math.max(0, dx), c1 = Math.min(cols, cols + dx);
            if (c0 >= c1) {
                Arrays.fill(dst, d, d + cols, 0f);
                continue;
            }
            Arrays.fill(dst, d, d + c0, 0f);
            System.arraycopy(src, srcOff + sr * cols + (c0 - dx), dst, d + c0, c1 - c0);
            Arrays.fill(dst, d + c1, d + cols, 0f);
        }
    }

    /**
     * The shift of image {@code image} under {@code seed} along {@code axis} (0: dy, 1: dx), uniform on
     * the integers in [-maxShift, maxShift].
     */
    public static int offset(long seed, long image, int axis, int maxShift) {
        if (maxShift < 0) throw new IllegalArgumentException("maxShift: must be >= 0 but was " + maxShift);
        if (axis != 0 && axis != 1) throw new IllegalArgumentException("axis: must be 0 (dy) or 1 (dx) but was " + axis);
        long z = Seeds.finalise(seed + (2 * image + axis + 1) * Seeds.GOLDEN);
        double u = (z >>> 11) * 0x1.0p-53;                    // [0, 1)
        return (int) (u * (2 * maxShift + 1)) - maxShift;
    }

    /**
     * Jitters a batch: image i of {@code src} ({@code [n, rows*cols]}) is written to image i of
     * {@code dst} shifted by ({@link #offset}(seed, i, 0, maxShift), {@link #offset}(seed, i, 1, maxShift)).
     *
     * @param src      n images, row-major, {@code n*rows*cols} floats (at least)
     * @param dst      output, same layout (must not be {@code src})
     * @param n        number of images, &gt;= 0
     * @param rows     image height
     * @param cols     image width
     * @param maxShift largest shift in pixels along each axis (2 for Hinton et al.), &gt;= 0
     * @param seed     jitter seed of this batch
     */
    public static void jitter(float[] src, float[] dst, int n, int rows, int cols, int maxShift, long seed) {
        if (n < 0) throw new IllegalArgumentException("n: number of images must be >= 0 but was " + n);
        if (maxShift < 0) throw new IllegalArgumentException("maxShift: must be >= 0 but was " + maxShift);
        if (src == dst) throw new IllegalArgumentException("src, dst: must be different arrays");
        int size = rows * cols;
        for (int i = 0; i < n; i++) {
            shift(src, i * size, dst, i * size, rows, cols, offset(seed, i, 0, maxShift), offset(seed, i, 1, maxShift));
        }
    }

    private static void checkRange(String name, float[] a, int off, int n) {
        if (a == null) throw new IllegalArgumentException(name + ": must not be null");
        if (off < 0 || off > a.length - n) {
            throw new IllegalArgumentException(name + ": an image of " + n + " pixels at offset " + off
                    + " does not fit in an array of length " + a.length);
        }
    }
}
