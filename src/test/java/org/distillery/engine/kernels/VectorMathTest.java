package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The tier-independent vector math of {@link VectorOps}: exp against Math in double, each vector
 * lane bit-identical to the scalar twin, and sumLanes against a double sum; the results are the same
 * before and after JIT compilation.
 */
class VectorMathTest {

    private static final int LANES = VectorOps.LANES;

    private static float[] inputs(long seed, int n, double scale) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * scale);
        return x;
    }

    private static float[] vexp(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i += LANES) VectorOps.exp(FloatVector.fromArray(VectorOps.SPECIES, x, i)).intoArray(out, i);
        return out;
    }

    @Test
    void expIsAccurateAndLanesMatchTheScalarTwin() {
        float[] x = inputs(1, LANES * 4096, 20);
        x[0] = 0f; x[1] = -200f; x[2] = 200f; x[3] = -87f; x[4] = 88f; x[5] = 1f;
        float[] cold = vexp(x);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(VectorOps.exp(x[i])), Float.floatToRawIntBits(cold[i]), "lane vs scalar at x=" + x[i]);
            double ref = Math.exp(Math.min(Math.max(x[i], -87.0), 88.0));
            worst = Math.max(worst, Math.abs(cold[i] - ref) / ref);
        }
        assertEquals(1f, cold[0]);
        System.out.printf("exp: worst relative error %.2e over [-87, 88]%n", worst);
        assertTrue(worst < 3e-7, "exp relative error " + worst);
        for (int k = 0; k < 300; k++) vexp(x);                     // JIT-compile
        assertArrayEquals(cold, vexp(x), "exp before and after compilation");
    }

    @Test
    void sumLanesIsAFixedOrderSum() {
        float[] x = inputs(3, LANES * 1000, 1);
        float[] cold = new float[1000];
        for (int k = 0; k < 1000; k++) {
            FloatVector v = FloatVector.fromArray(VectorOps.SPECIES, x, k * LANES);
            cold[k] = VectorOps.sumLanes(v);
            double ref = 0, abs = 0;
            for (int i = 0; i < LANES; i++) { ref += x[k * LANES + i]; abs += Math.abs(x[k * LANES + i]); }
            assertEquals(ref, cold[k], 1e-6 * abs);
        }
        for (int r = 0; r < 300; r++) {
            for (int k = 0; k < 1000; k++) VectorOps.sumLanes(FloatVector.fromArray(VectorOps.SPECIES, x, k * LANES));
        }
        for (int k = 0; k < 1000; k++) {
            assertEquals(cold[k], VectorOps.sumLanes(FloatVector.fromArray(VectorOps.SPECIES, x, k * LANES)), "after compilation, vector " + k);
        }
    }
}
