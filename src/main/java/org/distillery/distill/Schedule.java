package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A value that may change over training, for distillation temperatures and loss weights: {@code start}
 * at step 1, moving linearly to {@code end} at step {@code steps}, and {@code end} after that. A constant
 * is start = end.
 *
 * @param start the value at step 1
 * @param end   the value from step {@code steps} on
 * @param steps the step at which {@code end} is reached, &gt;= 1
 */
public record Schedule(double start, double end, int steps) {

    public Schedule {
        if (!Double.isFinite(start) || !Double.isFinite(end)) {
            throw new IllegalArgumentException("start, end: must be finite but were " + start + ", " + end);
        }
        if (steps < 1) throw new IllegalArgumentException("steps: must be >= 1 but was " + steps);
    }

    /** The same value at every step. */
    public static Schedule constant(double value) {
        return new Schedule(value, value, 1);
    }

    /** From {@code start} at step 1 to {@code end} at step {@code steps}. */
    public static Schedule linear(double start, double end, int steps) {
        return new Schedule(start, end, steps);
    }

    /** The value at optimiser step {@code step} (1-based). */
    public double at(int step) {
        if (step >= steps) return end;
        if (step <= 1) return start;
        return start + (end - start) * (step - 1) / (double) (steps - 1);
    }

    public boolean isConstant() { return start == end; }

    /** The smallest and largest values the schedule takes. */
    public double min() { return Math.min(start, end); }

    public double max() { return Math.max(start, end); }

    public ObjectNode toJson() {
        return new ObjectMapper().createObjectNode().put("start", start).put("end", end).put("steps", steps);
    }

    public static Schedule fromJson(JsonNode o) {
        return new Schedule(o.path("start").asDouble(), o.path("end").asDouble(), o.path("steps").asInt());
    }

    @Override
    public String toString() {
        return isConstant() ? Double.toString(start) : start + " -> " + end + " over " + steps + " steps";
    }
}
