package org.distillery.testing;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.TrainableModel;
import org.distillery.train.LoopConfig;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** Straight run vs. half + checkpoint + resume + half: bit-identical losses, validations and parameters. */
public final class ResumeSupport {
    private ResumeSupport() {}

    /**
     * @param loop      the run (steps = 2 * half; checkpointInterval = half)
     * @param objective builds a fresh objective (fresh model from the same seed) per call
     * @param restorer  rebuilds the objective from a checkpoint
     * @return the resumed trainer
     */
    public static Trainer assertExactResume(LoopConfig loop, Supplier<TrainingObjective> objective,
                                     TrainingObjective.Restorer restorer, Path dir) {
        Trainer straight = new Trainer(loop, objective.get()).showProgress(false);
        straight.run();
        Path run = dir.resolve("run");
        Trainer first = new Trainer(loop, objective.get(), run).showProgress(false);
        int half = loop.steps() / 2;
        first.runUntil(half);
        Path ck = Trainer.latestCheckpoint(run);
        assertEquals(run.resolve(String.format("step-%08d", half)), ck);
        Trainer resumed = Trainer.resume(ck, restorer).showProgress(false);
        assertEquals(half, resumed.step());
        assertEquals(loop, resumed.loop(), "loop config round-trips through trainer.json");
        resumed.run();
        assertBitIdentical(straight.history(), resumed.history(), Trainer.StepRecord::loss, "loss");
        assertBitIdentical(straight.history(), resumed.history(), Trainer.StepRecord::gradNorm, "grad norm");
        assertBitIdentical(straight.evals(), resumed.evals(), Trainer.EvalRecord::loss, "validation loss");
        assertSameParameters(straight.model(), resumed.model());
        return resumed;
    }

    public static <R> void assertBitIdentical(List<R> a, List<R> b, Function<R, Double> f, String what) {
        assertEquals(a.size(), b.size(), what + ": records");
        for (int i = 0; i < a.size(); i++) {
            assertEquals(Double.doubleToRawLongBits(f.apply(a.get(i))), Double.doubleToRawLongBits(f.apply(b.get(i))),
                    what + " of record " + i + ": " + f.apply(a.get(i)) + " vs " + f.apply(b.get(i)));
        }
    }

    public static void assertSameParameters(TrainableModel a, TrainableModel b) {
        assertEquals(a.parameters().keySet(), b.parameters().keySet());
        for (Map.Entry<String, FloatTensor> e : a.parameters().entrySet()) {
            FloatTensor pa = e.getValue(), pb = b.parameters().get(e.getKey());
            for (int i = 0; i < pa.size(); i++) {
                assertEquals(Float.floatToRawIntBits(pa.get(i)), Float.floatToRawIntBits(pb.get(i)), e.getKey() + "[" + i + "]");
            }
        }
    }
}
