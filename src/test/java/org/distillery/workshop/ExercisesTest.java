package org.distillery.workshop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.distillery.pipeline.ParetoChart;
import org.distillery.pipeline.StageCost;
import org.distillery.prune.PruningSweep;
import org.distillery.quant.QuantizationSweep;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The workshop exercises: every reference solution ({@code notebooks/solutions/}) gets "correct" and every notebook's
 * own attempt cell "not attempted yet", both run as notebook code (JShell, as the kernel runs cells) followed by the
 * notebook's check cell; a deliberately wrong answer to every exercise gets "wrong", a null one "not attempted yet";
 * recognised mistakes get their specific hint; and the registry, the notebooks, the solutions and the course page
 * list the same exercises. The exercises on a notebook's results are checked on those results computed here in the
 * quick profile with the notebook's library calls ({@link QuickRuns}).
 */
class ExercisesTest {
    @TempDir
    static Path tmp;

    /** The notebook variables an exercise cell may use: name, its Java type, how to compute it. */
    private record Variable(String name, String type, Function<Path, Object> value) {}

    private static final Map<String, List<Variable>> CONTEXT = Map.of(
            "01-teacher", List.of(new Variable("modelConfig", "org.distillery.io.Gpt2Config", r -> QuickRuns.teacherConfig())),
            "12-distilgpt2-students", List.of(new Variable("tc", "org.distillery.io.Gpt2Config", r -> QuickRuns.teacherConfig()),
                    new Variable("base", "org.distillery.train.TrainConfig", r -> QuickRuns.studentTraining())),
            "20-quantization-sweep", List.of(new Variable("points", "java.util.List<org.distillery.quant.QuantizationSweep.Point>",
                    QuickRuns::quantizationPoints)),
            "30-pruning", List.of(new Variable("points", "java.util.List<org.distillery.prune.PruningSweep.Point>",
                    QuickRuns::pruningPoints)),
            "40-compression-pipeline", List.of(new Variable("rows", "java.util.List<org.distillery.pipeline.StageCost>",
                    QuickRuns::pipelineRows), new Variable("points", "java.util.List<org.distillery.pipeline.ParetoChart.Point>",
                    QuickRuns::pipelinePoints)));

    static List<String> notebooks() {
        return WorkshopNotebook.NAMES;
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void attemptCellsAreNotAttemptedAndReferenceSolutionsAreCorrect(String name) {
        WorkshopNotebook nb = WorkshopNotebook.read(name);
        assertNotNull(nb.setup(), name + ": no workshop setup cell");
        for (String[] pass : new String[][] {{"attempt", "not attempted yet"}, {"solution", "correct"}}) {
            try (JShellSession js = new JShellSession()) {
                js.run(String.join("\n", nb.imports()), name + " imports");
                js.run(nb.setup(), name + " setup cell");
                // after the imports: JShell resets a variable whose declaration a later import makes it recompile
                for (Variable v : CONTEXT.getOrDefault(name, List.of())) {
                    NotebookContext.put(v.name(), v.value().apply(tmp));
                    js.run(v.type() + " " + v.name() + " = (" + v.type() + ") org.distillery.workshop.NotebookContext.get(\""
                            + v.name() + "\");", name + " context " + v.name());
                }
                for (Exercise e : Exercises.of(name.substring(0, 2))) {
                    String code = pass[0].equals("attempt") ? nb.cells().get(e.id()).get("attempt") : nb.solutions().get(e.id());
                    assertNotNull(code, name + ": no " + pass[0] + " for " + e.id());
                    js.run(code, name + " " + e.id() + " " + pass[0]);
                    String verdict = js.run(nb.cells().get(e.id()).get("check"), name + " " + e.id() + " check");
                    assertNotNull(verdict, e.id() + ": the check cell shows nothing");
                    assertTrue(verdict.startsWith("\"Exercise " + e.id() + ": " + pass[1] + "."),
                            e.id() + " with the " + pass[0] + ": " + verdict);
                }
            }
        }
    }

    /** A deliberately wrong answer per exercise (each checked with the exercise's context, if any). */
    private static Map<String, Object> wrongAnswers() {
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("00.1", 12.0);
        w.put("00.2", 0.009765625);
        w.put("00.3", 0.099609375f);
        w.put("00.4", new double[] {0.5, 0, -3.5, 0});
        w.put("01.1", 136_960L);
        w.put("10.1", new double[] {0.2, 0.2, 0.2, 0.2, 0.2});
        w.put("10.2", 1.0);
        w.put("10.3", new double[5]);
        w.put("11.1", new int[] {0, 3, 6, 9});
        w.put("11.2", new double[] {0.6, 0.9});
        w.put("12.1", 0.5);
        w.put("12.2", 1 / 16.0);
        w.put("12.3", 1L);
        w.put("20.1", new double[] {0.12, -0.40, 0.05, 0.31, -0.07, 0.22, -0.18, 0.02});
        w.put("20.2", List.of("RTN per-tensor", "RTN per-tensor + NT", "RTN per-channel", "RTN per-channel + NT",
                "GPTQ per-channel", "GPTQ per-channel + NT"));
        w.put("20.3", 1e6);
        w.put("30.1", new boolean[] {true, true, true, true, true, true, true, true});
        w.put("30.2", new boolean[] {true, false, true, false, true, true, false, false});
        w.put("30.3", 0.32);
        w.put("30.4", 1e6);
        w.put("40.1", new double[] {1, 1, 1, 1});
        w.put("40.2", List.of("prune-magnitude-50"));
        w.put("40.3", 4.0);
        return w;
    }

    private static Object context(Exercise e) {
        if (e.context() == null) return null;
        String nb = WorkshopNotebook.NAMES.stream().filter(n -> n.startsWith(e.notebook())).findFirst().orElseThrow();
        return CONTEXT.get(nb).stream().filter(v -> v.name().equals(e.context().variable())).findFirst().orElseThrow().value().apply(tmp);
    }

    @Test
    void wrongAnswersAreWrongAndNullIsNotAttempted() {
        Map<String, Object> wrong = wrongAnswers();
        assertEquals(Exercises.all().stream().map(Exercise::id).toList(), List.copyOf(wrong.keySet()));
        for (Exercise e : Exercises.all()) {
            Object ctx = context(e);
            Verdict v = Exercises.verdict(e.id(), wrong.get(e.id()), ctx);
            assertEquals(Verdict.Status.WRONG, v.status(), v.line());
            assertTrue(v.message().contains("Hint: "), v.line());
            Verdict n = Exercises.verdict(e.id(), null, ctx);
            assertEquals(Verdict.Status.NOT_ATTEMPTED, n.status(), n.line());
            assertEquals("Exercise " + e.id() + ": not attempted yet. Replace null with " + e.answer() + ", then run this cell again.", n.line());
        }
    }

    @Test
    void recognisedMistakesGetTheirOwnHint() {
        assertTrue(Exercises.check("00.2", -1.625 / 128).contains("decodes it as a normal number"));
        assertTrue(Exercises.check("00.3", 0.099609375).contains("truncated value"));
        assertTrue(Exercises.check("00.4", new double[] {0.5, 0, -3.5, 0}).contains("symmetric one"));
        assertTrue(Exercises.check("01.1", 120_576L + 256 * 64, QuickRuns.teacherConfig()).contains("counts the output head"));
        // softmax at T = 1 of the teacher logits {6, 2, -1, 3.5, 0}, by hand
        double[] v = {6, 2, -1, 3.5, 0}, p1 = new double[5];
        double sum = 0;
        for (int i = 0; i < 5; i++) sum += p1[i] = Math.exp(v[i] - 6);
        for (int i = 0; i < 5; i++) p1[i] /= sum;
        assertTrue(Exercises.check("10.1", p1).contains("softmax at T = 1"));
        assertTrue(Exercises.check("10.1", new double[] {1, 1, 1, 1, 1}).contains("sum to 5"));
        assertTrue(Exercises.check("11.1", new int[] {0, 3, 6, 9}).contains("never the last one"));
        assertTrue(Exercises.check("11.1", List.of(1, 5, 8, 12)).contains("counts layers from 1"));
        assertTrue(Exercises.check("30.1", new boolean[] {false, false, true, true, false, true, false, true}).contains("inverted"));
        assertTrue(Exercises.check("30.1", new boolean[] {true, true, true, false, false, false, true, false}).contains("whole row"));
        assertTrue(Exercises.check("30.2", new boolean[] {true, false, true, false, true, true, false, false}).contains("magnitude pruning per row"));
        assertTrue(Exercises.check("30.3", 0.32).contains("linear schedule"));
        assertTrue(Exercises.check("30.3", 62.72).contains("in %"));
        List<QuantizationSweep.Point> q = QuickRuns.quantizationPoints(tmp);
        QuantizationSweep.Point rtn = q.stream().filter(p -> p.scheme() == QuantizationSweep.Scheme.RTN_CHANNEL && p.bits() == 3
                && !p.normTweak()).findFirst().orElseThrow();
        QuantizationSweep.Point rtnNt = q.stream().filter(p -> p.scheme() == QuantizationSweep.Scheme.RTN_CHANNEL && p.bits() == 3
                && p.normTweak()).findFirst().orElseThrow();
        double share = 100 * (rtn.perplexity() - rtnNt.perplexity()) / (rtn.perplexity() - rtn.floatPerplexity());
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("20.3", share + 0.04, q).status());
        assertTrue(Exercises.check("20.3", share + 0.5, q).contains("is close, but not within 0.05 percentage points"));
        assertTrue(Exercises.check("20.3", share / 100, q).contains("is a fraction"));
        List<PruningSweep.Point> pp = QuickRuns.pruningPoints(tmp);
        double dense = pp.get(0).densePerplexity();
        double mag = pp.stream().filter(p -> p.method() == PruningSweep.Method.MAGNITUDE).mapToDouble(PruningSweep.Point::perplexity).average().orElseThrow();
        double seed0 = pp.stream().filter(p -> p.method() == PruningSweep.Method.SPARSEGPT && p.seed() == 0).findFirst().orElseThrow().perplexity();
        double sgpt = pp.stream().filter(p -> p.method() == PruningSweep.Method.SPARSEGPT).mapToDouble(PruningSweep.Point::perplexity).average().orElseThrow();
        if (Math.abs(seed0 - sgpt) * 100 / (mag - dense) > 0.05) {
            assertTrue(Exercises.check("30.4", 100 * (mag - seed0) / (mag - dense), pp).contains("uses SparseGPT's seed 0 only"));
        }
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("30.4", 100 * (mag - sgpt) / (mag - dense), pp).status());
        String unknown = Exercises.check("20.2", "GPTQ per-chanel", q);
        assertTrue(unknown.contains("\"GPTQ per-chanel\" is not a method label of the sweep"), unknown);
    }

    @Test
    void pipelineMistakesGetTheirOwnHint() {
        List<StageCost> rows = QuickRuns.pipelineRows(tmp);
        assertEquals(List.of("teacher", "distilled", "pruned", "quantized", "fine-tuned"), rows.stream().map(StageCost::stage).toList());
        double[] factors = new double[4], inverted = new double[4], vsTeacher = new double[4], percent = new double[4];
        for (int k = 0; k < 4; k++) {
            long before = rows.get(k).bytes(), after = rows.get(k + 1).bytes();
            factors[k] = before / (double) after;
            inverted[k] = after / (double) before;
            vsTeacher[k] = rows.get(0).bytes() / (double) after;
            percent[k] = 100.0 * (before - after) / before;
        }
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("40.1", factors, rows).status());
        assertTrue(Exercises.check("40.1", inverted, rows).contains("inverted"));
        assertTrue(Exercises.check("40.1", vsTeacher, rows).contains("relative to the teacher"));
        assertTrue(Exercises.check("40.1", percent, rows).contains("percentages"));
        String third = Exercises.check("40.1", new double[] {factors[0], factors[1], 1, factors[3]}, rows);
        assertTrue(third.contains("Factor 3 (pruned -> quantized) is 1, not " + rows.get(2).bytes() + " / " + rows.get(3).bytes()), third);

        List<ParetoChart.Point> points = QuickRuns.pipelinePoints(tmp);
        assertEquals(7, points.size(), points.toString());
        // by the definition, pairwise: no other single-technique run is no larger, no worse and better in one of the two
        List<ParetoChart.Point> single = points.stream().filter(p -> p.kind().equals("pruned") || p.kind().equals("quantized")).toList();
        assertEquals(4, single.size(), single.toString());
        List<String> frontier = single.stream().filter(p -> single.stream().noneMatch(o -> o.bytes() <= p.bytes()
                && o.perplexity() <= p.perplexity() && (o.bytes() < p.bytes() || o.perplexity() < p.perplexity())))
                .map(ParetoChart.Point::run).toList();
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("40.2", String.join(", ", frontier), points).status());
        ParetoChart.Point off = single.stream().filter(p -> !frontier.contains(p.run())).findFirst().orElseThrow();
        String dominated = Exercises.check("40.2", List.of(off.run()), points);
        assertTrue(dominated.contains(off.run() + " is dominated by ") && dominated.contains(frontier.size() + " frontier run"), dominated);
        List<String> every = java.util.Arrays.stream(ParetoChart.frontier(points)).mapToObj(i -> points.get(i).run()).toList();
        if (!every.stream().allMatch(frontier::contains)) {
            assertTrue(Exercises.check("40.2", every, points).contains("the on_frontier column"));
        }
        assertTrue(Exercises.check("40.2", "nb40/runs/1-distill", points).contains("nb40/runs/1-distill] is the pipeline's"));
        assertTrue(Exercises.check("40.2", "quantize-gptq-3", points).contains("\"quantize-gptq-3\" is not a run of points"));

        StageCost q = rows.get(3), pruned = rows.get(2);
        double bits = 8.0 * q.bytes() / q.nonzeroParameters();
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("40.3", bits * (1 + 4e-4), rows).status());
        assertTrue(Exercises.check("40.3", 8.0 * q.bytes() / q.parameters(), rows).contains("divides by every parameter"));
        assertTrue(Exercises.check("40.3", (double) q.bytes() / q.nonzeroParameters(), rows).contains("bytes per weight"));
        assertTrue(Exercises.check("40.3", 8.0 * pruned.bytes() / pruned.nonzeroParameters(), rows).contains("is the pruned row's"));
        assertTrue(Exercises.check("40.3", 4, rows).contains("nominal code width"));
        assertTrue(Exercises.check("40.3", bits * 1.01, rows).contains("is close, but not within 0.05 %"));
        IllegalArgumentException noQuantized = assertThrows(IllegalArgumentException.class, () -> Exercises.check("40.3", 1.0, rows.subList(0, 3)));
        assertEquals("rows: no row \"quantized\"; the stages are [teacher, distilled, pruned]", noQuantized.getMessage());
        IllegalArgumentException teacherOnly = assertThrows(IllegalArgumentException.class, () -> Exercises.check("40.1", new double[0], rows.subList(0, 1)));
        assertEquals("rows: needs the teacher and at least one stage, but has 1 row(s)", teacherOnly.getMessage());
        List<ParetoChart.Point> pipelineOnly = points.stream().filter(p -> !single.contains(p)).toList();
        IllegalArgumentException noSingle = assertThrows(IllegalArgumentException.class, () -> Exercises.check("40.2", "x", pipelineOnly));
        assertTrue(noSingle.getMessage().startsWith("points: no run of kind pruned or quantized"), noSingle.getMessage());
    }

    @Test
    void answersOfAnotherKindAreWrongSayingWhatWasExpected() {
        Verdict s = Exercises.verdict("10.1", "0.43, 0.16");
        assertEquals(Verdict.Status.WRONG, s.status());
        assertEquals("Exercise 10.1: wrong. The answer is a String \"0.43, 0.16\", not 5 numbers. Expected a double[5]: softmax(v / T).", s.line());
        assertEquals("Exercise 10.1: wrong. The answer has 3 numbers, not 5. Expected a double[5]: softmax(v / T).",
                Exercises.check("10.1", new double[3]));
        assertTrue(Exercises.check("30.1", new int[8]).contains("The answer is an int[8], not 8 true/false flags."));
        assertTrue(Exercises.check("11.1", new double[] {0, 4, 7.5, 11}).contains("7.5, is not a whole number"));
        assertTrue(Exercises.check("00.1", "11").contains("not a number"));
        // equivalent forms of a right answer are accepted
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("11.1", List.of(0L, 4L, 7L, 11L)).status());
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("00.1", 11).status());
        assertEquals(Verdict.Status.CORRECT, Exercises.verdict("30.3", 0.6272f).status());
    }

    @Test
    void mistakesInTheCheckCallAreErrorsNamingWhatIsNeeded() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Exercises.check("20.9", 1));
        assertTrue(unknown.getMessage().startsWith("exercise '20.9' does not exist: accepted ids are 00.1, 00.2"), unknown.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> Exercises.check("20.2", "RTN per-tensor"));
        assertEquals("exercise 20.2 needs the notebook's points (the sweep's List of QuantizationSweep.Point) as third argument:"
                + " Exercises.check(\"20.2\", answer, points); it was null", missing.getMessage());
        IllegalArgumentException extra = assertThrows(IllegalArgumentException.class, () -> Exercises.check("10.2", 1.0, List.of()));
        assertTrue(extra.getMessage().startsWith("exercise 10.2 is checked on the answer alone"), extra.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> Exercises.check("12.2", 0.1, "tc"));
        assertTrue(type.getMessage().contains("must be the notebook's tc (the teacher's Gpt2Config) but was a java.lang.String"),
                type.getMessage());
        IllegalArgumentException elements = assertThrows(IllegalArgumentException.class, () -> Exercises.check("20.3", 5.0, List.of("x")));
        assertEquals("points: must be a List of Point but holds a String \"x\"", elements.getMessage());
        List<QuantizationSweep.Point> threeBitsOnly = QuickRuns.quantizationPoints(tmp).stream().filter(p -> p.bits() == 3).toList();
        IllegalArgumentException noTwo = assertThrows(IllegalArgumentException.class, () -> Exercises.check("20.2", "x", threeBitsOnly));
        assertTrue(noTwo.getMessage().startsWith("points: the sweep has no 2-bit model"), noTwo.getMessage());
        List<PruningSweep.Point> magnitudeOnly = QuickRuns.pruningPoints(tmp).stream()
                .filter(p -> p.method() == PruningSweep.Method.MAGNITUDE).toList();
        IllegalArgumentException noSparseGpt = assertThrows(IllegalArgumentException.class, () -> Exercises.check("30.4", 5.0, magnitudeOnly));
        assertTrue(noSparseGpt.getMessage().startsWith("points: no one-shot SparseGPT point at 70 % sparsity"), noSparseGpt.getMessage());
    }

    @Test
    void registryNotebooksSolutionsAndCourseListTheSameExercises() throws IOException {
        Set<String> ids = new HashSet<>();
        for (Exercise e : Exercises.all()) assertTrue(ids.add(e.id()), "twice: " + e.id());
        String course = Files.readString(WorkshopNotebook.notebooks().resolve("README.md"));
        Set<String> seen = new HashSet<>();
        for (String name : WorkshopNotebook.NAMES) {
            WorkshopNotebook nb = WorkshopNotebook.read(name);
            List<Exercise> list = Exercises.of(name.substring(0, 2));
            assertEquals(list.stream().map(Exercise::id).toList(), List.copyOf(nb.cells().keySet()), name + ": exercise cells");
            assertEquals(list.stream().map(Exercise::id).toList(), List.copyOf(nb.solutions().keySet()), name + ": solutions");
            if (!name.startsWith("01")) assertTrue(list.size() >= 2 && list.size() <= 4, name + ": " + list.size() + " exercises");
            for (Exercise e : list) {
                Map<String, String> cells = nb.cells().get(e.id());
                assertEquals(Set.of("task", "attempt", "check"), cells.keySet(), e.id());
                assertTrue(cells.get("task").startsWith("### Exercise " + e.id() + " · "), e.id() + ": " + cells.get("task"));
                assertTrue(cells.get("attempt").contains("null"), e.id() + ": the attempt cell must start as null");
                String check = cells.get("check");
                assertTrue(check.startsWith("Exercises.check(\"" + e.id() + "\", ")
                        && check.endsWith(e.context() == null ? ")" : ", " + e.context().variable() + ")"), e.id() + ": " + check);
                assertTrue(course.contains("| " + e.id() + " |"), "notebooks/README.md does not list " + e.id());
                seen.add(e.id());
            }
        }
        assertEquals(ids, seen);
    }
}
