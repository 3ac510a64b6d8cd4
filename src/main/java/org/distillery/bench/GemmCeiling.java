package org.distillery.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The machine's practical ceiling for the benchmarked model: GFLOP/s of {@code Nd4j.gemm} into a
 * preallocated output on the model's own matrix shapes (the best of several repetitions per shape, the
 * best shape reported). An engine that reached it on every FLOP would run at this speed.
 */
public final class GemmCeiling {
    private GemmCeiling() {}

    /** Best GFLOP/s over the shapes [B*T, C] x [C, n] for n in 3C, 4C, V and [B*T, 4C] x [4C, C]. */
    public static double measure(BenchConfig cfg) {
        int m = cfg.batch() * cfg.context(), c = cfg.dModel();
        int[][] shapes = {{m, c, 3 * c}, {m, c, 4 * c}, {m, 4 * c, c}, {m, c, cfg.vocabSize()}};
        double best = 0;
        for (int[] s : shapes) {
            INDArray a = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
            INDArray b = Nd4j.rand(DataType.FLOAT, s[1], s[2]);
            INDArray out = Nd4j.create(DataType.FLOAT, s[0], s[2]);
            double flops = 2.0 * s[0] * s[1] * s[2];
            for (int rep = 0; rep < 12; rep++) {
                long t0 = System.nanoTime();
                Nd4j.gemm(a, b, out, false, false, 1.0, 0.0);
                double sec = (System.nanoTime() - t0) / 1e9;
                if (rep >= 2) {
                    best = Math.max(best, flops / sec / 1e9);
                }
            }
        }
        return best;
    }
}
