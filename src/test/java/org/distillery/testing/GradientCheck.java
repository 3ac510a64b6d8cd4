package org.distillery.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleSupplier;
import org.distillery.engine.kernels.FloatTensor;

/**
 * Whole-model gradient checks against central finite differences: {@link #centralDifference} perturbs
 * one parameter entry, {@link #check} asserts |fd - analytic| <= rel |analytic| + abs and keeps the
 * worst ratio for {@link #summary}.
 */
public final class GradientCheck {
    private final double rel, abs;
    private int checked;
    private double worst;
    private String worstAt = "";

    public GradientCheck(double rel, double abs) {
        this.rel = rel;
        this.abs = abs;
    }

    /** (loss(p_i + h) - loss(p_i - h)) / 2h, with {@code p_i} restored afterwards. */
    public static double centralDifference(FloatTensor p, int i, float h, DoubleSupplier loss) {
        float orig = p.get(i);
        p.set(i, orig + h);
        double lp = loss.getAsDouble();
        p.set(i, orig - h);
        double lm = loss.getAsDouble();
        p.set(i, orig);
        return (lp - lm) / (2 * h);
    }

    /** Asserts the finite difference {@code fd} matches the analytic gradient of entry {@code what}. */
    public void check(String what, double analytic, double fd) {
        double err = Math.abs(fd - analytic);
        double excess = err / (rel * Math.abs(analytic) + abs);
        if (excess > worst) {
            worst = excess;
            worstAt = what + " analytic " + analytic + " fd " + fd;
        }
        assertTrue(err <= rel * Math.abs(analytic) + abs,
                what + ": analytic " + analytic + " vs finite difference " + fd + " (|diff| " + err + ")");
        checked++;
    }

    /** One line: entries checked, tensors, and the worst |diff| / tolerance. */
    public String summary(int tensors) {
        return String.format("gradient check: %d entries of %d tensors; worst |diff| / tolerance = %.3f at %s",
                checked, tensors, worst, worstAt);
    }
}
