package org.distillery.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.distillery.model.TrainableModel;

import java.nio.file.Path;

/**
 * What a {@link Trainer} optimises: a model, the data it sees, and the loss. The trainer owns the loop
 * (optimiser, schedule, clipping, accumulation, freezing, validation timing, checkpoints, metrics, the
 * divergence stop); the objective turns a micro-batch number into gradients. Implementations:
 * {@link CausalLmObjective} (GPT), {@link MaskedLmObjective} (BERT), {@link ClassificationObjective} (MLP).
 *
 * <p><b>Determinism.</b> A micro-batch's data and randomness (windows, masks, jitter, dropout) must be a
 * pure function of the objective's configuration and the {@link MicroBatch}, not of how many micro-batches
 * came before in this process: a run resumed from a checkpoint then continues bit-identically.
 */
public interface TrainingObjective {

    /**
     * Optimiser step {@code step} (1-based), micro-batch {@code micro} of it (0-based, &lt; the loop's
     * gradAccumSteps A), and {@code index} = (step - 1) * A + micro, the micro-batch's number in the run.
     */
    record MicroBatch(int step, int micro, long index) {}

    /**
     * Rebuilds an objective for {@link Trainer#resume(Path, Restorer)}: from the model directory of a
     * checkpoint and the {@link #state()} that was stored in it (which the rebuilt objective's state must
     * equal).
     */
    @FunctionalInterface
    interface Restorer {
        TrainingObjective restore(Path modelDir, JsonNode storedState);
    }

    /** The model being trained: its parameters and gradients are what the optimiser sees. */
    TrainableModel model();

    /** A short name of the objective, e.g. {@code causal-lm}, stored in checkpoints. */
    String kind();

    /**
     * Forward and backward of one micro-batch: adds the gradient of the micro-batch's mean loss to the
     * model's gradients (the trainer zeroes them once per step and scales by 1/A after A micro-batches).
     * May return a non-finite loss; the trainer then stops before the optimiser step.
     *
     * @return the micro-batch's mean loss (e.g. nats per predicted token)
     */
    double forwardBackward(MicroBatch batch);

    /** How many items (see {@link #itemName()}) one micro-batch counts, for the throughput figure. */
    long itemsPerMicroBatch();

    /** What an item is, plural, e.g. {@code tokens} or {@code examples} (the CSV metric is {@code <item>_per_s}). */
    String itemName();

    /** Whether {@link #validationLoss()} is available. */
    boolean hasValidation();

    /**
     * The loss on fixed validation data, forward only (gradients untouched, dropout off); the same value
     * whenever the parameters are the same.
     *
     * @throws IllegalStateException without validation data
     */
    double validationLoss();

    /**
     * Everything that determines this objective's batches and losses besides the model's parameters (its
     * configuration, seeds, fingerprints of its data), as JSON. Written into every checkpoint's
     * {@code trainer.json}; a resume requires the rebuilt objective's state to equal it.
     */
    ObjectNode state();
}
