package org.distillery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.Stack;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.distillery.data.DatasetFiles;
import org.distillery.record.RunInputs;
import org.distillery.record.RunProvenance;
import org.distillery.record.RunRecord;
import org.distillery.report.LabException;
import org.distillery.train.TrainingCharts;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The run-record options of {@code train}, {@code distill}, {@code quantize}, {@code prune} and {@code eval}
 * (a picocli mixin) and the recording around their work: every run writes a run folder
 * ({@link RunRecord}) under the runs folder ({@code --runs}, else {@code $DISTILLERY_RUNS}, else {@code runs/} in
 * the project) named {@code --run-name} (default {@code COMMAND-yyyyMMdd-HHmmss-XXXX}, UTC). The model a command
 * writes goes to the run folder's {@code model/}; with {@code --out DIR} it is written to DIR as before and
 * {@code model/} holds hard links to its files. {@code --resume RUNDIR} continues an incomplete run with its
 * recorded arguments: {@code train} and GPT {@code distill} from their last checkpoint, the others by doing the
 * work again (a model finished before the interruption is kept).
 */
final class RunOptions {
    /** The environment variable naming the default runs folder. */
    static final String RUNS_ENV = "DISTILLERY_RUNS";
    /** The options of this mixin (not part of a run's configuration). */
    static final Set<String> OWN = Set.of("--runs", "--run-name", "--resume");

    @Option(names = "--runs", paramLabel = "DIR",
            description = "runs folder the run folder goes in (default: $DISTILLERY_RUNS, else runs/ in the project)")
    Path runs;

    @Option(names = "--run-name", paramLabel = "NAME",
            description = "name of the run folder (default: COMMAND-yyyyMMdd-HHmmss-XXXX); it must not exist")
    String runName;

    @Option(names = "--resume", paramLabel = "RUNDIR", preprocessor = Resume.class,
            description = "continue the incomplete run folder RUNDIR with its recorded options (give no others)")
    Path resume;

    /** A command's work. */
    @FunctionalInterface
    interface Work {
        /**
         * Does the work, writing the model directory (for commands that write one) to {@code target}.
         *
         * @param resuming true when continuing an interrupted run (checkpoints may be there)
         * @return the result as JSON for a command without a model directory ({@code eval}), else null
         */
        JsonNode run(Path target, boolean resuming) throws Exception;
    }

    /** Pushes a run's recorded arguments in place of {@code --resume RUNDIR}, so that they are parsed as if typed. */
    static final class Resume implements CommandLine.IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec spec, ArgSpec argSpec, Map<String, Object> info) {
            if (args.isEmpty()) throw new ParameterException(spec.commandLine(), "--resume: missing RUNDIR");
            String dir = args.pop();
            List<String> others = new ArrayList<>();
            for (OptionSpec o : spec.options()) {            // given before --resume
                if (o != argSpec && !o.originalStringValues().isEmpty()) others.add(o.longestName());
            }
            List<String> rest = new ArrayList<>(args);       // given after it
            java.util.Collections.reverse(rest);
            others.addAll(rest);
            if (!others.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--resume " + dir + ": give no other options (the run's own are"
                        + " in its " + RunRecord.CONFIG + "); found " + String.join(" ", others));
            }
            JsonNode config;
            try {
                config = RunRecord.read(Path.of(dir)).config();
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--resume " + e.getMessage());
            }
            String command = config.path("command").asText();
            if (!command.equals(spec.name())) {
                throw new ParameterException(spec.commandLine(), "--resume " + dir + ": that is a " + command + " run; use ./lab "
                        + command + " --resume " + dir);
            }
            argSpec.setValue(Path.of(dir));
            JsonNode stored = config.path("args");
            for (int i = stored.size() - 1; i >= 0; i--) args.push(stored.get(i).asText());
            return true;
        }
    }

    /**
     * Runs {@code work} with a run record: a new run folder, or the one of {@code --resume}.
     *
     * @param out          the command's {@code --out} (null: the model goes to the run folder's model/ only)
     * @param writesModel  whether the command writes a model directory
     */
    int record(CommandSpec spec, Path out, boolean writesModel, Work work) throws Exception {
        String command = spec.name();
        RunRecord rec;
        boolean resuming = resume != null;
        if (resuming) {                                      // the preprocessor (Resume) refused any other option
            RunInputs.verify(RunRecord.read(resume).config());
            rec = RunRecord.resume(resume);
        } else {
            if (out != null) ModelOutput.newOutParent(out);
            String name = runName == null ? defaultName(command) : checkName(runName);
            rec = RunRecord.create(runsRoot().resolve(name), config(spec));
        }
        return execute(rec, command, out, writesModel, work, resuming);
    }

    private int execute(RunRecord rec, String command, Path out, boolean writesModel, Work work, boolean resuming)
            throws Exception {
        long t0 = System.nanoTime();
        int mark = DatasetFiles.reads().size();
        Path root = ProjectPaths.root();
        Path target = !writesModel ? null : out != null ? out : rec.modelDir();
        JsonNode result = null;
        try {
            if (resuming) cleanPartials(out);
            rec.writeProvenance(RunProvenance.capture(root, List.of()));      // again at the end, with the datasets read
            if (writesModel && Files.isDirectory(target)) {
                System.err.println(command + ": " + target + " was finished before the interruption; completing the record");
            } else {
                result = work.run(target, resuming);
            }
            if (out != null && writesModel && !Files.exists(rec.modelDir())) rec.linkModel(out);
            finish(rec, command, writesModel, result, resuming, (System.nanoTime() - t0) / 1e9,
                    RunProvenance.capture(root, DatasetFiles.reads().subList(mark, DatasetFiles.reads().size())));
        } catch (Exception | Error e) {
            boolean usage = e instanceof IllegalArgumentException || e instanceof ParameterException
                    || e instanceof LabException le && le.exitCode() == 2;
            if (usage && !resuming) {
                rec.discard();                        // bad input: the new run folder goes again, nothing is left
            } else {
                try {
                    rec.writeError(e.getClass().getName() + ": " + e.getMessage());
                } finally {
                    rec.close();
                }
            }
            throw e;
        }
        System.err.println(command + ": run folder " + rec.dir());
        return 0;
    }

    /** metrics.csv, plots, summary.json, provenance.json; then the run is complete. */
    private static void finish(RunRecord rec, String command, boolean writesModel, JsonNode result, boolean resumed,
                               double seconds, RunProvenance provenance) throws IOException {
        ObjectMapper json = new ObjectMapper();
        String reportName = RunHeadlines.reportFile(command);
        JsonNode report = writesModel ? json.readTree(rec.modelDir().resolve(reportName).toFile()) : result;
        List<RunRecord.Metric> metrics = new ArrayList<>();
        Path trainerMetrics = rec.modelDir().resolve("run").resolve(RunRecord.METRICS);
        if (writesModel && Files.isRegularFile(trainerMetrics)) metrics.addAll(RunRecord.readMetrics(trainerMetrics));
        long step = metrics.isEmpty() ? 0 : metrics.get(metrics.size() - 1).step();
        Map<String, JsonNode> headline = RunHeadlines.of(command, report);
        for (Map.Entry<String, JsonNode> e : headline.entrySet()) {
            metrics.add(new RunRecord.Metric(step, "final", e.getKey(), e.getValue().asDouble()));
        }
        rec.writeMetrics(metrics);
        if (metrics.stream().anyMatch(m -> m.split().equals("train") && m.metric().equals("loss"))) {
            rec.savePlot("loss", TrainingCharts.lossCurve(TrainingCharts.metrics(rec.dir().resolve(RunRecord.METRICS)),
                    command + " " + rec.dir().getFileName()));
        }
        ObjectNode summary = JsonNodeFactory.instance.objectNode();
        summary.put("command", command);
        summary.put("run", rec.dir().getFileName().toString());
        ObjectNode m = summary.putObject("metrics");
        headline.forEach(m::set);
        if (writesModel) summary.put("report", RunRecord.MODEL + "/" + reportName);
        else summary.set("result", result);
        summary.put("resumed", resumed);
        summary.put("seconds", seconds);
        rec.writeSummary(summary);
        rec.writeProvenance(provenance);
        rec.complete();
    }

    /** Deletes the temporary folders a killed writer of {@code out} left beside it ({@code .<name>.partial-*}). */
    private static void cleanPartials(Path out) {
        if (out == null) return;
        Path parent = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) return;
        String prefix = "." + out.getFileName() + ".partial-";
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) FileTrees.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + parent + ": " + e.getMessage(), e);
        }
    }

    /** The runs folder: {@code --runs}, else {@code $DISTILLERY_RUNS}, else {@code runs/} in the project. */
    Path runsRoot() {
        return runsRoot(runs);
    }

    /** The runs folder {@code given}, else {@code $DISTILLERY_RUNS}, else {@code runs/} in the project. */
    static Path runsRoot(Path given) {
        if (given != null) return given.toAbsolutePath().normalize();
        String env = System.getenv(RUNS_ENV);
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        return ProjectPaths.root().resolve("runs");
    }

    /** {@code COMMAND-yyyyMMdd-HHmmss-XXXX} (UTC, 4 random hex digits). */
    static String defaultName(String command) {
        return command + "-" + OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT))
                + "-" + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt(1 << 16));
    }

    /** Checks a run name: letters, digits and {@code . _ = + , -}, starting with a letter or digit, at most 200 chars. */
    static String checkName(String name) {
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._=+,-]{0,199}")) {
            throw new IllegalArgumentException("--run-name '" + name + "' is not accepted: use up to 200 letters, digits and"
                    + " . _ = + , - (starting with a letter or digit)");
        }
        return name;
    }

    /**
     * The run's {@code config.json}: format, command, the arguments to run it again ({@code args}: every option given,
     * paths absolute, flags by name), every option with its value ({@code options}, defaults included), the
     * fingerprint of every file or folder an option names ({@code inputs}, {@link RunInputs}), the content of every
     * JSON file an option names ({@code files}, e.g. the run file of {@code train} with its seed) and the working
     * folder.
     */
    static ObjectNode config(CommandSpec spec) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("format", 1);
        c.put("command", spec.name());
        ArrayNode args = c.putArray("args");
        ObjectNode options = c.putObject("options"), inputs = c.putObject("inputs"), files = c.putObject("files");
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        for (OptionSpec o : spec.options()) {
            if (o.usageHelp() || o.versionHelp() || OWN.contains(o.longestName())) continue;
            String key = o.longestName().replaceFirst("^-+", "");
            Object v = o.getValue();
            if (v instanceof Path p) v = p.toAbsolutePath().normalize();
            options.set(key, json.valueToTree(v instanceof Path || v instanceof Enum<?> ? v.toString() : v));
            if (parsed != null && parsed.hasMatchedOption(o)) {
                if (o.arity().max() == 0) {
                    if (Boolean.TRUE.equals(v)) args.add(o.longestName());
                    else if (o.negatable()) args.add(spec.commandLine().getNegatableOptionTransformer().makeNegative(o.longestName(), spec));
                } else {
                    args.add(o.longestName());
                    args.add(String.valueOf(v));
                }
            }
            if (v instanceof Path p && Files.exists(p)) {
                inputs.set(key, RunInputs.fingerprint(p));
                if (Files.isRegularFile(p) && p.getFileName().toString().endsWith(".json")) {
                    try {
                        files.set(key, json.readTree(p.toFile()));
                    } catch (IOException e) {
                        // not JSON after all: the command reports it; the fingerprint is recorded
                    }
                }
            }
        }
        c.put("cwd", Path.of("").toAbsolutePath().toString());
        return c;
    }
}
