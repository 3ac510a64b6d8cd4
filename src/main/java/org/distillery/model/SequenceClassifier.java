package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;

/**
 * A model that maps a token sequence to one of C classes and trains on a mean cross-entropy over the
 * sequences of a batch: {@link BertClassifier} (the [CLS] position, BERT's pooler and classifier) and
 * {@link GptClassifier} (the last real token, GPT-2's score layer). What
 * {@link org.distillery.train.SequenceClassificationObjective} trains and evaluates.
 */
public interface SequenceClassifier extends TrainableModel {

    /**
     * Forward over B right-padded sequences of T tokens.
     *
     * @param ids     [B*T] token ids, row-major
     * @param lengths [B] real tokens of each sequence (the rest is padding), each in [1, T]
     * @param labels  class per sequence [B] in [0, C), or null for logits only
     * @return the mean cross-entropy over the B sequences, or NaN without labels
     */
    double forward(int[] ids, int[] lengths, int[] labels, int b, int t);

    /** Backward of the last forward (which had labels): adds into {@link #gradients()}. */
    void backward();

    /** The logits of the last forward, [B, C] (a live buffer). */
    FloatTensor logits();

    /** Dropout p in the model during training-mode forwards; masks a pure function of (seed, forward count). */
    void setDropout(double p, long seed);

    /** Training mode (dropout on, if set). */
    SequenceClassifier train();

    /** Evaluation mode (no dropout). */
    SequenceClassifier eval();

    /** C, the number of classes. */
    int classes();

    /** The size of the token vocabulary. */
    int vocabSize();

    /** The largest batch B the model was built for. */
    int maxBatch();

    /** The longest sequence T the model was built for. */
    int maxSequenceLength();
}
