package org.distillery.quant;

import org.distillery.data.BrownCorpus;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.tokenize.ByteTokenizer;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Norm Tweaking on a tiny byte-level GPT trained on Brown for a few hundred steps. */
class NormTweakModelTest {
    static final int T = TinyBrownGpt.T, B = TinyBrownGpt.B;
    static Gpt model;
    static Map<String, float[]> trained = new HashMap<>();
    static int[] train, val;
    static List<int[]> calib;

    @BeforeAll
    static void trainTinyModel() {
        TinyBrownGpt tiny = TinyBrownGpt.get();          // trained once per JVM, shared with the other quant tests
        tiny.restore();
        model = tiny.model;
        train = tiny.train;
        val = tiny.val;
        model.parameters().forEach((n, p) -> trained.put(n, p.toFloatArray()));
        long t0 = System.nanoTime();
        calib = SelfGeneratedCalibration.of(32, T, 0).withStartTokens(letters()).generate(model);
        System.out.printf("self-generated calibration: 32 x %d tokens in %.1f s: %s%n", T, (System.nanoTime() - t0) / 1e9,
                new String(bytes(calib.get(0)), java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    static int[] letters() {
        int[] ids = new int[52];
        for (int i = 0; i < 26; i++) {
            ids[i] = 'A' + i;
            ids[26 + i] = 'a' + i;
        }
        return ids;
    }

    static byte[] bytes(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) b[i] = (byte) ids[i];
        return b;
    }

    static void restore() {
        model.parameters().forEach((n, p) -> p.copyFrom(trained.get(n)));
    }

    static double perplexity() {
        return Perplexity.evaluate(model, val, T, B).perplexity();
    }

    static Map<String, float[]> snapshot() {
        Map<String, float[]> m = new HashMap<>();
        model.parameters().forEach((n, p) -> m.put(n, p.toFloatArray()));
        return m;
    }

    static String blocks(NormTweak.Result r) {
        StringBuilder sb = new StringBuilder();
        for (NormTweak.BlockReport b : r.blocks()) {
            sb.append(String.format(" [block %d: lr %.3g, %d steps, L_dist %.3f -> %.3f]", b.block(), b.lr(), b.steps(),
                    b.distBefore(), b.distAfter()));
        }
        return sb.toString();
    }

    /** The paper's recipe scaled down: 1 epoch, L_dist, lr_l = 1e-2 (1 + l / L), batches of 4 windows. */
    static final NormTweak.Options PAPER = NormTweak.Options.of(1e-2, 1.0, 1, 4);

    @Test
    void rtnPlusNormTweakReducesEveryBlocksDistanceAndThePerplexity() {
        restore();
        double fp = perplexity();
        List<List<int[]>> seeds = List.of(calib, SelfGeneratedCalibration.of(32, T, 1).withStartTokens(letters()).generate(model),
                SelfGeneratedCalibration.of(32, T, 2).withStartTokens(letters()).generate(model));
        for (int bits : new int[] {3, 2}) {
            Quantizer q = Quantizer.perChannel(bits, true);
            restore();
            Rtn.quantize(model, q);
            double rtn = perplexity();
            double recovered = 0;
            for (long seed = 0; seed < 3; seed++) {
                List<int[]> windows = seeds.get((int) seed);
                restore();
                NormTweak.Result r = NormTweak.apply(model, windows, BlockQuantizer.rtn(q), PAPER);
                double nt = perplexity();
                recovered += (rtn - nt) / (rtn - fp) / 3;
                System.out.printf("RTN %d-bit per-channel sym, calibration seed %d: validation perplexity fp32 %.3f, RTN %.3f,"
                        + " RTN+NormTweak %.3f (%.1f %% of the gap recovered)%s%n", bits, seed, fp, rtn, nt, 100 * (rtn - nt) / (rtn - fp), blocks(r));
                assertEquals(2, r.blocks().size());
                for (NormTweak.BlockReport b : r.blocks()) {
                    assertEquals(8, b.steps());
                    assertTrue(b.distAfter() < 0.95 * b.distBefore(), "block " + b.block() + ": " + b);
                    assertEquals(b.lossBefore(), b.distBefore());
                }
                assertEquals(1e-2, r.blocks().get(0).lr(), 1e-15);
                assertEquals(1.5e-2, r.blocks().get(1).lr(), 1e-15);
                assertEquals(4, r.blocks().get(0).layers().size());
                assertTrue(nt < rtn, bits + "-bit, seed " + seed + ": RTN+NT " + nt + " should beat RTN " + rtn);
            }
            System.out.printf("RTN %d-bit: mean fraction of the RTN->fp32 gap recovered over 3 calibration seeds: %.1f %%%n",
                    bits, 100 * recovered);
        }
        // the MSE option also reduces its own loss in every block and helps at 2 bits
        restore();
        NormTweak.Result r = NormTweak.apply(model, calib, BlockQuantizer.rtn(Quantizer.perChannel(2, true)),
                PAPER.withLoss(NormTweak.Loss.MSE));
        double mse = perplexity();
        restore();
        Rtn.quantize(model, Quantizer.perChannel(2, true));
        double rtn2 = perplexity();
        System.out.printf("RTN 2-bit + NormTweak with the MSE loss: %.3f (RTN %.3f)%n", mse, rtn2);
        for (NormTweak.BlockReport b : r.blocks()) assertTrue(b.lossAfter() < b.lossBefore(), b.toString());
        assertTrue(mse < rtn2);
    }

    @Test
    void onTopOfGptq() {
        restore();
        double fp = perplexity();
        Gptq.Options o = Gptq.Options.defaults(Quantizer.perChannel(2, true));
        Gptq.quantize(model, calib, o, true);
        double gptq = perplexity();
        restore();
        NormTweak.Result r = NormTweak.apply(model, calib, BlockQuantizer.gptq(o, true), PAPER);
        double nt = perplexity();
        System.out.printf("GPTQ 2-bit per-channel sym (self-generated calibration): fp32 %.3f, GPTQ %.3f, GPTQ+NormTweak %.3f"
                + " (%.1f %% of the gap recovered)%s%n", fp, gptq, nt, 100 * (gptq - nt) / (gptq - fp), blocks(r));
        for (NormTweak.BlockReport b : r.blocks()) assertTrue(b.distAfter() < b.distBefore(), b.toString());
        assertEquals(8, r.layers().size());
        for (LayerReport l : r.layers()) assertTrue(l.method().startsWith("GPTQ") && l.outputError() < 1, l.toString());
    }

    @Test
    void learningRateZeroIsPlainQuantizationBitForBit() {
        Quantizer q = Quantizer.perChannel(3, false);
        restore();
        Rtn.quantize(model, q);
        Map<String, float[]> rtn = snapshot();
        restore();
        NormTweak.Result r = NormTweak.apply(model, calib, BlockQuantizer.rtn(q), PAPER.withLr(0));
        for (NormTweak.BlockReport b : r.blocks()) {
            assertEquals(0, b.steps());
            assertEquals(b.distBefore(), b.distAfter());
        }
        model.parameters().forEach((n, p) -> assertArrayEquals(rtn.get(n), p.toFloatArray(), 0f, n));

        // GPTQ through the block-wise driver (batches of maxB windows, as Gptq.quantize) = Gptq.quantize
        Gptq.Options o = Gptq.Options.defaults(q);
        restore();
        Gptq.quantize(model, calib, o, true);
        Map<String, float[]> gptq = snapshot();
        restore();
        NormTweak.apply(model, calib, BlockQuantizer.gptq(o, true), NormTweak.Options.of(0, 1, 1, B));
        model.parameters().forEach((n, p) -> assertArrayEquals(gptq.get(n), p.toFloatArray(), 0f, n));
    }

    @Test
    void onlyTheBlocksLayerNormsChangeBeyondTheQuantization() {
        Quantizer q = Quantizer.perChannel(3, true);
        restore();
        Rtn.quantize(model, q);
        Map<String, float[]> rtn = snapshot();
        restore();
        NormTweak.apply(model, calib, BlockQuantizer.rtn(q), PAPER);
        model.parameters().forEach((n, p) -> {
            boolean tweaked = n.matches("h\\.\\d+\\.ln_[12]\\.(weight|bias)");
            assertEquals(!tweaked, Arrays.equals(rtn.get(n), p.toFloatArray()), n + (tweaked ? " must change" : " must not change"));
        });
        model.gradients().forEach((n, g) -> {
            for (int i = 0; i < g.size(); i++) assertEquals(0f, g.get(i), n + ": gradients are left zeroed");
        });
        assertTrue(model.isTraining());
    }

    @Test
    void deterministicForACalibrationSeed() {
        Quantizer q = Quantizer.perChannel(2, true);
        SelfGeneratedCalibration c = SelfGeneratedCalibration.of(8, T, 11).withStartTokens(letters());
        restore();
        NormTweak.Result r1 = NormTweak.apply(model, c.generate(model), BlockQuantizer.rtn(q), PAPER);
        Map<String, float[]> first = snapshot();
        restore();
        NormTweak.Result r2 = NormTweak.apply(model, c.generate(model), BlockQuantizer.rtn(q), PAPER);
        model.parameters().forEach((n, p) -> assertArrayEquals(first.get(n), p.toFloatArray(), 0f, n));
        for (int i = 0; i < r1.blocks().size(); i++) {
            assertEquals(r1.blocks().get(i).distAfter(), r2.blocks().get(i).distAfter());
        }
    }

    @Test
    void aFloatModelHasNothingToCorrect() {
        restore();
        model.eval();
        NormTweak.Result r = NormTweak.apply(model, calib, BlockQuantizer.none(), PAPER);
        for (NormTweak.BlockReport b : r.blocks()) {
            assertEquals(0.0, b.distBefore());
            assertEquals(0.0, b.distAfter());
        }
        model.parameters().forEach((n, p) -> assertArrayEquals(trained.get(n), p.toFloatArray(), 0f, n));
        assertFalse(model.isTraining(), "mode restored");
        model.train();
    }

    @Test
    void badInput() {
        BlockQuantizer rtn = BlockQuantizer.rtn(Quantizer.perChannel(4, true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NormTweak.apply(model, List.of(), rtn, PAPER));
        assertTrue(e.getMessage().contains("calibration set is empty"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NormTweak.apply(model, List.of(new int[T], new int[3]), rtn, PAPER));
        assertTrue(e.getMessage().contains("window 1 has 3 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NormTweak.apply(model, List.of(new int[T + 1]), rtn, PAPER));
        assertTrue(e.getMessage().contains("exceeds the model's maxT"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NormTweak.apply(model, calib, rtn, NormTweak.Options.of(1e-3, 1, 1, B + 1)));
        assertEquals("batchSize = 17 exceeds the model's maxB = 16", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NormTweak.Options.of(-1, 1, 1, 1));
        model.setDropout(0.1, 1);
        e = assertThrows(IllegalArgumentException.class, () -> NormTweak.apply(model, calib, rtn, PAPER));
        assertTrue(e.getMessage().contains("dropout is on"), e.getMessage());
        model.setDropout(0, 1);
    }
}
