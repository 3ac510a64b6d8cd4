package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.train.MaskedLmBatches;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** MaskedLmEval against a hand computation: each window forwarded alone, a naive log-softmax in double. */
class MaskedLmEvalTest {
    static final int V = 20, T = 8;
    static final MaskedLmBatches.Vocabulary VOCAB = new MaskedLmBatches.Vocabulary(V, 0, 2, 3, 4, List.of(0, 1, 2, 3, 4));

    @Test
    void matchesAHandComputation() {
        Bert model = new Bert(new BertConfig(V, 16, 1, 2, 24, "gelu", 16, 2, 1e-12, Map.of("pad_token_id", 0)), 3, T, 5);
        Random r = new Random(11);
        int[] tokens = new int[27];                      // windows of 6: 4 full ones and a last one of 3 (padded)
        for (int i = 0; i < tokens.length; i++) tokens[i] = 5 + r.nextInt(V - 5);
        long seed = 123;
        MaskedLmEval.Result got = MaskedLmEval.evaluate(model, tokens, T, VOCAB, 0.3, seed, 3);

        MaskedLmBatches rows = new MaskedLmBatches(MaskedLmBatches.windows(tokens, T - 2), T, VOCAB, 0.3, seed);
        assertEquals(5, rows.size());
        double nll = 0;
        long n = 0, correct = 0;
        int[] ids = new int[T], lengths = new int[1], labels = new int[T];
        for (int j = 0; j < rows.size(); j++) {
            rows.fillSequences(j, 1, ids, lengths, labels);
            model.forward(ids, null, lengths, null, 1, T);
            FloatTensor logits = model.logits();
            for (int p = 0; p < T; p++) {
                if (labels[p] == Bert.IGNORE_INDEX) continue;
                double sumExp = 0;
                int best = 0;
                for (int c = 0; c < V; c++) {
                    sumExp += Math.exp(logits.get(p * V + c));
                    if (logits.get(p * V + c) > logits.get(p * V + best)) best = c;
                }
                nll += Math.log(sumExp) - logits.get(p * V + labels[p]);
                if (best == labels[p]) correct++;
                n++;
            }
        }
        // 0.3 of 6 candidates -> 2 per full window; 1 in the last window of 3 (round(0.9) = 1)
        assertEquals(4 * 2 + 1, n);
        assertEquals(n, got.maskedTokens());
        assertEquals(nll / n, got.meanNll(), 1e-5, "mean NLL");
        assertEquals(Math.exp(nll / n), got.perplexity(), 1e-4);
        assertEquals((double) correct / n, got.accuracy(), 0);
        assertTrue(got.meanNll() > Math.log(V) - 1 && got.meanNll() < Math.log(V) + 1,
                "an untrained model is near ln V: " + got.meanNll());
        MaskedLmEval.Result again = MaskedLmEval.evaluate(model, tokens, T, VOCAB, 0.3, seed, 2);
        assertEquals(got.meanNll(), again.meanNll(), 1e-6, "batch size does not change the masks");
        assertEquals(got.maskedTokens(), again.maskedTokens());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MaskedLmEval.evaluate(model, tokens, T + 1, VOCAB, 0.3, seed, 3));
        assertTrue(e.getMessage().contains("seqLen: must be in [3, model maxT = 8] but was 9"), e.getMessage());
    }
}
