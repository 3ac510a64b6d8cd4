package org.distillery.train;

import org.distillery.testing.ResumeSupport;

import com.fasterxml.jackson.databind.JsonNode;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.MaskedLmEval;
import org.distillery.eval.UnigramBaseline;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.tokenize.WordPieceTrainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The masked-LM objective: exact resume (with dropout and accumulation), and a tiny BERT learning Brown. */
class MaskedLmObjectiveTest {
    static final int V = MaskedLmBatchesTest.V, T = 16;

    static BertConfig tiny(int vocab, int hidden, int layers, int heads, int inner, int positions) {
        return new BertConfig(vocab, hidden, layers, heads, inner, "gelu", positions, 2, 1e-12, Map.of("pad_token_id", 0));
    }

    @Test
    void resumeIsExact(@TempDir Path dir) {
        List<int[]> seqs = MaskedLmBatchesTest.sequences(5, 200).stream()
                .map(q -> Arrays.copyOf(q, Math.min(q.length, T - 2))).toList();
        MaskedLmBatches train = new MaskedLmBatches(seqs, T, MaskedLmBatchesTest.VOCAB, 0.15, 1);
        MaskedLmBatches val = new MaskedLmBatches(seqs.subList(0, 40), T, MaskedLmBatchesTest.VOCAB, 0.15, 2);
        MaskedLmObjective.Options opt = new MaskedLmObjective.Options(4, 2, 0.1, 3);
        LoopConfig loop = LoopConfig.defaults().withSteps(8, 2).withLr(3e-3, 3e-4).withGradAccumSteps(2)
                .withEvalInterval(3).withCheckpoints(4, 2);
        Trainer resumed = ResumeSupport.assertExactResume(loop,
                () -> new MaskedLmObjective(new Bert(tiny(V, 16, 2, 2, 32, T), 4, T, 9), train, val, opt),
                MaskedLmObjective.restorer(train, val), dir);
        assertEquals(List.of(3, 6, 8), resumed.evals().stream().map(Trainer.EvalRecord::step).toList());
        JsonNode state = Trainer.readState(Trainer.latestCheckpoint(dir.resolve("run")));
        assertEquals("masked-lm", state.path("objective").path("kind").asText());
        assertEquals(Bert.class.getName(), state.path("model_class").asText());
        // other training data: the resume names what differs
        MaskedLmBatches other = new MaskedLmBatches(seqs, T, MaskedLmBatchesTest.VOCAB, 0.15, 99);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Trainer.resume(Trainer.latestCheckpoint(dir.resolve("run")), MaskedLmObjective.restorer(other, val)));
        assertTrue(e.getMessage().startsWith("restorer: the rebuilt masked-lm objective's train is {"), e.getMessage());
        IllegalStateException wrongType = assertThrows(IllegalStateException.class, () -> resumed.model(org.distillery.model.Gpt.class));
        assertTrue(wrongType.getMessage().contains("model is a Bert, not a Gpt"), wrongType.getMessage());
        assertThrows(IllegalStateException.class, resumed::config, "no TrainConfig for a masked-LM run");
    }

    /**
     * A 2-layer BERT (H = 64) on the first 300,000 characters of Brown's training split (WordPiece, 400 ids,
     * 132k tokens), 600 steps of 16 x 32, lr 5e-3: masked-token perplexity on the first 20,000 characters of
     * the validation split (1,488 masked tokens) against the add-one unigram model of the training tokens
     * (on the validation tokens that can be masked). Measured: 401 before, 181 after (accuracy 9.3 %),
     * unigram 232, about 10 s on 2 loaded cores; 1000 steps only reach 174. Asserted: below 0.85 x unigram.
     */
    @Test
    void aTinyBertLearnsBrownBeyondTheUnigramBaseline() {
        BrownCorpus brown = BrownCorpus.load();
        String trainText = brown.text(BrownCorpus.Split.TRAIN).substring(0, 300_000);
        String valText = brown.text(BrownCorpus.Split.VALIDATION).substring(0, 20_000);
        WordPieceTokenizer tok = new WordPieceTrainer(400, true).train(trainText);
        int v = tok.vocabSize(), t = 32, b = 16;
        int[] trainIds = tok.encode(trainText), valIds = tok.encode(valText);
        MaskedLmBatches.Vocabulary vocab = MaskedLmBatches.Vocabulary.of(tok);
        MaskedLmBatches train = new MaskedLmBatches(MaskedLmBatches.windows(trainIds, t - 2), t, vocab, 0.15, 1);
        Bert model = new Bert(tiny(v, 64, 2, 4, 128, t), b, t, 7);
        LoopConfig loop = LoopConfig.defaults().withSteps(600, 30).withLr(5e-3, 1e-4).withWeightDecay(0.01).withEvalInterval(0);
        long t0 = System.nanoTime();
        MaskedLmEval.Result before = MaskedLmEval.evaluate(model, valIds, t, vocab, 0.15, 2024, b);
        Trainer trainer = new Trainer(loop, new MaskedLmObjective(model, train, null, new MaskedLmObjective.Options(b, 1, 0, 3)))
                .showProgress(false);
        trainer.run();
        MaskedLmEval.Result after = MaskedLmEval.evaluate(model, valIds, t, vocab, 0.15, 2024, b);
        double seconds = (System.nanoTime() - t0) / 1e9;
        int[] nonSpecialVal = Arrays.stream(valIds).filter(id -> id > 4).toArray();
        double unigram = UnigramBaseline.perplexity(trainIds, nonSpecialVal, v);
        System.out.printf("BERT MLM on Brown (V = %d, %d train tokens): before %s; after 600 steps %s; unigram ppl %.2f;"
                + " last train loss %.3f; %.1f s%n", v, trainIds.length, before, after, unigram,
                trainer.history().get(trainer.history().size() - 1).loss(), seconds);
        assertEquals(Math.log(v), before.meanNll(), 0.5, "untrained: about ln V");
        assertTrue(after.perplexity() < 0.85 * unigram, "MLM perplexity " + after.perplexity() + " vs unigram " + unigram);
        assertTrue(after.accuracy() > 0.05, "masked-token accuracy " + after.accuracy());
    }
}
