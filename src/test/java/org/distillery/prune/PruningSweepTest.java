package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.Perplexity;
import org.distillery.model.Gpt;
import org.distillery.quant.LinearLayers;
import org.distillery.quant.TinyBrownGpt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PruningSweep} on the tiny Brown GPT ({@link TinyBrownGpt}: bytes, 2 layers x 64, 4 heads, MLP 256, context
 * 64; 120,576 parameters): file sizes by hand, parameter counts of the structured models by hand, the ordering a sweep
 * must show, and that a point is a pure function of its arguments.
 */
class PruningSweepTest {
    @TempDir
    static Path dir;
    static PruningSweep sweep;
    static Gpt tiny;
    static int[] eval;

    @BeforeAll
    static void setUp() {
        TinyBrownGpt t = TinyBrownGpt.get();
        t.restore();
        tiny = t.model;
        tiny.save(dir.resolve("dense"));
        eval = Arrays.copyOf(t.val, 4096);
        sweep = new PruningSweep(dir.resolve("dense"), t.train, eval,
                PruningSweep.Settings.defaults().withCalibrationWindows(16).withBatchSize(TinyBrownGpt.B));
    }

    /** The payload of a safetensors file: its size less the 8-byte length field and the header that length gives. */
    static long payload(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        long header = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return b.length - 8 - header;
    }

    @Test
    void sparseBytesAreMaskRowsPlusFourBytesPerNonzeroPlusDenseRest() throws IOException {
        PruningSweep.Pruned p = sweep.prune(PruningSweep.Method.MAGNITUDE, 0.5, 0);
        Gpt m = p.model();
        long linear = 0, payload = 0;
        for (String n : LinearLayers.names(m)) {
            FloatTensor w = m.parameters().get(n);
            int rows = w.dim(0), cols = w.dim(1);
            long nnz = 0;
            for (float v : w.toFloatArray()) if (v != 0f) nnz++;
            assertEquals((long) rows * cols / 2, nnz, n);                     // every layer exactly half: sizes are even
            payload += (long) rows * ((cols + 7) / 8) + 4 * nnz;               // bitmask rows + float32 values
            linear += (long) rows * cols;
        }
        payload += 4 * (m.parameterCount() - linear);                          // embeddings, LayerNorms, biases: float32
        Path f = SparseSafetensors.save(dir.resolve("half.safetensors"), m.parameters(), LinearLayers.names(m));
        assertEquals(payload, payload(f));
        assertEquals(Files.size(f), PruningSweep.sparseBytes(m));
        // the dense file: 4 bytes per parameter after its header
        Path dense = dir.resolve("dense").resolve("model.safetensors");
        assertEquals(4L * tiny.parameterCount(), payload(dense));
        assertEquals(Files.size(dense), sweep.denseBytes());

        PruningSweep.Point half = sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.5, 0);
        assertEquals(Files.size(f), half.sparseBytes());
        assertEquals(0.5, half.sparsity(), 0.0);
        assertEquals(-1, half.seed());
        assertEquals((double) half.sparseBytes() / half.denseBytes(), half.sizeRatio(), 1e-15);
        // 2:4 keeps as many values as 50 % unstructured: the same file size
        PruningSweep.Point nm = sweep.nm(PruningSweep.Method.MAGNITUDE, NmPattern.TWO_FOUR, 0);
        assertEquals(half.sparseBytes(), nm.sparseBytes());
        assertEquals("magnitude 2:4", nm.label());
    }

    @Test
    void theDenseModelScoresAsTheReferenceAndCostsMoreAsASparseFile() {
        Gpt dense = sweep.load();
        PruningSweep.Point d = sweep.score("dense", null, null, 0, -1, dense, 0, 0);
        assertEquals(d.densePerplexity(), d.perplexity(), 0.0);
        assertEquals(0.0, d.meanKl(), 1e-12);
        assertEquals(Perplexity.evaluate(tiny, eval, TinyBrownGpt.T, TinyBrownGpt.B).perplexity(), d.densePerplexity(), 1e-9);
        assertTrue(d.sparsity() < 1e-3, "trained weights are nonzero: " + d.sparsity());
        assertTrue(d.sparseBytes() > d.denseBytes(), "a dense model in the sparse layout pays for the bitmask");
    }

    /**
     * Measured on the tiny Brown GPT (dense 11.56 on these 4,096 bytes): magnitude perplexity and KL rise with the
     * sparsity; at 50 % SparseGPT is below magnitude and Wanda; 2:4 is harder than 50 % unstructured for each method;
     * files shrink as sparsity rises.
     */
    @Test
    void theSweepShowsTheExpectedOrdering() {
        PruningSweep.Point m3 = sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.3, 0);
        PruningSweep.Point m5 = sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.5, 0);
        PruningSweep.Point m7 = sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.7, 0);
        PruningSweep.Point w5 = sweep.oneShot(PruningSweep.Method.WANDA, 0.5, 0);
        PruningSweep.Point s5 = sweep.oneShot(PruningSweep.Method.SPARSEGPT, 0.5, 0);
        System.out.println(m3 + "\n" + m5 + "\n" + m7 + "\n" + w5 + "\n" + s5);
        assertTrue(m3.densePerplexity() < m3.perplexity() && m3.perplexity() < m5.perplexity() && m5.perplexity() < m7.perplexity());
        assertTrue(m3.meanKl() < m5.meanKl() && m5.meanKl() < m7.meanKl());
        assertTrue(m3.sparseBytes() > m5.sparseBytes() && m5.sparseBytes() > m7.sparseBytes());
        assertTrue(s5.perplexity() < m5.perplexity() && s5.perplexity() < w5.perplexity(), s5 + " / " + m5 + " / " + w5);
        assertTrue(s5.meanKl() < m5.meanKl());
        for (PruningSweep.Method method : PruningSweep.Method.values()) {
            PruningSweep.Point u = method == PruningSweep.Method.MAGNITUDE ? m5 : method == PruningSweep.Method.WANDA ? w5 : s5;
            PruningSweep.Point nm = sweep.nm(method, NmPattern.TWO_FOUR, 0);
            assertEquals(0.5, nm.sparsity(), 0.0);
            assertTrue(nm.perplexity() > u.perplexity(), nm + " vs " + u);
        }
    }

    @Test
    void aPointIsAPureFunctionOfItsArgumentsAndSeedsAreSummarised() {
        PruningSweep.Point a = sweep.oneShot(PruningSweep.Method.WANDA, 0.5, 1);
        PruningSweep.Point b = sweep.oneShot(PruningSweep.Method.WANDA, 0.5, 1);
        assertEquals(a.perplexity(), b.perplexity(), 0.0);
        assertEquals(a.meanKl(), b.meanKl(), 0.0);
        assertEquals(a.sparseBytes(), b.sparseBytes());
        PruningSweep.Point c = sweep.oneShot(PruningSweep.Method.WANDA, 0.5, 2);
        assertNotEquals(a.perplexity(), c.perplexity(), "another calibration seed, other windows");
        assertEquals(16, sweep.calibration(2).size());
        assertEquals(TinyBrownGpt.T, sweep.calibration(2).get(0).length);
        PruningSweep.Point m = sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.5, 7);
        assertEquals(-1, m.seed(), "magnitude reads no calibration: no seed");

        List<PruningSweep.Summary> s = PruningSweep.summarize(List.of(a, m, c));
        assertEquals(2, s.size());
        PruningSweep.Summary wanda = s.get(0);
        assertEquals("Wanda one-shot", wanda.label());
        assertEquals(List.of(1L, 2L), wanda.seeds());
        assertEquals(2, wanda.perplexity().n());
        assertEquals((a.perplexity() + c.perplexity()) / 2, wanda.perplexity().mean(), 1e-12);
        assertEquals(Math.min(a.perplexity(), c.perplexity()), wanda.perplexity().min(), 0.0);
        assertEquals(Math.round((a.sparseBytes() + c.sparseBytes()) / 2.0), wanda.sparseBytes());
        assertEquals(1, s.get(1).perplexity().n());

        var points = PruningSweep.pointTable("points", List.of(a, m));
        assertEquals(2, points.rowCount());
        assertEquals("Wanda one-shot", points.stringColumn("model").get(0));
        assertEquals(a.perplexity() / a.densePerplexity(), points.doubleColumn("ppl / dense").get(0), 0.0);
        assertEquals(-1L, points.longColumn("calibration seed").get(1));
        var table = PruningSweep.summaryTable("summary", s, a.densePerplexity());
        assertEquals(2, table.intColumn("seeds").get(0));
        assertEquals(50.0, table.doubleColumn("sparsity %").get(0), 0.0);
        assertEquals(wanda.perplexity().mean() - wanda.perplexity().ci95(), table.doubleColumn("95% low").get(0), 1e-12);
        assertEquals(m.perplexity(), table.doubleColumn("95% high").get(1), 0.0);      // one seed: the value itself
    }

    /** Hand count: per layer E = 64, A = 64, I = 256; 120,576 parameters dense (two layers). */
    @Test
    void structuredModelsArePhysicallySmaller() throws IOException {
        PruningSweep.StructuredPoint p = sweep.structured(0.5, 0.5, 0, 10);
        int e = 64, layers = 2;
        long heads = 3L * 32 * e + 3 * 32 + (long) e * 32;                     // c_attn rows + bias, c_proj columns
        long neurons = 128L * e + 128 + (long) e * 128;                        // c_fc rows + bias, c_proj columns
        assertEquals(120_576, tiny.parameterCount());
        assertEquals(120_576 - layers * (heads + neurons), p.parameters());
        assertEquals(p.parameters(), p.model().parameterCount());
        assertEquals(2, p.model().config().headCount(0));
        assertEquals(128, p.model().config().innerSize(1));
        p.model().save(dir.resolve("small"));
        Path f = dir.resolve("small").resolve("model.safetensors");
        assertEquals(4 * p.parameters(), payload(f));
        assertEquals(Files.size(f), p.bytes());
        assertEquals("heads 50 % + neurons 50 %", p.label());
        System.out.printf("tiny structured %s: %,d parameters, ppl %.3f -> %.3f after %d steps%n", p.label(), p.parameters(),
                p.perplexity(), p.finetunedPerplexity(), p.finetuneSteps());
        assertTrue(p.perplexity() > p.finetunedPerplexity(), "fine-tuning recovers part of the loss");
        assertTrue(p.finetunedMeanKl() < p.meanKl());
        PruningSweep.StructuredPoint h = sweep.structured(0.25, 0, 0, 0);
        assertEquals(120_576 - layers * heads / 2, h.parameters());
        assertEquals(h.perplexity(), h.finetunedPerplexity(), 0.0);
    }

    @Test
    void gradualAndFinetunedRunsKeepTheirZeros() {
        PruningSweep.Point g = sweep.gradual(0.5, 2, 5);
        assertEquals(0.5, g.sparsity(), 1e-4);
        assertEquals(15, g.finetuneSteps());
        assertEquals("magnitude gradual AGP", g.label());
        PruningSweep.Point o = sweep.oneShotFinetuned(0.5, 15);
        assertEquals(0.5, o.sparsity(), 1e-4);
        PruningSweep.Point d = sweep.denseFinetuned(15);
        assertTrue(d.sparsity() < 1e-3);
        assertEquals("dense fine-tuned", d.label());
        System.out.println(g + "\n" + o + "\n" + d);
        assertTrue(o.perplexity() < sweep.oneShot(PruningSweep.Method.MAGNITUDE, 0.5, 0).perplexity());
    }

    @Test
    void sensitivityAllocationHitsTheTargetSparsity() {
        Sensitivity.Result scan = sweep.sensitivity(Arrays.copyOfRange(TinyBrownGpt.get().val, 4096, 6144), new double[] {0.5, 0.9});
        assertEquals(LinearLayers.names(tiny), scan.layers());
        PruningSweep.Point a = sweep.allocated(scan, 0.5);
        assertEquals(0.5, a.sparsity(), 1e-4);
        assertEquals(0.5, a.target(), 0.0);
        assertEquals("magnitude sensitivity allocation", a.label());
        Map<String, Double> alloc = Sensitivity.allocate(scan, 0.5);
        assertEquals(0.5, Sensitivity.meanSparsity(scan, alloc), 1e-12);
    }

    @Test
    void badArguments() {
        PruningSweep.Settings s = PruningSweep.Settings.defaults();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PruningSweep(dir.resolve("dense"), TinyBrownGpt.get().train, new int[] {1}, s));
        assertEquals("evalTokens: need at least 2 tokens", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new PruningSweep(dir.resolve("dense"), new int[10], eval, s));
        assertEquals("trainTokens: need more than one context of 64 tokens; got 10", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.withCalibrationWindows(0));
        assertEquals("calibrationWindows: must be >= 1 but was 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> s.withFinetune(0, 1));
        assertEquals("finetuneLr: must be finite and > 0 but was 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sweep.oneShot(PruningSweep.Method.WANDA, 1.0, 0));
        assertEquals("sparsity 1.0 is out of range: accepted [0, 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> sweep.structured(0, 0, 0, 5));
        assertEquals("headFraction, neuronFraction: both 0; remove heads, neurons or both", e.getMessage());
    }
}
