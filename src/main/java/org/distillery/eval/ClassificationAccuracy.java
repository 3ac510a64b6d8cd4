package org.distillery.eval;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Mlp;

import java.util.Locale;

/**
 * Accuracy and mean negative log-likelihood of an {@link Mlp} classifier on labelled examples, evaluated in
 * evaluation mode (dropout off; the model's mode is restored afterwards) in batches of the model's maxB. The
 * prediction of a row is its largest logit (the first on ties, {@link Mlp#argmax}); the NLL is
 * {@code logsumexp(logits) - logits[label]} in double.
 */
public final class ClassificationAccuracy {
    private ClassificationAccuracy() {}

    /**
     * @param examples number of examples n
     * @param correct  examples whose prediction is the label
     * @param meanNll  mean negative log-likelihood of the labels (nats)
     */
    public record Result(long examples, long correct, double meanNll) {
        /** correct / examples. */
        public double accuracy() { return (double) correct / examples; }

        /** 1 - accuracy. */
        public double errorRate() { return 1 - accuracy(); }

        /** Misclassified examples. */
        public long errors() { return examples - correct; }

        /**
         * The Wilson score interval for the accuracy at 95 % ({@code {low, high}}), z = 1.959964:
         * (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). It treats the examples as independent
         * draws; examples that share a source (passages of one document) make the real interval wider.
         */
        public double[] wilson95() {
            double n = examples, p = accuracy(), z = 1.959963984540054, z2 = z * z;
            double centre = p + z2 / (2 * n), half = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
            return new double[] {(centre - half) / (1 + z2 / n), (centre + half) / (1 + z2 / n)};
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "accuracy %.4f (%d of %d; %d errors), mean NLL %.4f nats",
                    accuracy(), correct, examples, errors(), meanNll);
        }
    }

    /**
     * Evaluates {@code model} on n examples.
     *
     * @param inputs row-major [n, inputWidth] floats
     * @param labels [n] class labels in [0, classes)
     */
    public static Result evaluate(Mlp model, float[] inputs, int[] labels) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (labels == null || labels.length == 0) throw new IllegalArgumentException("labels: must not be null or empty");
        int n = labels.length, w = model.inputWidth();
        if (inputs == null || inputs.length != (long) n * w) {
            throw new IllegalArgumentException("inputs: length must be labels.length * inputWidth = " + (long) n * w
                    + " but was " + (inputs == null ? "null" : inputs.length));
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= model.classes()) {
                throw new IllegalArgumentException("labels: label " + labels[i] + " at example " + i + " is outside [0, "
                        + model.classes() + ")");
            }
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        long correct = 0;
        double nll = 0;
        float[] x = new float[model.maxBatch() * w];
        try {
            for (int s = 0; s < n; s += model.maxBatch()) {
                int b = Math.min(model.maxBatch(), n - s);
                float[] batch = b == model.maxBatch() ? x : new float[b * w];
                System.arraycopy(inputs, s * w, batch, 0, b * w);
                model.forward(batch, null, b);
                FloatTensor logits = model.logits();
                for (int r = 0; r < b; r++) {
                    if (Mlp.argmax(logits, r) == labels[s + r]) correct++;
                    nll += LogitRows.nll(logits, r, labels[s + r]);
                }
            }
        } finally {
            if (wasTraining) model.train();
        }
        return new Result(n, correct, nll / n);
    }
}
