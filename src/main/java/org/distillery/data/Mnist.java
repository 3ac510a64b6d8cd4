package org.distillery.data;

import java.nio.file.Path;
import java.util.Arrays;
import org.distillery.util.ProjectPaths;

/**
 * The shipped MNIST digits ({@code datasets/mnist/}, see its README): 10,000 labelled 28x28
 * grey-scale images split into {@link Split#TRAIN} (8,004) and {@link Split#TEST} (1,996),
 * stored as gzip'd IDX files. Files are checked against {@code SHA256SUMS} before they are read.
 *
 * <pre>{@code
 * Mnist train = Mnist.load(Mnist.Split.TRAIN);
 * float[] x = train.pixels(); // [n, 784], values k/255 in [0, 1]
 * int[] y = train.labels();   // [n], digits 0-9
 * }</pre>
 */
public final class Mnist {
    /** Image height. */
    public static final int ROWS = 28;
    /** Image width. */
    public static final int COLS = 28;
    /** Pixels per image, {@code ROWS * COLS}. */
    public static final int PIXELS = ROWS * COLS;
    /** Number of classes (digits 0-9). */
    public static final int CLASSES = 10;
    /** Dataset folder name under {@code datasets/}. */
    public static final String DIR = "mnist";

    /** The two splits, with the IDX file-name prefix of each. */
    public enum Split {
        TRAIN("train"), TEST("t10k");

        /** File-name prefix: {@code <prefix>-images-idx3-ubyte.gz}, {@code <prefix>-labels-idx1-ubyte.gz}. */
        public final String prefix;

        Split(String prefix) {
            this.prefix = prefix;
        }

        /** The image file's name. */
        public String imagesFile() {
            return prefix + "-images-idx3-ubyte.gz";
        }

        /** The label file's name. */
        public String labelsFile() {
            return prefix + "-labels-idx1-ubyte.gz";
        }
    }

    private final Split split;
    private final byte[] raw;   // [n, 784] unsigned bytes, row-major, 0 = background
    private final int[] labels; // [n] digits 0-9

    private Mnist(Split split, byte[] raw, int[] labels) {
        this.split = split;
        this.raw = raw;
        this.labels = labels;
    }

    /** Loads a split from the project's {@code datasets/} folder. */
    public static Mnist load(Split split) {
        return load(ProjectPaths.datasets(), split);
    }

    /**
     * Loads a split from {@code datasetsRoot/mnist/}, checking both files' sha256 first.
     *
     * @throws DatasetException if a file is missing, fails its checksum or is malformed
     */
    public static Mnist load(Path datasetsRoot, Split split) {
        Path dir = datasetsRoot.resolve(DIR);
        Path imagesPath = DatasetFiles.verified(dir, split.imagesFile());
        Path labelsPath = DatasetFiles.verified(dir, split.labelsFile());
        Idx.Tensor images = Idx.read(imagesPath); // [n, 28, 28]
        Idx.Tensor labelT = Idx.read(labelsPath); // [n]
        int[] di = images.dims();
        int[] dl = labelT.dims();
        if (images.type() != Idx.Type.UBYTE || di.length != 3 || di[1] != ROWS || di[2] != COLS) {
            throw new DatasetException(imagesPath + ": expected UBYTE images [n, 28, 28], got "
                    + images.type() + " " + Arrays.toString(di));
        }
        if (labelT.type() != Idx.Type.UBYTE || dl.length != 1 || dl[0] != di[0]) {
            throw new DatasetException(labelsPath + ": expected UBYTE labels [" + di[0] + "], got "
                    + labelT.type() + " " + Arrays.toString(dl));
        }
        byte[] lb = labelT.unsignedBytes();
        int[] labels = new int[lb.length]; // [n]
        for (int i = 0; i < lb.length; i++) {
            labels[i] = lb[i] & 0xFF;
            if (labels[i] >= CLASSES) {
                throw new DatasetException(labelsPath + ": label " + labels[i] + " at index " + i + " is not a digit 0-9");
            }
        }
        return new Mnist(split, images.unsignedBytes(), labels);
    }

    /** Which split this is. */
    public Split split() {
        return split;
    }

    /** Number of images. */
    public int size() {
        return labels.length;
    }

    /** All images as floats {@code k / 255f} in [0, 1], row-major {@code [n, 784]} (a new array). */
    public float[] pixels() {
        float[] out = new float[raw.length]; // [n, 784]
        for (int i = 0; i < raw.length; i++) {
            out[i] = (raw[i] & 0xFF) / 255f;
        }
        return out;
    }

    /** The raw pixel bytes, row-major {@code [n, 784]}, unsigned 0-255 (read with {@code & 0xFF}; a copy). */
    public byte[] rawPixels() {
        return raw.clone();
    }

    /** Pixel {@code p} (0-783, row-major) of image {@code i} as an unsigned byte value 0-255. */
    public int rawPixel(int i, int p) {
        if (p < 0 || p >= PIXELS) {
            throw new IndexOutOfBoundsException("pixel " + p + " outside 0-" + (PIXELS - 1));
        }
        return raw[i * PIXELS + p] & 0xFF;
    }

    /** The labels, {@code [n]}, digits 0-9 (a copy). */
    public int[] labels() {
        return labels.clone();
    }

    /** Label of image {@code i}. */
    public int label(int i) {
        return labels[i];
    }

    /** Number of images per digit, {@code [10]}. */
    public int[] labelCounts() {
        int[] c = new int[CLASSES];
        for (int y : labels) {
            c[y]++;
        }
        return c;
    }
}
