package org.distillery.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.distillery.record.RunRecord;
import org.distillery.report.LabException;
import org.distillery.util.AtomicFiles;
import org.distillery.util.JobFolder;
import org.knowm.xchart.BitmapEncoder;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The compression pipeline: teacher -> distilled student -> pruned -> quantized -> fine-tuned on the genre task, each
 * stage a recorded run of the existing command ({@code ./lab distill}, {@code prune}, {@code quantize --keep-zeros},
 * {@code finetune --train norms}) run in this process, its input the previous stage's model; then every model's cost
 * ({@link StageCost}), the reduction relative to the teacher, and the Pareto chart of all runs ({@link ParetoChart}).
 * <pre>
 * RUNS/NAME/
 *   config.json            the pipeline config with defaults (a later run into this folder must have the same one)
 *   runs/1-distill, 2-prune, 3-quantize, 4-finetune     the stages' run folders (RunRecord)
 *   runs/task-0-teacher, task-1-distill, task-2-prune   the task measurement: finetune --train norms, same options as
 *                                                       stage 4 (which is the measurement of the quantized model)
 *   costs/STAGE.json       each model's measured cost, kept (a re-run reuses it)
 *   deploy/STAGE-float.safetensors  a quantized model's float part (counted in its bytes)
 *   pipeline.csv, pipeline.json, pareto.png, pareto.csv
 *   pipeline.lock          held while a pipeline runs here
 * </pre>
 * Running it again skips complete stages (and kept costs), resumes an incomplete stage ({@code COMMAND --resume
 * RUNDIR}), and starts missing ones. A stage whose input model is missing (e.g. deleted after its run completed) is an
 * error naming it, and nothing is run or overwritten.
 */
public final class CompressionPipeline {
    /** Files and folders of a pipeline folder. */
    public static final String CONFIG = "config.json", RUNS = "runs", COSTS = "costs", DEPLOY = "deploy", CSV = "pipeline.csv",
            JSON = "pipeline.json", CHART = "pareto.png", POINTS = "pareto.csv", LOCK = "pipeline.lock";
    /** The stage run names, in order. */
    public static final List<String> STAGE_RUNS = List.of("1-distill", "2-prune", "3-quantize", "4-finetune");
    /** The rows of the cost table: the teacher and each stage's model. */
    public static final List<String> ROWS = List.of("teacher", "distilled", "pruned", "quantized", "fine-tuned");
    /** The task-measurement runs of the teacher, the distilled and the pruned model (the quantized one's is stage 4). */
    public static final List<String> TASK_RUNS = List.of("task-0-teacher", "task-1-distill", "task-2-prune");

    private final PipelineConfig config;
    private final Path runsRoot, folder;
    private final StageCommands commands;
    private final PrintStream out;

    /**
     * @param config   the checked config
     * @param runsRoot the runs folder; the pipeline's folder is {@code runsRoot/NAME}
     * @param commands the commands (in-process {@code ./lab})
     * @param out      where progress lines go
     */
    public CompressionPipeline(PipelineConfig config, Path runsRoot, StageCommands commands, PrintStream out) {
        this.config = config;
        this.runsRoot = runsRoot.toAbsolutePath().normalize();
        this.folder = this.runsRoot.resolve(config.name());
        this.commands = commands;
        this.out = out;
    }

    /** What a run gave: the cost rows, the stages run now and the ones skipped, and the files written. */
    public record Outcome(Path folder, List<StageCost> costs, List<String> ran, List<String> skipped, Table table) {}

    /** The pipeline folder. */
    public Path folder() { return folder; }

    /** A stage's run folder ({@code runs/1-distill} ...). */
    public Path runDir(String run) { return folder.resolve(RUNS).resolve(run); }

    /** Runs (or continues) the pipeline. */
    public Outcome run() {
        try {
            Files.createDirectories(runsRoot);
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the pipeline folder " + folder + ": " + e.getMessage(), e);
        }
        try (JobFolder.Lock lock = JobFolder.lock(folder.resolve(LOCK),
                "pipeline folder " + folder + " is in use by another pipeline: wait for it to end")) {
            // the first config of a pipeline folder is kept; another one is refused
            JobFolder.keepFirst(folder.resolve(CONFIG), config.toJson(), "pipeline folder " + folder
                    + " holds a pipeline of another config (" + folder.resolve(CONFIG) + " differs): choose another name or runs folder");
            return runLocked();
        } catch (IOException e) {
            throw new UncheckedIOException("pipeline folder " + folder + ": " + e.getMessage(), e);
        }
    }

    private Outcome runLocked() throws IOException {
        List<String> ran = new ArrayList<>(), skipped = new ArrayList<>();
        Files.createDirectories(folder.resolve(RUNS));
        // ---- the stages, each on the previous one's model
        Path input = config.teacher();
        String from = "the teacher";
        for (int i = 0; i < STAGE_RUNS.size(); i++) {
            String run = STAGE_RUNS.get(i);
            stage(run, config.args(PipelineConfig.STAGES.get(i), input), input, from, ran, skipped);
            input = runDir(run).resolve(RunRecord.MODEL);
            from = "stage " + run;
        }
        // ---- the task measurement of the models before quantization (stage 4 is the quantized model's)
        List<Path> models = List.of(config.teacher(), runDir("1-distill").resolve(RunRecord.MODEL),
                runDir("2-prune").resolve(RunRecord.MODEL));
        for (int i = 0; i < TASK_RUNS.size(); i++) {
            stage(TASK_RUNS.get(i), config.args("finetune", models.get(i)), models.get(i),
                    i == 0 ? "the teacher" : "stage " + STAGE_RUNS.get(i - 1), ran, skipped);
        }
        // ---- costs
        Files.createDirectories(folder.resolve(COSTS));
        Files.createDirectories(folder.resolve(DEPLOY));
        List<Path> rowModels = new ArrayList<>();
        rowModels.add(config.teacher());
        for (String run : STAGE_RUNS) rowModels.add(runDir(run).resolve(RunRecord.MODEL));
        List<Path> accuracy = List.of(taskReport(TASK_RUNS.get(0)), taskReport(TASK_RUNS.get(1)), taskReport(TASK_RUNS.get(2)),
                taskReport("4-finetune"), taskReport("4-finetune"));
        List<StageCost> costs = new ArrayList<>();
        for (int i = 0; i < ROWS.size(); i++) {
            String row = ROWS.get(i);
            Path kept = folder.resolve(COSTS).resolve(row + ".json");
            if (Files.isRegularFile(kept)) {
                costs.add(StageCost.fromJson(new ObjectMapper().readTree(kept.toFile())));
                continue;
            }
            out.printf(Locale.ROOT, "pipeline %s: measuring %s%n", config.name(), row);
            Path floatPart = folder.resolve(DEPLOY).resolve(row + "-" + StageCost.FLOAT_PART);
            Files.deleteIfExists(floatPart);                                  // a measurement interrupted before its cost was kept
            String run = i == 0 ? config.teacher().toString() : RUNS + "/" + STAGE_RUNS.get(i - 1);
            StageCost c = StageCost.measure(row, run, rowModels.get(i), floatPart, config.eval(), accuracy.get(i));
            StageCost.write(kept, c);
            costs.add(c);
        }
        Table table = table(costs);
        writeResults(costs, table);
        return new Outcome(folder, List.copyOf(costs), List.copyOf(ran), List.copyOf(skipped), table);
    }

    private Path taskReport(String run) {
        return runDir(run).resolve(RunRecord.MODEL).resolve("finetune.json");
    }

    /** Runs one stage: skipped when complete, resumed when incomplete, else started on {@code input}. */
    private void stage(String run, List<String> args, Path input, String from, List<String> ran, List<String> skipped) {
        Path dir = runDir(run);
        if (RunRecord.isRun(dir) && RunRecord.read(dir).isComplete()) {
            skipped.add(run);
            out.printf(Locale.ROOT, "pipeline %s: %s complete, skipped%n", config.name(), run);
            return;
        }
        if (!Files.isRegularFile(input.resolve("model.safetensors")) || !Files.isRegularFile(input.resolve("config.json"))) {
            throw new IllegalArgumentException("pipeline " + config.name() + ": stage " + run + " needs the model of " + from + ", "
                    + input + ", which does not exist (or lacks config.json / model.safetensors); nothing was run. Run that"
                    + " stage again by removing its run folder, or start a new pipeline (another name)");
        }
        List<String> cmd = new ArrayList<>();
        if (Files.exists(dir)) {
            cmd.addAll(List.of(args.get(0), "--resume", dir.toString()));
        } else {
            cmd.addAll(args);
            cmd.addAll(List.of("--runs", folder.resolve(RUNS).toString(), "--run-name", run));
        }
        out.printf(Locale.ROOT, "pipeline %s: %s: ./lab %s%n", config.name(), run, String.join(" ", cmd));
        StringWriter err = new StringWriter();
        int code = commands.execute(cmd, new PrintWriter(err, true));
        String text = err.toString().strip();
        if (!text.isEmpty()) out.println(text);
        if (code != 0 || !(RunRecord.isRun(dir) && RunRecord.read(dir).isComplete())) {
            String last = text.isEmpty() ? "(no message)" : text.lines().reduce((a, b) -> b).orElse("");
            throw LabException.failure("stage " + run + " failed (exit code " + code + "): " + last
                    + "; fix it and run the pipeline again to continue");
        }
        ran.add(run);
    }

    /** The cost table: one row per model, with the reductions relative to the teacher (row 0). */
    public static Table table(List<StageCost> costs) {
        StageCost t = costs.get(0);
        Table table = Table.create("compression pipeline: cost per stage (reduction relative to the teacher)");
        table.addColumns(StringColumn.create("stage", costs.stream().map(StageCost::stage).toList()),
                LongColumn.create("parameters", costs.stream().mapToLong(StageCost::parameters).toArray()),
                LongColumn.create("nonzero_parameters", costs.stream().mapToLong(StageCost::nonzeroParameters).toArray()),
                LongColumn.create("bytes", costs.stream().mapToLong(StageCost::bytes).toArray()),
                DoubleColumn.create("x_smaller_bytes", costs.stream().mapToDouble(c -> (double) t.bytes() / c.bytes()).toArray()),
                DoubleColumn.create("x_fewer_nonzero", costs.stream().mapToDouble(c -> (double) t.nonzeroParameters() / c.nonzeroParameters()).toArray()),
                LongColumn.create("peak_memory_bytes", costs.stream().mapToLong(StageCost::peakMemoryBytes).toArray()),
                DoubleColumn.create("memory_pct_lower", costs.stream().mapToDouble(c -> 100.0 * (1 - (double) c.peakMemoryBytes() / t.peakMemoryBytes())).toArray()),
                StringColumn.create("decode_model", costs.stream().map(StageCost::decodeModel).toList()),
                DoubleColumn.create("tokens_per_s", costs.stream().mapToDouble(StageCost::tokensPerSecond).toArray()),
                DoubleColumn.create("latency_ms", costs.stream().mapToDouble(StageCost::latencyMs).toArray()),
                DoubleColumn.create("latency_pct_lower", costs.stream().mapToDouble(c -> 100.0 * (1 - c.latencyMs() / t.latencyMs())).toArray()),
                DoubleColumn.create("perplexity", costs.stream().mapToDouble(StageCost::perplexity).toArray()),
                DoubleColumn.create("perplexity_pct_higher", costs.stream().mapToDouble(c -> 100.0 * (c.perplexity() / t.perplexity() - 1)).toArray()),
                DoubleColumn.create("task_accuracy", costs.stream().mapToDouble(StageCost::accuracy).toArray()),
                DoubleColumn.create("accuracy_low95", costs.stream().mapToDouble(StageCost::accuracyLow).toArray()),
                DoubleColumn.create("accuracy_high95", costs.stream().mapToDouble(StageCost::accuracyHigh).toArray()),
                DoubleColumn.create("majority_baseline", costs.stream().mapToDouble(StageCost::majorityBaseline).toArray()));
        return table;
    }

    private void writeResults(List<StageCost> costs, Table table) throws IOException {
        AtomicFiles.writeCsv(folder.resolve(CSV), table);
        ObjectMapper json = new ObjectMapper();
        ObjectNode j = json.createObjectNode();
        j.set("config", config.toJson());
        j.put("perplexity_tokens", costs.get(0).perplexityTokens());
        j.put("task_protocol", "every model's accuracy: ./lab finetune --train norms with the finetune stage's options"
                + " (runs task-0-teacher, task-1-distill, task-2-prune; the quantized model's is stage 4-finetune)");
        ArrayNode rows = j.putArray("stages");
        for (StageCost c : costs) rows.add(c.toJson());
        AtomicFiles.writeString(folder.resolve(JSON), json.writerWithDefaultPrettyPrinter().writeValueAsString(j) + "\n");
        List<ParetoChart.Point> points = ParetoChart.points(runsRoot);
        Table pt = ParetoChart.table(points);
        AtomicFiles.writeCsv(folder.resolve(POINTS), pt);
        var chart = ParetoChart.chart(points, costs, "perplexity vs bytes: every run under " + runsRoot.getFileName()
                + ", pipeline " + config.name());
        AtomicFiles.write(folder.resolve(CHART), o -> BitmapEncoder.saveBitmap(chart, o, BitmapEncoder.BitmapFormat.PNG));
    }
}
