package org.distillery.quant.packed;

import org.distillery.testing.AllocationMeter;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * After JIT warm-up, {@link QuantizedLinear#forward} allocates nothing (vectors scalarised by C2, scratch
 * buffers kept), for every format, at batch 1 (matrix-vector kernels) and batch 6 (dequantized tiles), on
 * arrays and on FloatTensors. Measured like {@code AllocationFreeTest}, in a JVM of its own.
 */
@Tag("allocation")
class PackedAllocationTest {

    @Test
    void forwardAllocatesNothingAfterWarmUp() {
        Random rnd = new Random(11);
        int out = 13, in = 256;
        float[] w = QuantizedLinearTest.gaussian(rnd, out * in, 0.1);
        Map<String, Runnable> steps = new LinkedHashMap<>(), a8 = new LinkedHashMap<>();
        for (PackedFormat f : PackedFormat.values()) {
            QuantizedLinear lin = new QuantizedLinear(PackedWeights.quantize(w, out, in, f, f.isBlockFormat() ? 32 : 64),
                    QuantizedLinearTest.gaussian(rnd, out, 0.1));
            for (int n : new int[] {1, 6}) {
                float[] x = QuantizedLinearTest.gaussian(rnd, n * in, 1), y = new float[n * out];
                steps.put(f.id() + " n" + n, () -> lin.forward(x, n, y));
            }
            FloatTensor xt = FloatTensor.zeros(1, in).fill(0.5f), yt = FloatTensor.zeros(1, out);
            steps.put(f.id() + " FloatTensor n1", () -> lin.forward(xt, yt));
        }
        for (PackedFormat f : new PackedFormat[] {PackedFormat.INT8, PackedFormat.INT4, PackedFormat.Q4_0}) {
            int bo = 64, bi = 2048;                       // long rows: many groups per leaf call
            QuantizedLinear lin = new QuantizedLinear(PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, bo * bi, 0.1),
                    bo, bi, f, f.isBlockFormat() ? 32 : 128), null);
            float[] x = QuantizedLinearTest.gaussian(rnd, bi, 1), y = new float[bo];
            steps.put(f.id() + " [64, 2048] n1", () -> lin.forward(x, 1, y));
        }
        // int8 activations. W4A8: groups of whole chunks, of a quarter (Q4_0) and of half a chunk (INT4 g64); W8A8: groups
        // of one and several steps, and per channel (one group per row: per-token activations)
        for (Object[] c : new Object[][] {{PackedFormat.INT4, 128}, {PackedFormat.INT4_ASYM, 128}, {PackedFormat.Q4_0, 32},
                {PackedFormat.INT4, 64}, {PackedFormat.INT8, 128}, {PackedFormat.INT8_ASYM, 2048}, {PackedFormat.INT8, 64}}) {
            PackedFormat f = (PackedFormat) c[0];
            int bo = 64, bi = 2048, g = (Integer) c[1];
            QuantizedLinear lin = new QuantizedLinear(PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, bo * bi, 0.1),
                    bo, bi, f, g), QuantizedLinearTest.gaussian(rnd, bo, 0.1)).withInt8Activations();
            float[] x = QuantizedLinearTest.gaussian(rnd, 3 * bi, 1), y = new float[3 * bo];
            a8.put(f.id() + " g" + g + " A8 [64, 2048] n1", () -> lin.forward(x, 1, y));
            a8.put(f.id() + " g" + g + " A8 [64, 2048] n3", () -> lin.forward(x, 3, y));
        }
        {   // W8A8 with a static activation scale (SmoothQuant per tensor)
            QuantizedLinear lin = new QuantizedLinear(PackedWeights.quantize(QuantizedLinearTest.gaussian(rnd, 64 * 2048, 0.1),
                    64, 2048, PackedFormat.INT8, 2048), QuantizedLinearTest.gaussian(rnd, 64, 0.1)).withInt8Activations(2.5f / 127);
            float[] x = QuantizedLinearTest.gaussian(rnd, 2048, 1), y = new float[64];
            a8.put("int8 per-channel A8 static [64, 2048] n1", () -> lin.forward(x, 1, y));
        }
        // JDK 17's C2 compiles the W4A8 and W8A8 kernels into allocating code when other vector kernels ran before their first
        // execution (see Int4A8MatVec), so there they run first; from JDK 21 on they run last, after every other kernel.
        boolean jdk17 = Runtime.version().feature() < 21;
        Map<String, Runnable> order = new LinkedHashMap<>(), last = new LinkedHashMap<>();
        a8.forEach((k, v) -> (jdk17 ? order : last).put(k, v));
        order.putAll(steps);
        order.putAll(last);
        steps = order;
        Map<String, Long> allocating = new LinkedHashMap<>();
        for (Map.Entry<String, Runnable> e : steps.entrySet()) {
            long perRound = AllocationMeter.bytesPer100AfterWarmUp(e.getValue());
            System.out.println(e.getKey() + ": " + perRound + " bytes per 100 calls after warm-up");
            if (perRound != 0) allocating.put(e.getKey(), perRound);
        }
        assertEquals(Map.of(), allocating, "packed forward calls that allocate (bytes per 100 calls) after warm-up");
    }
}
