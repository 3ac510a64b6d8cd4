package org.distillery.prune;

import java.util.Random;

/**
 * A random linear layer with correlated calibration inputs for the layer-level pruning tests: X [n, in] =
 * (Z A + 0.5 E) D with Z [n, 8] and E [n, in] standard normal, A [8, in] standard normal (8 latent factors: strongly
 * correlated features) and D = diag(exp(0.75 N(0, 1))) (features of very different scales, as LLM activations
 * have); W [out, in] standard normal. H = (2/n) X^T X in double.
 */
final class LayerFixture {
    final int out, in, n;
    final float[] w;          // [out, in]
    final double[] x;         // [n, in]
    final double[] h;         // [in, in]

    LayerFixture(int out, int in, int n, long seed) {
        this.out = out;
        this.in = in;
        this.n = n;
        Random r = new Random(seed);
        w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        int k = 8;                                            // latent factors
        double[] a = new double[k * in];                      // [k, in]
        for (int i = 0; i < a.length; i++) a[i] = r.nextGaussian();
        double[] scale = new double[in];
        for (int j = 0; j < in; j++) scale[j] = Math.exp(0.75 * r.nextGaussian());
        x = new double[n * in];
        double[] z = new double[k];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < k; i++) z[i] = r.nextGaussian();
            for (int j = 0; j < in; j++) {
                double s = 0.5 * r.nextGaussian();
                for (int i = 0; i < k; i++) s += z[i] * a[i * in + j];
                x[t * in + j] = (float) (s * scale[j]);          // fp32 values, like real activations
            }
        }
        h = new double[in * in];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < in; i++) {
                double xi = x[t * in + i];
                for (int j = 0; j < in; j++) h[i * in + j] += xi * x[t * in + j];
            }
        }
        for (int i = 0; i < h.length; i++) h[i] *= 2.0 / n;
    }

    /** ||X W^T - X W'^T||_F^2 / ||X W^T||_F^2 in double. */
    double relativeError(float[] pruned) {
        double num = 0, den = 0;
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double y = 0, yp = 0;
                for (int j = 0; j < in; j++) {
                    y += x[t * in + j] * w[o * in + j];
                    yp += x[t * in + j] * pruned[o * in + j];
                }
                num += (y - yp) * (y - yp);
                den += y * y;
            }
        }
        return num / den;
    }

    /** ||X_j||_2 per input column. */
    double[] norms() {
        double[] s = new double[in];
        for (int t = 0; t < n; t++) for (int j = 0; j < in; j++) s[j] += x[t * in + j] * x[t * in + j];
        for (int j = 0; j < in; j++) s[j] = Math.sqrt(s[j]);
        return s;
    }

    /** X as an fp32 tensor [n, in]. */
    org.distillery.engine.kernels.FloatTensor xTensor() {
        return org.distillery.engine.kernels.FloatTensor.of(x, n, in);
    }
}
