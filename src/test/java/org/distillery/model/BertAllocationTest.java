package org.distillery.model;

import static org.distillery.testing.AllocationMeter.allocated;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.distillery.model.BertTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * As {@link GptAllocationTest}: after warm-up, forward + backward allocate nothing on the Java heap except
 * what ND4J's {@code Nd4j.gemm} allocates per call (the qkv packing copies and the padding-row save allocate
 * nothing).
 */
@Tag("allocation") // measured in a JVM of its own: see the surefire executions in pom.xml
class BertAllocationTest {

    /** Steady-state heap bytes per run of {@code r} (the minimum over rounds after warm-up). */
    private static long bytesPerRun(Runnable r, int warm, int measured) {
        long best = Long.MAX_VALUE;
        for (int round = 0; round < 8; round++) {
            for (int i = 0; i < warm; i++) r.run();
            long before = allocated();
            for (int i = 0; i < measured; i++) r.run();
            best = Math.min(best, (allocated() - before) / measured);
        }
        return best;
    }

    @Test
    void onlyTheGemmCallsAllocateAfterWarmUp() {
        Bert m = new Bert(tinyConfig(), B, T, 1);
        int[] ids = randomIds(1, B * T, 0, V), types = segments(B, T), labels = labels(2, LENGTHS, T);
        long step = bytesPerRun(() -> {
            m.forward(ids, types, LENGTHS, labels, B, T);
            m.backward();
        }, 500, 50);

        FloatTensor x = FloatTensor.zeros(B * T, H), w = FloatTensor.zeros(3 * H, H), y = FloatTensor.zeros(B * T, 3 * H);
        FloatTensor dx = FloatTensor.zeros(B * T, H), dw = FloatTensor.zeros(3 * H, H);
        long fwd = bytesPerRun(() -> LinearKernel.forward(x, w, null, y), 2000, 100);        // 1 GEMM
        long bwd = bytesPerRun(() -> LinearKernel.backward(y, x, w, dx, dw, null), 2000, 100); // 2 GEMMs
        // 4 linears per layer (packed qkv, attention.output, intermediate, output) + transform + decoder
        int linears = 4 * L + 2;
        long gemmBound = linears * (fwd + bwd);
        System.out.printf("heap bytes: forward+backward %d; one Linear forward (1 GEMM) %d, backward (2 GEMMs) %d;"
                + " GEMM bound %d x (%d + %d) = %d%n", step, fwd, bwd, linears, fwd, bwd, gemmBound);
        assertTrue(step <= gemmBound, "forward+backward allocate " + step + " bytes, more than the "
                + gemmBound + " bytes of their " + 3 * linears + " GEMM calls");
    }
}
