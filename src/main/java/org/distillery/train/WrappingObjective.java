package org.distillery.train;

/**
 * An objective that trains through another one (distillation around the student's task, QAT or a pruning mask
 * around any objective): the batches, their item count and the validation are the wrapped objective's unless the
 * wrapper says otherwise.
 */
public interface WrappingObjective extends TrainingObjective {
    /** The wrapped objective. */
    TrainingObjective inner();

    @Override
    default long itemsPerMicroBatch() { return inner().itemsPerMicroBatch(); }

    @Override
    default String itemName() { return inner().itemName(); }

    @Override
    default boolean hasValidation() { return inner().hasValidation(); }

    @Override
    default double validationLoss() { return inner().validationLoss(); }
}
