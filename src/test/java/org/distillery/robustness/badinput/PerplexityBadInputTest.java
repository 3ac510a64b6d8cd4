package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;

import java.util.List;
import java.util.stream.Stream;
import org.distillery.eval.Perplexity;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** {@link Perplexity}: empty or too short token streams, ids outside the vocabulary, context, stride and batch out of range. */
class PerplexityBadInputTest {
    @TestFactory
    Stream<DynamicTest> badInput() {
        Gpt gpt = tinyGpt();
        int[] tokens = new int[100];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 7) % 256;
        int[] bad = tokens.clone();
        bad[42] = 256;
        Gpt other = new Gpt(Gpt2Config.of(300, 16, 32, 1, 2), 4, 16, 1);
        return BadInput.tests(List.of(
                iae("no tokens", "tokens: need at least 2 tokens to predict one but got 0", () -> Perplexity.evaluate(gpt, new int[0], 16, 4)),
                iae("one token", "tokens: need at least 2 tokens to predict one but got 1", () -> Perplexity.evaluate(gpt, new int[1], 16, 4)),
                iae("null tokens", "tokens: must not be null", () -> Perplexity.evaluate(gpt, null, 16, 4)),
                iae("id outside the vocabulary", "tokens: id 256 at position 42 is outside [0, vocab_size = 256)",
                        () -> Perplexity.evaluate(gpt, bad, 16, 4)),
                iae("negative id", "tokens: id -3 at position 0 is outside [0, vocab_size = 256)",
                        () -> Perplexity.evaluate(gpt, new int[] {-3, 1, 2}, 16, 4)),
                iae("context 1", "contextLength: must be in [2, model max sequence length = 16] but was 1",
                        () -> Perplexity.evaluate(gpt, tokens, 1, 4)),
                iae("context above the model's", "contextLength: must be in [2, model max sequence length = 16] but was 17",
                        () -> Perplexity.evaluate(gpt, tokens, 17, 4)),
                iae("batch 0", "batchSize: must be in [1, model max batch = 4] but was 0", () -> Perplexity.evaluate(gpt, tokens, 16, 0)),
                iae("batch above the model's", "batchSize: must be in [1, model max batch = 4] but was 5",
                        () -> Perplexity.evaluate(gpt, tokens, 16, 5)),
                iae("stride 0", "stride: must be in [1, contextLength = 16] but was 0", () -> Perplexity.evaluate(gpt, tokens, 16, 0, 4)),
                iae("stride above the context", "stride: must be in [1, contextLength = 8] but was 9",
                        () -> Perplexity.evaluate(gpt, tokens, 8, 9, 4)),
                iae("no model", "model: must not be null", () -> Perplexity.evaluate((Gpt) null, tokens, 16, 4)),
                iae("models of other vocabularies", "reference, model: vocab_size 256 vs 300; the next-token distributions must be over the"
                        + " same vocabulary",
                        () -> Perplexity.compare(gpt, other, tokens, 16, 4))));
    }
}
