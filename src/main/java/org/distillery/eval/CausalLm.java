package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

/**
 * What the evaluators ({@link Perplexity}, {@link EvalThroughput#measureModels}) need of a causal language
 * model: the next-token logits of B sequences of T tokens, computed in evaluation mode (no dropout, no
 * gradients). Implemented by {@link #of(Gpt)} for the float model and by
 * {@code org.distillery.quant.packed.PackedGpt} for the packed one, so both are evaluated by the same code.
 */
public interface CausalLm {
    /** The largest batch B a call accepts. */
    int maxBatch();

    /** The largest sequence length T a call accepts. */
    int maxSequenceLength();

    /** The vocabulary size V (the logits' width). */
    int vocabSize();

    /**
     * The logits of {@code b} sequences of {@code t} tokens (row-major ids: token j of sequence i is
     * {@code ids[i*t + j]}).
     *
     * @return [b*t, V], a live buffer of the model, overwritten by its next call
     */
    FloatTensor logits(int[] ids, int b, int t);

    /** {@code gpt} in evaluation mode for each call ({@link Gpt#inEvalMode}: its own mode is left as it was). */
    static CausalLm of(Gpt gpt) {
        if (gpt == null) throw new IllegalArgumentException("gpt: must not be null");
        return new CausalLm() {
            @Override
            public int maxBatch() { return gpt.maxBatch(); }

            @Override
            public int maxSequenceLength() { return gpt.maxSequenceLength(); }

            @Override
            public int vocabSize() { return gpt.config().vocabSize(); }

            @Override
            public FloatTensor logits(int[] ids, int b, int t) {
                return gpt.inEvalMode(() -> {
                    gpt.forward(ids, null, b, t);
                    return gpt.logits();
                });
            }

            @Override
            public String toString() { return "Gpt (float32)"; }
        };
    }
}
