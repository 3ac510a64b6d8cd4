package org.distillery.workshop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Every workshop exercise by id, and the call a notebook's check cell makes:
 * <pre>
 *   Exercises.check("10.1", softTargets)          // an answer checked on its own
 *   Exercises.check("20.2", frontier, points)     // an answer on the notebook's results, checked against them
 * </pre>
 * {@code check} returns the verdict as one line of text (the cell shows it): correct, wrong with a hint, or not
 * attempted yet while the answer is still {@code null}. {@link #verdict} returns the {@link Verdict} itself.
 */
public final class Exercises {
    private static final Map<String, Exercise> ALL = new LinkedHashMap<>();

    static {
        List<List<Exercise>> groups = List.of(NumberFormatExercises.all(), TeacherExercises.all(), HintonExercises.all(),
                DistilBertExercises.all(), DistilGptExercises.all(), QuantizationExercises.all(), PruningExercises.all(),
                PipelineExercises.all());
        for (List<Exercise> g : groups) {
            for (Exercise e : g) {
                if (ALL.putIfAbsent(e.id(), e) != null) throw new IllegalStateException("exercise id " + e.id() + " is used twice");
            }
        }
    }

    private Exercises() {}

    /** Every exercise, in notebook order. */
    public static List<Exercise> all() {
        return List.copyOf(ALL.values());
    }

    /** The exercises of notebook {@code nn} (e.g. {@code "20"}), in order; empty when it has none. */
    public static List<Exercise> of(String nn) {
        List<Exercise> out = new ArrayList<>();
        for (Exercise e : ALL.values()) if (e.notebook().equals(nn)) out.add(e);
        return out;
    }

    /** The exercise {@code id}; an unknown id is an error listing the known ones. */
    public static Exercise get(String id) {
        Exercise e = id == null ? null : ALL.get(id.trim());
        if (e == null) {
            throw new IllegalArgumentException("exercise '" + id + "' does not exist: accepted ids are " + String.join(", ", ALL.keySet()));
        }
        return e;
    }

    /** The verdict on an answer checked on its own ({@code null}: not attempted yet). */
    public static Verdict verdict(String id, Object answer) {
        return get(id).check(answer, null);
    }

    /** The verdict on an answer about the notebook's results, checked against {@code context} (see {@link Exercise#context()}). */
    public static Verdict verdict(String id, Object answer, Object context) {
        return get(id).check(answer, context);
    }

    /** {@link #verdict(String, Object)} as the one line a check cell shows. */
    public static String check(String id, Object answer) {
        return verdict(id, answer).line();
    }

    /** {@link #verdict(String, Object, Object)} as the one line a check cell shows. */
    public static String check(String id, Object answer, Object context) {
        return verdict(id, answer, context).line();
    }

    /** The exercises of notebook {@code nn} as a table: id, task, what to answer, what it is checked against. */
    public static Table table(String nn) {
        List<Exercise> list = of(nn);
        return Table.create("Exercises of notebook " + nn).addColumns(
                StringColumn.create("exercise", list.stream().map(Exercise::id).toList()),
                StringColumn.create("task", list.stream().map(Exercise::title).toList()),
                StringColumn.create("answer", list.stream().map(Exercise::answer).toList()),
                StringColumn.create("checked against", list.stream()
                        .map(e -> e.context() == null ? "the answer alone" : "this run's " + e.context().variable()).toList()));
    }
}
