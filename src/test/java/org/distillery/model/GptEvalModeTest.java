package org.distillery.model;

import static org.distillery.model.GptTestSupport.B;
import static org.distillery.model.GptTestSupport.T;
import static org.distillery.model.GptTestSupport.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link Gpt#eval()}: the evaluation buffers (one set shared by all layers, no gradient scratch, loss
 * without its gradient) give exactly the training-mode forward's logits and loss, ignore dropout, and
 * leave the training path (and its dropout mask sequence) as it was.
 */
class GptEvalModeTest {

    private static int[] targetsOf(int[] ids) {
        int[] t = new int[ids.length];
        for (int i = 0; i < ids.length; i++) t[i] = (i + 1) % T == 0 ? Gpt.IGNORE_INDEX : ids[i + 1];
        return t;
    }

    @Test
    void evalForwardIsBitIdenticalToTrainingForward() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        GptTestSupport.randomise(g, 4);
        for (int[] shape : new int[][] {{B, T}, {1, T}, {B, 5}}) {
            int b = shape[0], t = shape[1];
            int[] ids = GptTestSupport.randomIds(7 + t, b * t, V);
            int[] targets = new int[b * t];
            for (int i = 0; i < b * t; i++) targets[i] = (i + 1) % t == 0 ? Gpt.IGNORE_INDEX : ids[i + 1];
            double trainLoss = g.train().forward(ids, targets, b, t);
            double[] trainLogits = g.logits().toDoubleArray();
            double evalLoss = g.eval().forward(ids, targets, b, t);
            assertFalse(g.isTraining());
            assertEquals(trainLoss, evalLoss, 0.0, "loss, shape " + b + "x" + t);
            assertArrayEquals(trainLogits, g.logits().toDoubleArray(), 0.0, "logits, shape " + b + "x" + t);
            assertTrue(Double.isNaN(g.forward(ids, null, b, t)));
            assertArrayEquals(trainLogits, g.logits().toDoubleArray(), 0.0, "logits without targets");
        }
    }

    @Test
    void evalIgnoresDropoutAndDoesNotAdvanceTheMaskSequence() {
        int[] ids = GptTestSupport.randomIds(11, B * T, V), targets = targetsOf(ids);
        Gpt plain = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        double noDropout = plain.forward(ids, targets, B, T);

        Gpt a = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        Gpt c = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        a.setDropout(0.3, 99);
        c.setDropout(0.3, 99);
        assertEquals(noDropout, a.eval().forward(ids, targets, B, T), 0.0, "no dropout in evaluation mode");
        double first = a.train().forward(ids, targets, B, T);
        double second = a.forward(ids, targets, B, T);
        double cFirst = c.forward(ids, targets, B, T);
        c.eval().forward(ids, targets, B, T);
        double cSecond = c.train().forward(ids, targets, B, T);
        assertTrue(first != noDropout, "dropout is on in training mode");
        assertEquals(first, cFirst, 0.0, "first training forward with the same masks");
        assertEquals(second, cSecond, 0.0, "an evaluation forward in between does not shift the masks");
    }

    @Test
    void backwardAfterAnEvalForwardIsRefusedAndTrainingStillWorks() {
        Gpt g = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        int[] ids = GptTestSupport.randomIds(5, B * T, V), targets = targetsOf(ids);
        IllegalStateException e = assertThrows(IllegalStateException.class, g::logits);
        assertEquals("logits: no forward has run yet", e.getMessage());
        g.eval().forward(ids, targets, B, T);
        e = assertThrows(IllegalStateException.class, g::backward);
        assertEquals("backward: the last forward ran in evaluation mode, which keeps no activations; call train()"
                + " before the forward", e.getMessage());

        Gpt ref = new Gpt(GptTestSupport.tinyConfig(), B, T, 3);
        ref.zeroGrad();
        ref.forward(ids, targets, B, T);
        ref.backward();
        g.zeroGrad();
        g.train().forward(ids, targets, B, T);
        g.backward();
        for (String name : ref.gradients().keySet()) {
            assertArrayEquals(ref.gradients().get(name).toDoubleArray(), g.gradients().get(name).toDoubleArray(), 0.0,
                    name);
        }
    }
}
