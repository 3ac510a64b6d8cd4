package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.tinyGpt;

import java.util.List;
import java.util.stream.Stream;
import org.distillery.distill.Distiller;
import org.distillery.distill.HintonLoss;
import org.distillery.distill.Schedule;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.TrainConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link HintonLoss}, {@link Distiller} and its {@link Schedule}s: alpha and T out of range, NaN/Inf, every weight 0,
 * logits of other shapes, labels outside the vocabulary, a teacher of another vocabulary or too small for the batches.
 */
class DistillerBadInputTest {
    private static CausalLmObjective task(Gpt student) {
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 13 + 5) % 256;
        return new CausalLmObjective(TrainConfig.defaults(student.config()).withBatch(4, 16), tokens, null, student);
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        HintonLoss hinton = new HintonLoss(0.5, 2);
        FloatTensor s = FloatTensor.zeros(3, 5), t = FloatTensor.zeros(3, 5), d = FloatTensor.zeros(3, 5);
        Gpt otherVocab = new Gpt(Gpt2Config.of(300, 16, 32, 2, 2), 4, 16, 1);
        Gpt smallTeacher = new Gpt(Gpt2Config.of(256, 16, 32, 2, 2), 1, 16, 1);
        Gpt threeHeads = new Gpt(Gpt2Config.of(256, 16, 48, 1, 3), 4, 16, 1);
        return BadInput.tests(List.of(
                iae("alpha 1.5", "alpha: the hard-label weight must be in [0, 1] but was 1.5", () -> new HintonLoss(1.5, 2)),
                iae("alpha NaN", "alpha: the hard-label weight must be in [0, 1] but was NaN", () -> new HintonLoss(Double.NaN, 2)),
                iae("T 0", "temperature: must be a finite number > 0 but was 0.0", () -> new HintonLoss(0.5, 0)),
                iae("T -1", "temperature: must be a finite number > 0 but was -1.0", () -> new HintonLoss(0.5, -1)),
                iae("T Inf", "temperature: must be a finite number > 0 but was Infinity",
                        () -> new HintonLoss(0.5, Double.POSITIVE_INFINITY)),
                iae("T NaN", "temperature: must be a finite number > 0 but was NaN", () -> new HintonLoss(0.5, Double.NaN)),
                iae("teacher logits of another vocabulary", "teacher: logits [3, 6] do not match the student's [3, 5] (same rows"
                        + " and vocabulary needed)", () -> hinton.forwardBackward(s, FloatTensor.zeros(3, 6), new int[3], null, d)),
                iae("no labels with alpha > 0", "labels: must be given when alpha = 0.5 > 0 (the hard-label term); use alpha = 0"
                        + " for soft targets only", () -> hinton.forwardBackward(s, t, null, null, d)),
                iae("a label outside the vocabulary", "targets: token id 5 at position 1 is out of range [0, 5) for vocab size 5 (and is not"
                        + " the ignore index -100)",
                        () -> hinton.forwardBackward(s, t, new int[] {0, 5, 1}, null, d)),
                iae("gradient of another shape", "dstudent: shape [2, 5] does not match the student's logits [3, 5]",
                        () -> hinton.forwardBackward(s, t, new int[3], null, FloatTensor.zeros(2, 5))),
                iae("soft-row flags of another length", "softRows: 2 flags but the logits have 3 rows",
                        () -> hinton.forwardBackward(s, t, new int[3], new boolean[2], d)),
                iae("no student", "student: must not be null", () -> hinton.forwardBackward(null, t, new int[3], null, d)),
                iae("every weight 0", "task, soft, cos, mse, attention: every weight is 0 at every step; at least one loss term"
                        + " must be on", () -> Distiller.Options.of(0, 0, 0, 0, 2)),
                iae("negative weight", "cos: weight must be >= 0 but is " + Schedule.constant(-1),
                        () -> Distiller.Options.of(1, 0, -1, 0, 2)),
                iae("T 0 in the options", "temperature: must be > 0 at every step but is " + Schedule.constant(0),
                        () -> Distiller.Options.of(0.5, 0.5, 0, 0, 0)),
                iae("a null schedule", "task, soft, cos, mse, attention, temperature: schedules must not be null (use"
                        + " Schedule.constant(0) for a term that is off)", () -> new Distiller.Options(null,
                        Schedule.constant(1), Schedule.constant(0), Schedule.constant(0), Schedule.constant(2), true)),
                iae("Hinton alpha 2", "alpha: the hard-label weight must be in [0, 1] but was 2.0",
                        () -> Distiller.Options.hinton(2, 2)),
                iae("schedule of NaN", "start, end: must be finite but were NaN, 1.0", () -> Schedule.linear(Double.NaN, 1, 10)),
                iae("schedule of 0 steps", "steps: must be >= 1 but was 0", () -> Schedule.linear(0, 1, 0)),
                iae("teacher of another vocabulary", "teacher: vocab_size 300 differs from the student's 256; teacher and student"
                        + " must share it", () -> Distiller.of(otherVocab, task(tinyGpt()), Distiller.Options.of(0.5, 0.5, 0, 0, 2), null)),
                iae("teacher too small for the batches", "teacher: built for batches up to 1 x 16 but the task needs 4 x 16",
                        () -> Distiller.of(smallTeacher, task(tinyGpt()), Distiller.Options.of(0.5, 0.5, 0, 0, 2), null)),
                iae("attention term with other head counts", "options: the attention term needs the same number of heads, but the"
                        + " teacher has 3 and the student 2", () -> Distiller.of(threeHeads, task(tinyGpt()),
                        new Distiller.Options(Schedule.constant(1), Schedule.constant(0), Schedule.constant(0),
                                Schedule.constant(0), Schedule.constant(1), Schedule.constant(2), true), null)),
                iae("no options", "options: must not be null", () -> Distiller.of(tinyGpt(), task(tinyGpt()), null, null))));
    }
}
