package org.distillery.quant;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The closed-form gradients of {@link NormTweak#distance} and {@link NormTweak#mse} against finite differences in double. */
class NormTweakLossTest {
    static final int N = 12, C = 5;

    private static double[] random(Random r, double shift, double scale) {
        double[] a = new double[N * C];
        for (int i = 0; i < a.length; i++) a[i] = shift + scale * r.nextGaussian();
        return a;
    }

    private interface Loss {
        double eval(double[] yq, double[] yf, int n, int c, double[] grad);
    }

    private static void checkGradient(Loss loss, long seed) {
        Random r = new Random(seed);
        double[] yq = random(r, 0.3, 1.5), yf = random(r, -0.2, 1.0);
        double[] g = new double[N * C];
        loss.eval(yq, yf, N, C, g);
        double h = 1e-6, worst = 0;
        for (int i = 0; i < yq.length; i++) {
            double orig = yq[i];
            yq[i] = orig + h;
            double lp = loss.eval(yq, yf, N, C, null);
            yq[i] = orig - h;
            double lm = loss.eval(yq, yf, N, C, null);
            yq[i] = orig;
            double fd = (lp - lm) / (2 * h);
            assertEquals(fd, g[i], 1e-7 + 1e-6 * Math.abs(g[i]), "entry " + i);
            worst = Math.max(worst, Math.abs(fd - g[i]));
        }
        System.out.printf("seed %d: max |closed form - finite difference| = %.2e%n", seed, worst);
    }

    @Test
    void distanceGradientMatchesFiniteDifferences() {
        for (long seed = 1; seed <= 3; seed++) checkGradient(NormTweak::distance, seed);
    }

    @Test
    void mseGradientMatchesFiniteDifferences() {
        checkGradient(NormTweak::mse, 4);
    }

    @Test
    void distanceOfKnownShiftsAndScales() {
        Random r = new Random(9);
        double[] yf = random(r, 0, 1), yq = new double[N * C];
        // a constant shift d_c per channel: |mean difference| = |d_c|, variances equal
        double[] d = {0.5, -1.0, 0.0, 2.0, -0.25};
        for (int i = 0; i < N; i++) for (int c = 0; c < C; c++) yq[i * C + c] = yf[i * C + c] + d[c];
        assertEquals((0.5 + 1.0 + 0.0 + 2.0 + 0.25) / C, NormTweak.distance(yq, yf, N, C, null), 1e-12);
        // scaling every channel by 2 around its mean: variance x4, means equal
        double sum = 0;
        for (int c = 0; c < C; c++) {
            double mu = 0, v = 0;
            for (int i = 0; i < N; i++) mu += yf[i * C + c] / N;
            for (int i = 0; i < N; i++) {
                yq[i * C + c] = mu + 2 * (yf[i * C + c] - mu);
                v += (yf[i * C + c] - mu) * (yf[i * C + c] - mu) / N;   // biased variance
            }
            sum += 3 * v;                                               // |4v - v|
        }
        assertEquals(sum / C, NormTweak.distance(yq, yf, N, C, null), 1e-12);
        assertEquals(0.0, NormTweak.distance(yf, yf, N, C, null));
        double[] g = new double[N * C];
        NormTweak.distance(yf, yf, N, C, g);
        for (double v : g) assertEquals(0.0, v, "a perfect match has a zero (sub)gradient");
        assertEquals(1.0, NormTweak.mse(new double[] {1, 2}, new double[] {0, 3}, 1, 2, null), 1e-15);
    }

    @Test
    void badShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NormTweak.distance(new double[6], new double[5], 2, 3, null));
        assertEquals("yq, yf, grad: need 6 = 2 x 3 values each", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NormTweak.mse(new double[0], new double[0], 0, 3, null));
    }
}
