package org.distillery.workshop;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.distillery.cli.LabCommands;
import org.distillery.distill.StudentShape;
import org.distillery.notebook.Profile;
import org.distillery.pipeline.CompressionPipeline;
import org.distillery.pipeline.ParetoChart;
import org.distillery.pipeline.PipelineConfig;
import org.distillery.pipeline.StageCost;
import org.distillery.prune.PruningSweep;
import org.distillery.quant.NormTweak;
import org.distillery.quant.QuantizationSweep;
import org.distillery.train.LanguageModelRun;
import org.distillery.train.TeacherRuns;
import org.distillery.train.TrainConfig;

/**
 * The notebook variables the exercises on a notebook's results are checked against, computed as the notebooks compute
 * them in the quick profile (the same library calls and settings; the teacher is trained into a temporary folder
 * instead of the artifact cache). Each is computed once per JVM, when first needed.
 */
final class QuickRuns {
    private static final Profile QUICK = Profile.QUICK;
    private static final LanguageModelRun TEACHER_RUN = TeacherRuns.brownBytes(QUICK);   // notebooks 01, 12, 20, 30
    private static Path teacherDir;
    private static List<QuantizationSweep.Point> quantizationPoints;
    private static List<PruningSweep.Point> pruningPoints;
    private static Path pipelineRuns;
    private static List<StageCost> pipelineRows;

    private QuickRuns() {}

    /** Notebook 01's {@code modelConfig}. */
    static org.distillery.io.Gpt2Config teacherConfig() {
        return TEACHER_RUN.train().model();
    }

    /** Notebook 12's {@code base}: the students' training configuration. */
    static TrainConfig studentTraining() {
        int steps = QUICK.pick(60, 300);
        return TEACHER_RUN.train().withSteps(steps, steps / 10).withEval(steps, QUICK.pick(2, 4));
    }

    /** The quick teacher, trained once into {@code root}. */
    private static synchronized Path teacher(Path root) {
        if (teacherDir == null) teacherDir = TEACHER_RUN.run(root.resolve("teacher-quick"), false).modelDir();
        return teacherDir;
    }

    /** The first validation tokens notebooks 20 and 30 score on (quick: 8,192). */
    private static int[] evalTokens() {
        int[] validation = TEACHER_RUN.corpus().validation();
        return Arrays.copyOf(validation, Math.min(QUICK.pick(8_192, 32_768), validation.length));
    }

    /**
     * Notebook 20's {@code points} for the bit widths and schemes the exercises read (3 and 2 bits; per-tensor and
     * per-channel RTN, per-channel GPTQ; each with and without Norm Tweaking, calibration seed 0), made with the
     * notebook's sweep settings.
     */
    static synchronized List<QuantizationSweep.Point> quantizationPoints(Path root) {
        if (quantizationPoints == null) {
            int[] letters = IntStream.concat(IntStream.rangeClosed('A', 'Z'), IntStream.rangeClosed('a', 'z')).toArray();
            int b = 8;
            QuantizationSweep sweep = new QuantizationSweep(teacher(root), evalTokens(), QUICK.pick(16, 32), letters,
                    NormTweak.Options.of(1e-2, 1.0, 1, b), b);
            List<QuantizationSweep.Point> points = new ArrayList<>();
            for (int bits : List.of(3, 2)) {
                for (QuantizationSweep.Scheme s : List.of(QuantizationSweep.Scheme.RTN_TENSOR, QuantizationSweep.Scheme.RTN_CHANNEL,
                        QuantizationSweep.Scheme.GPTQ_CHANNEL)) {
                    for (boolean nt : new boolean[] {false, true}) points.add(sweep.run(s, bits, nt, 0));
                }
            }
            quantizationPoints = List.copyOf(points);
        }
        return quantizationPoints;
    }

    /**
     * Notebook 30's {@code points} at 70 %: one-shot magnitude and SparseGPT with the notebook's calibration seeds
     * (0, 1, 2) and sweep settings.
     */
    static synchronized List<PruningSweep.Point> pruningPoints(Path root) {
        if (pruningPoints == null) {
            PruningSweep.Settings settings = PruningSweep.Settings.defaults().withBatchSize(16).withCalibrationWindows(32)
                    .withFinetune(2e-4, 0);
            PruningSweep sweep = new PruningSweep(teacher(root), TEACHER_RUN.corpus().train(), evalTokens(), settings);
            List<PruningSweep.Point> points = new ArrayList<>();
            for (PruningSweep.Method m : List.of(PruningSweep.Method.MAGNITUDE, PruningSweep.Method.SPARSEGPT)) {
                for (long seed : m.calibrated() ? List.of(0L, 1L, 2L) : List.of(0L)) points.add(sweep.oneShot(m, 0.7, seed));
            }
            pruningPoints = List.copyOf(points);
        }
        return pruningPoints;
    }

    /** Notebook 40's {@code rows}: the pipeline's cost rows ({@code outcome.costs()}), the teacher first. */
    static synchronized List<StageCost> pipelineRows(Path root) {
        pipeline(root);
        return pipelineRows;
    }

    /** Notebook 40's {@code points}: {@link ParetoChart#points} of its runs folder (the pipeline and the runs beside it). */
    static synchronized List<ParetoChart.Point> pipelinePoints(Path root) {
        return ParetoChart.points(pipeline(root));
    }

    /**
     * Notebook 40 in the quick profile: the runs beside the pipeline and the pipeline itself, with the notebook's
     * configuration, in {@code root/pipeline-runs}; its runs folder.
     */
    private static synchronized Path pipeline(Path root) {
        if (pipelineRuns != null) return pipelineRuns;
        try {
            Path teacherDir = teacher(root), runs = Files.createDirectories(root.resolve("pipeline-runs"));
            var tc = teacherConfig();
            int studentSteps = QUICK.pick(80, 300), evalTokens = QUICK.pick(8_192, 32_768);
            var student = new LanguageModelRun("brown", "byte", evalTokens,
                    TEACHER_RUN.train().withModel(StudentShape.SHALLOW.config(tc)).withSteps(studentSteps, studentSteps / 10)
                            .withEval(studentSteps, 2).withCheckpoints(studentSteps, 1));
            Files.writeString(runs.resolve("student.json"), student.toJson().toPrettyString());
            String config = """
                    {"name": "nb40",
                     "teacher": "%s",
                     "distill": {"student-config": "student.json", "losses": "ce=0.5,clm=0.5"},
                     "prune": {"method": "sparsegpt", "sparsity": 0.5, "calib-brown": %d},
                     "quantize": {"method": "normtweak+gptq", "bits": 4, "group": 32, "calib-brown": %d},
                     "finetune": {"steps": %d, "batch": 16, "seq-len": %d},
                     "eval": {"tokens": %d, "decode-tokens": %d, "repeats": %d}}
                    """.formatted(teacherDir, QUICK.pick(16, 64), QUICK.pick(16, 64), QUICK.pick(20, 100), QUICK.pick(32, 64),
                    evalTokens, QUICK.pick(32, 128), QUICK.pick(3, 7));
            Path configFile = Files.writeString(runs.resolve("nb40.json"), config);
            var lab = new LabCommands();
            String calib = String.valueOf(QUICK.pick(16, 64));
            Map<String, List<String>> extras = new LinkedHashMap<>();
            extras.put("prune-magnitude-50", List.of("prune", "--method", "magnitude", "--sparsity", "0.5"));
            extras.put("prune-sparsegpt-70", List.of("prune", "--method", "sparsegpt", "--sparsity", "0.7", "--calib-brown", calib));
            extras.put("quantize-gptq-4", List.of("quantize", "--method", "gptq", "--bits", "4", "--group", "32", "--calib-brown", calib));
            extras.put("quantize-rtn-8", List.of("quantize", "--method", "rtn", "--bits", "8"));
            for (var e : extras.entrySet()) {
                List<String> args = new ArrayList<>(e.getValue());
                args.addAll(List.of("--model", teacherDir.toString(), "--eval", String.valueOf(evalTokens), "--runs", runs.toString(),
                        "--run-name", e.getKey()));
                StringWriter err = new StringWriter();
                int code = lab.execute(args, new PrintWriter(err, true));
                if (code != 0) throw new IllegalStateException(e.getKey() + ": " + err);
            }
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            pipelineRows = List.copyOf(new CompressionPipeline(PipelineConfig.read(configFile, null, lab), runs, lab, quiet).run().costs());
            pipelineRuns = runs;
            return runs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
