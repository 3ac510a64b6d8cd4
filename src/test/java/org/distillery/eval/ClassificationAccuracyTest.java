package org.distillery.eval;

import org.distillery.model.Mlp;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** ClassificationAccuracy on a 2-2 identity classifier (logits = inputs), by hand. */
class ClassificationAccuracyTest {

    @Test
    void countsAndNllByHand() {
        Mlp m = new Mlp(List.of(2, 2), 0.3, 0.3, 3, 1);
        var w = m.parameters().get("layers.0.weight");
        w.copyFrom(new float[] {1, 0, 0, 1});
        m.parameters().get("layers.0.bias").fill(0);
        // logits = x: predictions 0, 1, 1, 0 (a tie: the first class), labels 0, 1, 0, 1 -> 2 correct
        float[] x = {2, 0, 0, 1, 1, 3, 5, 5};
        int[] y = {0, 1, 0, 1};
        ClassificationAccuracy.Result r = ClassificationAccuracy.evaluate(m, x, y);
        assertEquals(4, r.examples());
        assertEquals(2, r.correct());
        assertEquals(0.5, r.accuracy(), 0);
        assertEquals(2, r.errors());
        double nll = (Math.log(Math.exp(2) + 1) - 2) + (Math.log(1 + Math.E) - 1) + (Math.log(Math.E + Math.exp(3)) - 1)
                + Math.log(2);
        assertEquals(nll / 4, r.meanNll(), 1e-6);
        assertTrue(m.isTraining(), "the model's mode is restored");
        ClassificationAccuracy.Result again = ClassificationAccuracy.evaluate(m, x, y);
        assertEquals(r.meanNll(), again.meanNll(), 0, "dropout is off during evaluation");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClassificationAccuracy.evaluate(m, x, new int[] {0, 1, 2, 0}));
        assertTrue(e.getMessage().contains("labels: label 2 at example 2 is outside [0, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClassificationAccuracy.evaluate(m, new float[7], y));
        assertTrue(e.getMessage().contains("inputs: length must be labels.length * inputWidth = 8 but was 7"), e.getMessage());
    }

    /** Wilson's interval against values worked by hand from the formula (and tabulated: 50/100 -> 0.4038-0.5962, 0/10 -> 0-0.2775). */
    @Test
    void wilsonIntervalMatchesTheClosedForm() {
        double[] half = new ClassificationAccuracy.Result(100, 50, 0).wilson95();
        assertEquals(0.403832, half[0], 1e-6);
        assertEquals(0.596168, half[1], 1e-6);
        double[] none = new ClassificationAccuracy.Result(10, 0, 0).wilson95();
        assertEquals(0.0, none[0], 1e-15);
        assertEquals(0.277532, none[1], 1e-6);
        double[] a = new ClassificationAccuracy.Result(37, 9, 0).wilson95(), b = new ClassificationAccuracy.Result(37, 28, 0).wilson95();
        assertEquals(a[0], 1 - b[1], 1e-12, "k of n and n - k of n mirror each other");
        assertEquals(a[1], 1 - b[0], 1e-12);
    }
}
