package org.distillery.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Comparison of our tensors with a reference (e.g. a PyTorch fixture), as llm.c's tests print it. */
public final class Parity {
    private Parity() {}

    /** Prints and returns max|ours - ref| / max|ref| (element-wise relative error is meaningless near 0). */
    public static double report(String what, double[] ours, float[] ref) {
        assertEquals(ref.length, ours.length, what + ": element count");
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        double rel = maxDiff / maxRef;
        System.out.printf("%-58s max-abs-diff %.3e  max-abs-ref %.3e  rel %.3e%n", what, maxDiff, maxRef, rel);
        return rel;
    }
}
