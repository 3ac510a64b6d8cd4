package org.distillery.model;

import static org.distillery.testing.AllocationMeter.allocated;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.engine.kernels.LinearKernel;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.distillery.model.BertTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * As {@link GptAllocationTest}: after warm-up, forward + backward allocate nothing on the Java heap except
 * what ND4J's {@code Nd4j.gemm} allocates per call (the qkv packing copies and the padding-row save allocate
 * nothing).
 *
 * <p>Disabled, open: forward + backward allocate well above the GEMMs' bound, on JDK 17 and 25 (this model:
 * JDK 17 295632 bytes a step against 135960, JDK 25 453024 against 119856; with tinyConfig JDK 25 is 6144
 * bytes over, JDK 17 under). Not tracked down yet. One candidate, seen with -XX:+PrintInlining: C2 compiles
 * {@code AttentionKernel.forward} with {@code SoftmaxKernel.softmaxRow} and {@code VectorOps.expSum} inlined and
 * hits NodeCountInliningCutoff inside expSum (its exp, load and store stay calls, so their vectors are boxed);
 * the GPT test shape does not show it. The kernels Bert adds (erf GELU, token-type add, range copies), and the
 * bidirectional attention with lengths, allocated 0 bytes when measured alone after a Bert warm-up.
 *
 * <p>The model is larger than tinyConfig (N = 128 rows, I = 128) so that one boxed vector per GELU vector or
 * attention row (thousands per step) stands far above the GEMMs' allocation.
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
    @Disabled("open: a Bert step allocates above the GEMM bound (candidate: AttentionKernel.forward hits C2's"
            + " NodeCountInliningCutoff in the inlined VectorOps.expSum); see the class comment")
    void onlyTheGemmCallsAllocateAfterWarmUp() {
        // wider and longer than tinyConfig, so that one boxed vector per GELU or attention row (about 100 bytes
        // each, thousands per step) would stand far above the GEMMs' allocation and its noise
        int h = 32, t = 64;
        Bert m = new Bert(new BertConfig(V, h, L, NH, 128, "gelu", t, TT, 1e-12, java.util.Map.of()), B, t, 1);
        int[] lengths = {t, t - 14};
        int[] ids = randomIds(1, B * t, 0, V), types = segments(B, t), labels = labels(2, lengths, t);
        long step = bytesPerRun(() -> {
            m.forward(ids, types, lengths, labels, B, t);
            m.backward();
        }, 500, 50);

        FloatTensor x = FloatTensor.zeros(B * t, h), w = FloatTensor.zeros(3 * h, h), y = FloatTensor.zeros(B * t, 3 * h);
        FloatTensor dx = FloatTensor.zeros(B * t, h), dw = FloatTensor.zeros(3 * h, h);
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
