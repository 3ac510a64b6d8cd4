package org.distillery.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

/** {@link EvalThroughput}: one ordered result per model, consistent statistics, models left in training mode. */
class EvalThroughputTest {
    @Test
    void measuresEveryModelOnTheSameBatches() {
        Gpt a = new Gpt(Gpt2Config.of(32, 16, 16, 2, 2), 4, 16, 1), b = new Gpt(Gpt2Config.of(32, 16, 8, 1, 1), 4, 16, 2);
        var r = EvalThroughput.measure(List.of(a, b), 4, 16, 2, 3, 7);
        assertEquals(2, r.size());
        for (var x : r) {
            assertEquals(2L * 4 * 16, x.tokensPerRepeat());
            assertEquals(3, x.repeats());
            assertTrue(x.minTokensPerSecond() <= x.medianTokensPerSecond() && x.medianTokensPerSecond() <= x.maxTokensPerSecond());
            assertTrue(x.minTokensPerSecond() > 0);
        }
        assertTrue(a.isTraining() && b.isTraining(), "evaluation mode only while measuring");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvalThroughput.measure(List.of(a), 8, 16, 1, 1, 0));
        assertEquals("models: a model built for 4 x 16 cannot run batches of 8 x 16", e.getMessage());
    }

    @Test
    void warmsEachModelUpForAtLeastTheWarmUpTimeBeforeTheTimedRepeats() {
        // a model whose every forward sleeps 100 ms (never less): the warm-up needs 1 to 3 of them, spanning at
        // least WARM_UP_SECONDS, then exactly `repeats` timed ones follow
        var starts = new java.util.ArrayList<Long>();
        CausalLm slow = new CausalLm() {
            @Override public int maxBatch() { return 1; }
            @Override public int maxSequenceLength() { return 1; }
            @Override public int vocabSize() { return 4; }
            @Override public org.distillery.engine.kernels.FloatTensor logits(int[] ids, int b, int t) {
                starts.add(System.nanoTime());
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return null;
            }
        };
        int repeats = 2;
        EvalThroughput.measureModels(List.of(slow), 1, 1, 1, repeats, 0);
        int warmUps = starts.size() - repeats;
        assertTrue(warmUps >= 1 && warmUps <= 3, "warm-up forwards: " + warmUps);
        double warmUpSeconds = (starts.get(warmUps) - starts.get(0)) / 1e9;
        assertTrue(warmUpSeconds >= EvalThroughput.WARM_UP_SECONDS, "warm-up lasted " + warmUpSeconds + " s");
    }

    @Test
    void measuresBertEncodersTheSameWay() {
        var cfg = new org.distillery.io.BertConfig(30, 16, 2, 2, 32, "gelu", 16, 2, 1e-12, java.util.Map.of("pad_token_id", 0));
        var small = new org.distillery.io.BertConfig(30, 16, 1, 2, 32, "gelu", 16, 2, 1e-12, java.util.Map.of("pad_token_id", 0));
        var a = new org.distillery.model.Bert(cfg, 4, 16, 1);
        var b = new org.distillery.model.Bert(small, 4, 16, 2);
        var r = EvalThroughput.measureEncoders(List.of(a, b), 4, 12, 3, 2, 7);
        assertEquals(2, r.size());
        for (var x : r) {
            assertEquals(3L * 4 * 12, x.tokensPerRepeat());
            assertEquals(2, x.repeats());
            assertTrue(x.minTokensPerSecond() <= x.medianTokensPerSecond() && x.medianTokensPerSecond() <= x.maxTokensPerSecond());
            assertTrue(x.minTokensPerSecond() > 0);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EvalThroughput.measureEncoders(List.of(a), 4, 32, 1, 1, 0));
        assertEquals("models: a model built for 4 x 16 cannot run batches of 4 x 32", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvalThroughput.measureEncoders(List.of(a), 4, 16, 0, 1, 0));
        assertEquals("batches: must be >= 1 but was 0", e.getMessage());
    }
}
