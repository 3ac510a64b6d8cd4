/**
 * The workshop exercises at the end of the technique notebooks, and their checker.
 *
 * <ul>
 *   <li>{@link org.distillery.workshop.Exercises}: every exercise by id ({@code "20.2"}: notebook 20, second
 *   exercise); {@code Exercises.check(id, answer[, context])} is what a notebook's check cell calls and returns
 *   the verdict as one line of text.</li>
 *   <li>{@link org.distillery.workshop.Exercise}: one task, its hint, the answer it expects and, for exercises on a
 *   notebook's own results, the notebook variable it is checked against; {@link org.distillery.workshop.Verdict}:
 *   correct, wrong (with a hint) or not attempted yet (the answer is still {@code null}).</li>
 *   <li>One class per notebook holds its exercises, each checked against an independent reference in the library
 *   (a format's decoder, {@code HintonLoss}, {@code Quantizer}, {@code NmPattern}, {@code ParetoFrontier}...):
 *   {@link org.distillery.workshop.NumberFormatExercises} (00), {@link org.distillery.workshop.TeacherExercises}
 *   (01), {@link org.distillery.workshop.HintonExercises} (10), {@link org.distillery.workshop.DistilBertExercises}
 *   (11), {@link org.distillery.workshop.DistilGptExercises} (12),
 *   {@link org.distillery.workshop.QuantizationExercises} (20), {@link org.distillery.workshop.PruningExercises}
 *   (30), {@link org.distillery.workshop.PipelineExercises} (40).</li>
 * </ul>
 * Reference solutions: {@code notebooks/solutions/}; the course: {@code notebooks/README.md}.
 */
package org.distillery.workshop;
