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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Norm Tweaking on a tiny byte-level GPT trained on Brown for a few hundred steps. */
class NormTweakModelTest {
    static final int T = 64, B = 16;
    static Gpt model;
    static Map<String, float[]> trained = new HashMap<>();
    static int[] train, val;
    static List<int[]> calib;

    @BeforeAll
    static void trainTinyModel() {
        BrownCorpus brown = BrownCorpus.load();
        ByteTokenizer tok = new ByteTokenizer();
        train = Arrays.copyOf(tok.encode(brown.text(BrownCorpus.Split.TRAIN)), 300_000);
        val = Arrays.copyOf(tok.encode(brown.text(BrownCorpus.Split.VALIDATION)), 16_384);
        TrainConfig cfg = TrainConfig.defaults(Gpt2Config.of(256, T, 64, 2, 4)).withBatch(B, T).withSteps(400, 20)
                .withLr(1e-2, 1e-3).withEval(0, 1).withSeed(3).withCheckpoints(0, 1);
        model = new Gpt(cfg.model(), B, T, 3);
        new Trainer(cfg.loop(), new CausalLmObjective(cfg, train, null, model)).showProgress(false).run();
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

    @Test
    void explore() {
        restore();
        double fp = perplexity();
        for (int bits : new int[] {3, 2}) {
            Quantizer q = Quantizer.perChannel(bits, true);
            restore();
            Rtn.quantize(model, q);
            double rtn = perplexity();
            for (NormTweak.Loss loss : NormTweak.Loss.values()) {
                for (double lr : new double[] {1e-4, 1e-3, 3e-3, 1e-2}) {
                    for (int epochs : new int[] {1, 5}) {
                        restore();
                        long t0 = System.nanoTime();
                        NormTweak.Result r = NormTweak.apply(model, calib, BlockQuantizer.rtn(q),
                                NormTweak.Options.of(lr, 1.0, epochs, 4).withLoss(loss));
                        double nt = perplexity();
                        StringBuilder sb = new StringBuilder();
                        for (NormTweak.BlockReport b : r.blocks()) {
                            sb.append(String.format(" [blk %d dist %.4f->%.4f loss %.4g->%.4g steps %d]", b.block(), b.distBefore(),
                                    b.distAfter(), b.lossBefore(), b.lossAfter(), b.steps()));
                        }
                        System.out.printf("%d-bit %s lr %.0e ep %d: fp %.3f rtn %.3f nt %.3f (gap recovered %.1f %%) %.1fs%s%n", bits, loss, lr,
                                epochs, fp, rtn, nt, 100 * (rtn - nt) / (rtn - fp), (System.nanoTime() - t0) / 1e9, sb);
                    }
                }
            }
        }
    }
}
