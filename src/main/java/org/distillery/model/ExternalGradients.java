package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;

/** The argument checks of {@code backward(dlogits, dhidden)} shared by {@link Gpt} and {@link Bert}. */
final class ExternalGradients {
    private ExternalGradients() {}

    /**
     * @param n         B*T of the last forward
     * @param vocab     the logits' width
     * @param width     the hidden state's width
     * @param widthName its config field, for messages
     */
    static void check(FloatTensor dlogits, FloatTensor dhidden, int n, int vocab, int width, String widthName) {
        if (dlogits == null && dhidden == null) {
            throw new IllegalArgumentException("dlogits, dhidden: at least one gradient is needed");
        }
        if (dlogits != null && (dlogits.rows() != n || dlogits.cols() != vocab)) {
            throw new IllegalArgumentException("dlogits: expected shape [" + n + ", " + vocab + "] (B*T of the last"
                    + " forward, vocab_size) but got " + dlogits.shapeString());
        }
        if (dhidden != null && (dhidden.rows() != n || dhidden.cols() != width)) {
            throw new IllegalArgumentException("dhidden: expected shape [" + n + ", " + width + "] (B*T of the last"
                    + " forward, " + widthName + ") but got " + dhidden.shapeString());
        }
    }
}
