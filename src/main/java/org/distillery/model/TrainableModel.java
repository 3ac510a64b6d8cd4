package org.distillery.model;

import org.distillery.engine.kernels.FloatTensor;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a training loop needs of a model ({@link Gpt}, {@link Bert}, {@link Mlp}): named parameters and
 * gradients of the same names and shapes (what the optimiser updates), clearing the gradients, and
 * writing the model to a directory that the model's own {@code load} reads back exactly. Forward and
 * backward differ per model and live in a {@code org.distillery.train.TrainingObjective}.
 */
public interface TrainableModel {

    /** The parameters by name, in a fixed order (live tensors: the optimiser updates them in place). */
    Map<String, FloatTensor> parameters();

    /** The gradients, the same names and shapes as {@link #parameters()}; backward passes add into them. */
    Map<String, FloatTensor> gradients();

    /** Sets every gradient to 0. */
    void zeroGrad();

    /** Writes the model (configuration and F32 weights) into {@code dir}, readable by the model's {@code load}. */
    void save(Path dir);

    /** Total number of parameter elements. */
    long parameterCount();
}
