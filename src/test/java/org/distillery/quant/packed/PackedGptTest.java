package org.distillery.quant.packed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.CausalLm;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PackedGpt} against the float {@link Gpt} whose linear weights are the dequantized packed weights
 * ({@link PackedGpt#dequantizedGpt}), for every format, on the three {@link QuantizedLinear} paths (B*T below
 * {@link QuantizedLinear#BATCHED_FROM}: matrix-vector kernels; from it: dequantized tiles; from
 * {@link QuantizedLinear#GEMM_FROM}: W dequantized whole and BLAS GEMM, equal bit for bit); its memory count
 * against a hand count; its construction errors.
 *
 * <p><b>Tolerance.</b> Both models run the same embedding, LayerNorm, attention, GELU and residual kernels on the
 * same values; only the linear products differ, by the fp32 accumulation order (BLAS GEMM against the packed
 * kernels' vector lanes, groups and, for formats with a zero, the {@code scale * zero * sum(x)} split): about
 * {@code in * 2^-24} relative to {@code sum |x| |w|} per product (the bound {@code QuantizedLinearTest} checks),
 * a few 1e-6 of the activations for in &lt;= 256 here. Those differences pass through 2 blocks and the head,
 * whose LayerNorms and softmax have gains of order 1 on these activations, so we require
 * {@code max |logit - logit_ref| <= 1e-5 * max |logit_ref|}; the worst measured ratio is printed (about 1e-6).
 */
class PackedGptTest {
    static final double TOLERANCE = 1e-5;
    private static double worst = 0;

    @TempDir
    Path tmp;

    /** A small GPT (byte vocabulary, context 16, width 64, 2 blocks, 4 heads) with livelier weights than GPT-2's init. */
    static Gpt tinyGpt(long seed) {
        return tinyGpt(seed, 64);
    }

    /** {@link #tinyGpt(long)} of another width. */
    static Gpt tinyGpt(long seed, int width) {
        Gpt g = new Gpt(Gpt2Config.of(256, 16, width, 2, 4), 3, 16, seed);
        Random rnd = new Random(seed + 1);
        for (Map.Entry<String, FloatTensor> e : g.parameters().entrySet()) {
            FloatTensor p = e.getValue();
            boolean ln = e.getKey().contains("ln_");
            for (int i = 0; i < p.size(); i++) {
                if (ln && e.getKey().endsWith(".weight")) p.set(i, (float) (1 + 0.1 * rnd.nextGaussian()));
                else if (e.getKey().endsWith(".bias")) p.set(i, (float) (0.05 * rnd.nextGaussian()));
                else p.set(i, p.get(i) * 4);
            }
        }
        return g;
    }

    static int[] ids(Random rnd, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rnd.nextInt(256);
        return ids;
    }

    /** max |a - b| / max |b| over two [N, V] logits tensors of the same shape. */
    static double relativeDifference(FloatTensor a, FloatTensor b) {
        assertEquals(b.shapeString(), a.shapeString());
        double diff = 0, scale = 0;
        for (int i = 0; i < a.size(); i++) {
            diff = Math.max(diff, Math.abs(a.get(i) - b.get(i)));
            scale = Math.max(scale, Math.abs(b.get(i)));
        }
        assertTrue(scale > 0.1, "reference logits too small to compare: max |logit| " + scale);
        return diff / scale;
    }

    private static void assertClose(String what, FloatTensor got, FloatTensor ref) {
        double r = relativeDifference(got, ref);
        worst = Math.max(worst, r);
        assertTrue(r <= TOLERANCE, what + ": max |logit diff| / max |logit| = " + r + " > " + TOLERANCE);
    }

    @AfterAll
    static void report() {
        System.out.printf("PackedGpt vs dequantized Gpt: worst max|diff| / max|logit| %.2e (tolerance %.0e)%n", worst,
                TOLERANCE);
    }

    @Test
    void logitsEqualTheDequantizedGptForEveryFormatOnBothKernelPaths() {
        Gpt gpt = tinyGpt(3);
        Object[][] cases = {
                {PackedFormat.INT8, PackedGpt.PER_CHANNEL}, {PackedFormat.INT8, 64}, {PackedFormat.INT8_ASYM, 32},
                {PackedFormat.INT4, 32}, {PackedFormat.INT4_ASYM, 32}, {PackedFormat.INT4_ASYM, 64},
                {PackedFormat.Q8_0, 32}, {PackedFormat.Q4_0, 32},
        };
        // {B, T}: B*T below 4 (matrix-vector kernels), 4 to 15 (dequantized tiles), from 16 (dequantized W, GEMM)
        int[][] shapes = {{1, 1}, {1, 3}, {3, 1}, {1, 8}, {2, 5}, {1, 16}, {3, 16}};
        Random rnd = new Random(5);
        for (Object[] c : cases) {
            PackedFormat f = (PackedFormat) c[0];
            int g = (Integer) c[1];
            PackedGpt packed = PackedGpt.quantize(gpt, f, g);
            Gpt ref = packed.dequantizedGpt(3, 16);
            for (int[] s : shapes) {
                int[] ids = ids(rnd, s[0] * s[1]);
                FloatTensor got = packed.logits(ids, s[0], s[1]);
                FloatTensor want = CausalLm.of(ref).logits(ids, s[0], s[1]);
                assertClose(f.id() + " g" + g + " B" + s[0] + " T" + s[1], got, want);
                if (s[0] * s[1] >= QuantizedLinear.GEMM_FROM) {                // the same GEMMs on the same values
                    assertArrayEquals(want.toFloatArray(), got.toFloatArray(), f.id() + " B" + s[0] + " T" + s[1]);
                }
            }
            // the packed layers really are the format asked for
            assertEquals(f, packed.layer(1, "mlp.c_proj").weight().format());
            assertEquals(g == PackedGpt.PER_CHANNEL ? 256 : g, packed.layer(1, "mlp.c_proj").weight().group());
        }
    }

    /**
     * With int8 activations, batch-1 decoding (B*T &lt; 4: the W4A8 or W8A8 matrix-vector kernel) differs from the
     * exact packed model only by the activations' rounding to 8 bits per group (relative 1/254 per product input,
     * through 2 blocks of a deliberately lively model: the logits stay within 6 % of their largest magnitude; measured
     * 4.1 %); batched forwards are the exact model's bit for bit, the memory counts the W4A8 kernel's copy of the codes
     * (W8A8 keeps none), and every block layer is switched (width 128: every layer's input is a whole number of
     * {@link Int4A8MatVec#C} and of {@link Int8A8MatVec#STEP} columns).
     */
    @Test
    void int8ActivationsChangeOnlyTheMatrixVectorProductsAndStayClose() {
        Gpt gpt = tinyGpt(4, 128);
        Random rnd = new Random(9);
        double worstA8 = 0;
        for (Object[] c : new Object[][] {{PackedFormat.INT4, 64}, {PackedFormat.INT4_ASYM, 128},
                {PackedFormat.INT4, 32}, {PackedFormat.Q4_0, 32}, {PackedFormat.INT8, 64},
                {PackedFormat.INT8_ASYM, PackedGpt.PER_CHANNEL}}) {
            PackedGpt exact = PackedGpt.quantize(gpt, (PackedFormat) c[0], (Integer) c[1]);
            PackedGpt a8 = exact.withInt8Activations();
            assertEquals(0, exact.int8ActivationLayers());
            assertEquals(2 * PackedGpt.LAYERS.size(), a8.int8ActivationLayers());
            long copy = 0;          // the W4A8 copies: codes (in / 2 bytes per row); for groups below a chunk the
            for (int b = 0; b < 2; b++) {                   // scales too (4 x parts floats per step of 4 rows and
                for (String name : PackedGpt.LAYERS) {      // chunk, and a vector of padding)
                    PackedWeights pw = a8.layer(b, name).weight();
                    if (pw.format().bits() == 8) continue;
                    int chunk = Int4A8MatVec.C;
                    copy += (long) pw.out() * pw.in() / 2;
                    if (pw.group() % chunk != 0) {
                        int steps = (pw.out() + 3) / 4, parts = chunk / pw.group();
                        copy += 4L * (steps * (pw.in() / chunk) * 4 * parts + PackedKernels.LANES);
                    }
                }
            }
            assertEquals(exact.memory().packedBytes() + copy, a8.memory().packedBytes());
            for (int[] s : new int[][] {{1, 1}, {1, 3}, {3, 1}}) {
                int[] ids = ids(rnd, s[0] * s[1]);
                FloatTensor want = exact.logits(ids, s[0], s[1]);
                double r = relativeDifference(a8.logits(ids, s[0], s[1]), want);
                worstA8 = Math.max(worstA8, r);
                assertTrue(r > 0 && r <= 0.06, c[0] + " B" + s[0] + " T" + s[1] + ": " + r);
            }
            for (int[] s : new int[][] {{1, 8}, {2, 16}}) {
                int[] ids = ids(rnd, s[0] * s[1]);
                assertArrayEquals(exact.logits(ids, s[0], s[1]).toFloatArray(), a8.logits(ids, s[0], s[1]).toFloatArray());
            }
        }
        System.out.printf("PackedGpt with int8 activations vs exact, batch 1: worst max|diff| / max|logit| %.2e%n", worstA8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,      // groups of 8: below any step
                () -> PackedGpt.quantize(gpt, PackedFormat.INT8, 8).withInt8Activations());
        assertEquals("int8 activations: no packed layer of this model supports them (first: "
                + PackedGpt.quantize(gpt, PackedFormat.INT8, 8).layer(0, "attn.c_attn").weight() + "); they need "
                + Int4A8MatVec.REQUIREMENT + ", or " + Int8A8MatVec.REQUIREMENT, e.getMessage());
    }

    @Test
    void theDequantizedGptDiffersFromTheFloatOneOnlyInItsLinearWeights() {
        Gpt gpt = tinyGpt(4);
        Gpt ref = PackedGpt.quantize(gpt, PackedFormat.INT4, 32).dequantizedGpt(1, 16);
        int changed = 0;
        for (Map.Entry<String, FloatTensor> e : gpt.parameters().entrySet()) {
            float[] a = e.getValue().toFloatArray(), b = ref.parameters().get(e.getKey()).toFloatArray();
            boolean linearWeight = e.getKey().startsWith("h.") && e.getKey().contains(".c_") && e.getKey().endsWith(".weight");
            if (linearWeight) {
                assertTrue(!java.util.Arrays.equals(a, b), e.getKey() + " should be quantized");
                changed++;
            } else {
                assertArrayEquals(a, b, e.getKey());
            }
        }
        assertEquals(8, changed);
    }

    @Test
    void aPackedHeadMatchesTheDequantizedHeadProductOfTheHiddenState() {
        Gpt gpt = tinyGpt(6);
        PackedGpt packed = PackedGpt.quantize(gpt, PackedFormat.INT8, 32, true);
        PackedGpt floatHead = PackedGpt.quantize(gpt, PackedFormat.INT8, 32, false);
        int[] ids = ids(new Random(1), 2 * 7);
        FloatTensor logits = packed.logits(ids, 2, 7);                        // [14, 256]
        float[] h = packed.lastHiddenState().toFloatArray();                 // [14, 64]
        double[] hd = new double[h.length];
        for (int i = 0; i < h.length; i++) hd[i] = h[i];
        QuantizedLinear head = packed.packedHead();
        double[] want = QuantizedLinear.forwardReference(head.weight(), null, hd, 14);
        double diff = 0, scale = 0;
        for (int i = 0; i < want.length; i++) {
            diff = Math.max(diff, Math.abs(logits.get(i) - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        assertTrue(diff <= 1e-6 * scale, "packed head: " + diff + " vs max |logit| " + scale);
        // the hidden state is the float-head model's, bit for bit (same blocks)
        floatHead.logits(ids, 2, 7);
        assertArrayEquals(floatHead.lastHiddenState().toFloatArray(), h);
        assertNull(floatHead.packedHead());
        assertEquals(PackedFormat.INT8, head.weight().format());
        assertEquals(256, head.out());
    }

    @Test
    void perplexityIsThatOfTheDequantizedGptUnderTheSameProtocol() {
        Gpt gpt = tinyGpt(8);
        PackedGpt packed = PackedGpt.quantize(gpt, PackedFormat.INT4_ASYM, 32);
        int[] tokens = ids(new Random(2), 100);
        Perplexity.Result p = Perplexity.evaluate(packed, tokens, 16, 8, 3);
        Perplexity.Result f = Perplexity.evaluate(packed.dequantizedGpt(3, 16), tokens, 16, 8, 3);
        assertEquals(f.tokensPredicted(), p.tokensPredicted());
        assertEquals(99, p.tokensPredicted());
        assertEquals(f.nll(), p.nll(), 1e-5 * f.nll());
        assertTrue(p.perplexity() > 1 && Double.isFinite(p.perplexity()));
    }

    /**
     * Hand count for V 32, P 8, E 32, 1 block, I 128 (c_attn [96, 32], c_proj [32, 32], c_fc [128, 32],
     * mlp.c_proj [32, 128]): 14,048 parameters, 56,192 bytes in float32.
     */
    @Test
    void memoryMatchesAHandCount() {
        Gpt gpt = new Gpt(Gpt2Config.of(32, 8, 32, 1, 2), 1, 8, 1);
        assertEquals(14_048, gpt.parameterCount());
        // float parts: wte 4096 + wpe 1024 + ln_f 256 + ln_1/ln_2 512 + biases (96 + 32 + 128 + 32) * 4 = 1152
        long floats = 4096 + 1024 + 256 + 512 + 1152;
        // INT8 g32: codes out*in bytes + one float scale (4 B) per group; no zeros, no offsets
        long int8 = (3072 + 96 * 4) + (1024 + 32 * 4) + (4096 + 128 * 4) + (4096 + 32 * 4 * 4);
        PackedGpt.Memory m8 = PackedGpt.quantize(gpt, PackedFormat.INT8, 32).memory();
        assertEquals(13_824, int8);
        assertEquals(new PackedGpt.Memory(int8, floats, int8 + floats, 56_192), m8);
        // INT4-asym g32: codes out*in/2 bytes + per group a float scale, a uint8 zero and a float offset (9 B)
        long int4 = (1536 + 96 * 9) + (512 + 32 * 9) + (2048 + 128 * 9) + (2048 + 32 * 4 * 9);
        PackedGpt.Memory m4 = PackedGpt.quantize(gpt, PackedFormat.INT4_ASYM, 32).memory();
        assertEquals(9_600, int4);
        assertEquals(new PackedGpt.Memory(int4, floats, int4 + floats, 56_192), m4);
        assertEquals(int4 + floats, PackedGpt.quantize(gpt, PackedFormat.INT4_ASYM, 32).memoryBytes());
        assertEquals(56_192.0 / 16_640, m4.ratio(), 1e-12);
        // a packed head adds the packed copy of wte [32, 32]: INT8 g32 = 1024 + 32 * 4
        PackedGpt.Memory mh = PackedGpt.quantize(gpt, PackedFormat.INT8, 32, true).memory();
        assertEquals(int8 + 1024 + 128, mh.packedBytes());
    }

    @Test
    void bufferBytesCountTheActivationsOfEachShapeUsed() {
        Gpt gpt = new Gpt(Gpt2Config.of(32, 8, 32, 1, 2), 2, 8, 1);
        PackedGpt p = PackedGpt.quantize(gpt, PackedFormat.INT8, 32);
        assertEquals(4L * PackedKernels.ACC, p.bufferBytes());                 // only the kernels' lane accumulators
        p.logits(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 4);
        // N = 8 rows of: ids 1 + mean/rstd 2 + x, ln, atty, branch, qkv 7 * 32 + fch 128 + logits 32 floats
        long acts = 4L * 8 * (1 + 2 + 7 * 32 + 128 + 32);
        // shared scratch, grown to the largest layer: tile [4, 128], xs [8, 128], ys [8, 128] (c_fc), no xp, no sums,
        long scratch = 4L * (4 * 128 + 8 * 128 + 8 * 128 + PackedKernels.ACC);   // + the kernels' lane accumulators
        assertEquals(acts + scratch, p.bufferBytes());
    }

    @Test
    void badInputIsAClearError() {
        Gpt gpt = tinyGpt(9);
        var e1 = assertThrows(IllegalArgumentException.class, () -> PackedGpt.quantize(gpt, PackedFormat.INT8, 48));
        assertTrue(e1.getMessage().contains("layer h.0.attn.c_attn [192, 64]") && e1.getMessage().contains("48"),
                e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> PackedGpt.quantize(gpt, PackedFormat.Q4_0, 64));
        assertTrue(e2.getMessage().contains("fixes it at 32"), e2.getMessage());
        PackedGpt p = PackedGpt.quantize(gpt, PackedFormat.INT8, 32);
        var e3 = assertThrows(IllegalArgumentException.class, () -> p.logits(new int[] {1, 256}, 1, 2));
        assertTrue(e3.getMessage().contains("token id 256 at position 1"), e3.getMessage());
        var e4 = assertThrows(IllegalArgumentException.class, () -> p.logits(new int[4], 4, 1));
        assertTrue(e4.getMessage().contains("batch size 4 is outside [1, maxB = 3]"), e4.getMessage());
        var e5 = assertThrows(IllegalArgumentException.class, () -> p.layer(0, "attn.q_proj"));
        assertTrue(e5.getMessage().contains("attn.q_proj"), e5.getMessage());
        assertThrows(IllegalStateException.class, () -> PackedGpt.quantize(gpt, PackedFormat.INT8, 32).logits());
    }
}
