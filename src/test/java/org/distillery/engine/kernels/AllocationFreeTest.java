package org.distillery.engine.kernels;

import org.distillery.testing.AllocationMeter;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * After JIT warm-up the Java row kernels allocate nothing on the heap (vectors are scalarised by C2,
 * argument checks build no messages). Measured with the HotSpot per-thread allocation counter; the
 * warm-up repeats until a round allocates nothing or the round limit is reached.
 */
@Tag("allocation") // measured in a JVM of its own: see the surefire executions in pom.xml
class AllocationFreeTest {



    @Test
    void rowKernelsAllocateNothingAfterWarmUp() {
        Random rnd = new Random(90);
        int b = 2, t = 8, c = 40, nh = 2, v = 37, n = b * t;
        FloatTensor x = FloatTensor.zeros(n, c), g = FloatTensor.zeros(c).fill(1f), be = FloatTensor.zeros(c);
        for (int i = 0; i < x.size(); i++) x.set(i, (float) rnd.nextGaussian());
        FloatTensor out = FloatTensor.zeros(n, c), mean = FloatTensor.zeros(n), rstd = FloatTensor.zeros(n);
        FloatTensor dx = FloatTensor.zeros(n, c), dg = FloatTensor.zeros(c), db = FloatTensor.zeros(c);
        FloatTensor logits = FloatTensor.zeros(n, v), dlogits = FloatTensor.zeros(n, v);
        FloatTensor qkv = FloatTensor.zeros(n, 3 * c), y = FloatTensor.zeros(n, c), dqkv = FloatTensor.zeros(n, 3 * c);
        for (int i = 0; i < qkv.size(); i++) qkv.set(i, (float) rnd.nextGaussian());
        FloatTensor wte = FloatTensor.zeros(v, c), wpe = FloatTensor.zeros(t, c);
        int[] ids = new int[n], targets = new int[n], types = new int[n], lens = {t, t - 3};
        for (int i = 0; i < n; i++) ids[i] = targets[i] = rnd.nextInt(v);
        for (int i = 0; i < n; i++) types[i] = rnd.nextInt(t);
        targets[3] = CrossEntropyKernel.DEFAULT_IGNORE_INDEX;
        AttentionKernel att = new AttentionKernel(b, t, c, nh, true, false); // loop path: the GEMM path allocates ND4J's matmul wrappers

        // Each kernel is warmed up and measured on its own: whether C2 scalarises a kernel's vectors depends on
        // what it inlines into the compiled caller, and one lambda calling every kernel can exhaust that budget
        // (the models' own steps are measured in GptAllocationTest).
        Map<String, Runnable> steps = new LinkedHashMap<>();
        steps.put("embedding", () -> {
            EmbeddingKernel.forward(ids, t, wte, wpe, out);
            EmbeddingKernel.backward(out, ids, t, wte, wpe);
        });
        steps.put("token-type embedding", () -> {
            EmbeddingKernel.forwardAdd(types, wpe, out);
            EmbeddingKernel.backwardAdd(out, types, wpe);
        });
        steps.put("layernorm", () -> {
            LayerNormKernel.forward(x, g, be, 1e-5f, out, mean, rstd);
            LayerNormKernel.backward(out, x, mean, rstd, g, dx, dg, db);
        });
        steps.put("gelu", () -> {
            GeluKernel.forward(x, out);
            GeluKernel.backward(out, x, dx);
        });
        steps.put("gelu-erf", () -> {
            GeluErfKernel.forward(x, out);
            GeluErfKernel.backward(out, x, dx);
        });
        steps.put("relu", () -> {
            ReluKernel.forward(x, out);
            ReluKernel.backward(out, x, dx);
        });
        steps.put("softmax", () -> {
            SoftmaxKernel.forward(x, out, false);
            SoftmaxKernel.backward(out, out, dx);
        });
        steps.put("adds", () -> {
            AddKernels.copyRange(x, 3, out, 5, 50);
            AddKernels.accumulateRange(out, 7, x, 1, 50);
            AddKernels.residualAdd(x, out, dx);
            AddKernels.biasAdd(dx, g);
            AddKernels.biasGradAccumulate(dx, db);
        });
        steps.put("dropout", () -> {
            DropoutKernel.forward(x, out, 0.1, 3L);
            DropoutKernel.backward(out, dx, 0.1, 3L);
        });
        steps.put("cross-entropy", () ->
                CrossEntropyKernel.forwardBackward(logits, targets, CrossEntropyKernel.DEFAULT_IGNORE_INDEX, dlogits));
        steps.put("attention (loop path)", () -> {
            att.forward(qkv, lens, y);
            att.backward(y, qkv, dqkv);
        });
        AttentionKernel attDrop = new AttentionKernel(b, t, c, nh, false, false);
        steps.put("attention with dropout (loop path)", () -> {
            attDrop.forward(qkv, lens, y, 0.1, 17L);
            attDrop.backward(y, qkv, dqkv);
        });
        Map<String, Long> allocating = new LinkedHashMap<>();
        for (Map.Entry<String, Runnable> e : steps.entrySet()) {
            long perRound = AllocationMeter.bytesPer100AfterWarmUp(e.getValue());
            System.out.println(e.getKey() + ": " + perRound + " bytes per 100 calls after warm-up");
            if (perRound != 0) {
                allocating.put(e.getKey(), perRound);
            }
        }
        assertEquals(Map.of(), allocating, "kernels that allocate (bytes per 100 calls) after warm-up");
    }
}
