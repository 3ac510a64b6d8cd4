package org.distillery.prune;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.distillery.model.Gpt;
import org.distillery.model.TrainableModel;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;
import org.distillery.train.WrappingObjective;

/**
 * A training objective whose pruned weights stay exactly zero: after the wrapped objective's forward and
 * backward, the gradients of the pruned weights are set to 0 ({@link PruningMask#maskGradients}).
 *
 * <p>Why that suffices with the project's {@code AdamW} (a fresh {@code Trainer}, so fresh moments m = v = 0):
 * a weight w = 0 with gradient 0 at every step keeps m = v = 0, so its Adam step is m̂ / (sqrt(v̂) + eps) = 0 and
 * its decoupled decay is lr * wd * 0 = 0; clipping scales the gradient, 0 stays 0. The mask must therefore be
 * applied to the weights before training starts and the optimiser must be new (moments of a run that
 * updated those weights would keep moving them). {@link MagnitudePruning#gradual} starts a new trainer for
 * every fine-tuning phase for that reason. Tests check the zeros bit for bit after fine-tuning.
 */
public final class MaskedObjective implements WrappingObjective {
    private final TrainingObjective inner;
    private final PruningMask mask;

    /** Wraps {@code inner}; {@code mask} must already be applied to its model's weights. */
    public MaskedObjective(TrainingObjective inner, PruningMask mask) {
        if (inner == null || mask == null) throw new IllegalArgumentException("inner, mask: must not be null");
        if (!mask.holdsIn(inner.model().parameters())) {
            throw new IllegalArgumentException("mask: some pruned weights are not zero in the model; apply the mask first");
        }
        this.inner = inner;
        this.mask = mask;
    }

    /**
     * Fine-tunes a pruned GPT in place with next-token prediction on {@code train} ({@link CausalLmObjective},
     * a new {@link Trainer} with {@code config}'s loop: its steps, batch, learning rates, seed), keeping the
     * pruned weights at exactly 0. {@code config.model()} is ignored in favour of the model's own config;
     * validation and checkpoints are off.
     *
     * @return the step records (loss per step)
     */
    public static List<Trainer.StepRecord> finetune(Gpt model, PruningMask mask, int[] train, TrainConfig config) {
        if (model == null || config == null) throw new IllegalArgumentException("model, config: must not be null");
        TrainConfig c = config.withModel(model.config()).withEval(0, 1).withCheckpoints(0, 1);
        boolean wasTraining = model.isTraining();
        model.train();
        try {
            TrainingObjective o = new CausalLmObjective(c, train, null, model);
            return new Trainer(c.loop(), mask == null ? o : new MaskedObjective(o, mask)).showProgress(false).run();
        } finally {
            if (!wasTraining) model.eval();
        }
    }

    @Override
    public TrainableModel model() { return inner.model(); }

    @Override
    public TrainingObjective inner() { return inner; }

    @Override
    public String kind() { return "masked-" + inner.kind(); }

    @Override
    public double forwardBackward(MicroBatch batch) {
        double loss = inner.forwardBackward(batch);
        mask.maskGradients(inner.model().gradients());
        return loss;
    }

    /** The wrapped objective's state with the mask's sparsity (the mask itself is not stored). */
    @Override
    public ObjectNode state() {
        ObjectNode o = inner.state().deepCopy();
        o.put("kind", kind());
        o.put("mask_sparsity", mask.sparsity());
        return o;
    }
}
