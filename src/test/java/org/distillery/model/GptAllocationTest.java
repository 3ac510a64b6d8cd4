package org.distillery.model;

import org.distillery.testing.AllocationMeter;

import org.distillery.engine.kernels.AttentionKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.engine.kernels.LinearKernel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;


import static org.distillery.model.GptTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * After warm-up, forward + backward allocate no tensors and nothing on the Java heap except what ND4J's
 * {@code Nd4j.gemm} itself allocates per call (about 4 KB of wrapper objects in 1.0.0-M2.1, measured here:
 * the LinearKernel is the one kernel that the kernels' AllocationFreeTest leaves out). Measured with the
 * HotSpot per-thread allocation counter: a step must allocate at most (number of GEMM calls) x (the
 * measured bytes of one LinearKernel forward and one backward).
 */
@Tag("allocation") // measured in a JVM of its own: see the surefire executions in pom.xml
class GptAllocationTest {


    @Test
    void onlyTheGemmCallsAllocateAfterWarmUp() {
        assertOnlyGemmCallsAllocate(null);
    }

    /**
     * Asserts that after warm-up a training step (forward + backward) of the tiny GPT with {@code hook} as its
     * linear-input hook (null: none) allocates no more than its GEMM calls.
     */
    static void assertOnlyGemmCallsAllocate(Gpt.LinearInputHook hook) {
        Gpt g = new Gpt(tinyConfig(), B, T, 1);
        g.setLinearInputHook(hook);
        int[] ids = randomIds(1, B * T, V), targets = randomIds(2, B * T, V);
        long step = AllocationMeter.bytesPerRun(() -> {
            g.forward(ids, targets, B, T);
            g.backward();
        }, 500, 50);

        FloatTensor x = FloatTensor.zeros(B * T, C), w = FloatTensor.zeros(3 * C, C), y = FloatTensor.zeros(B * T, 3 * C);
        FloatTensor dx = FloatTensor.zeros(B * T, C), dw = FloatTensor.zeros(3 * C, C);
        long fwd = AllocationMeter.bytesPerRun(() -> LinearKernel.forward(x, w, null, y), 2000, 100);        // 1 GEMM
        long bwd = AllocationMeter.bytesPerRun(() -> LinearKernel.backward(y, x, w, dx, dw, null), 2000, 100); // 2 GEMMs
        // attention's batched Nd4j.matmul calls (2 forward, 4 backward per layer on the GEMM path), measured
        // with the Java row work on the loop path subtracted out: it is checked allocation-free in AllocationFreeTest
        FloatTensor qkv = FloatTensor.zeros(B * T, 3 * C), ya = FloatTensor.zeros(B * T, C), dqkv = FloatTensor.zeros(B * T, 3 * C);
        AttentionKernel att = new AttentionKernel(B, T, C, NH, true);
        long attn = att.usesGemm() ? AllocationMeter.bytesPerRun(() -> {
            att.forward(qkv, null, ya);
            att.backward(ya, qkv, dqkv);
        }, 2000, 100) : 0;
        // forward: 4 linears per layer + the tied head; backward: 4 per layer + head, each 2 GEMMs
        int linears = 4 * L + 1;
        // 64 bytes of slack per GEMM call for ND4J's own per-call variation (as BertAllocationTest: one JDK 25 run
        // allocated 149136 against an exact bound of 148560); far below one boxed vector per row (tens of KB)
        int gemmCalls = 3 * linears + 6 * L;
        long gemmBound = linears * (fwd + bwd) + L * attn + 64L * gemmCalls;
        System.out.printf("heap bytes%s: forward+backward %d; one Linear forward (1 GEMM) %d, backward (2 GEMMs) %d;"
                + " attention forward+backward (6 matmuls) %d; GEMM bound %d x (%d + %d) + %d x %d + 64 x %d = %d%n",
                hook == null ? "" : " (linear-input hook on)", step, fwd, bwd, attn, linears, fwd, bwd, L, attn, gemmCalls, gemmBound);
        assertTrue(step <= gemmBound, "forward+backward allocate " + step + " bytes, more than the "
                + gemmBound + " bytes of their " + gemmCalls + " GEMM calls");
    }
}
