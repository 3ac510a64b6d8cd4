package org.distillery.train;

import java.nio.file.Path;

/** A training run hit a NaN or infinite loss or gradient norm; names the step and the last good checkpoint. */
public final class TrainingDivergedException extends IllegalStateException {
    private final int step;
    private final transient Path lastGoodCheckpoint;

    public TrainingDivergedException(int step, String message, Path lastGoodCheckpoint) {
        super(message);
        this.step = step;
        this.lastGoodCheckpoint = lastGoodCheckpoint;
    }

    /** The step (1-based) at which the value went non-finite. */
    public int step() { return step; }

    /** The newest checkpoint on disk, all of whose values are finite; null without one. */
    public Path lastGoodCheckpoint() { return lastGoodCheckpoint; }
}
