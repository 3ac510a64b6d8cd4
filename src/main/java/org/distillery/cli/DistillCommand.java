package org.distillery.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.distill.BertStudentRun;
import org.distillery.distill.Distiller;
import org.distillery.distill.Schedule;
import org.distillery.io.BertConfig;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfConfig;
import org.distillery.model.Gpt;
import org.distillery.train.LanguageModelRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab distill --teacher DIR --student-config FILE --losses ce=..,clm=..|mlm=..,cos=.. --temperature T --out DIR}:
 * distils a teacher directory with {@link Distiller}. A GPT teacher (Hugging Face GPT-2 directory) teaches the student
 * of a run file (the format of {@code ./lab train}, {@link LanguageModelRun}); a BERT teacher ({@code model_type bert},
 * {@code model.safetensors}, {@code vocab.txt}) teaches a shallower student of the same width described by a student
 * spec ({@link BertStudentRun.Spec}) on Brown masked-LM rows ({@link BertStudentRun}). Loss names follow the DistilBERT
 * training script: {@code ce} the soft-target KL, {@code clm} (GPT) / {@code mlm} (BERT) the student's own task loss,
 * {@code cos} / {@code mse} on the last hidden states, plus {@code attn} (last layer's attention maps).
 */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Distils a GPT or BERT teacher directory into a student and writes the student's model directory "
                + "(summary.json records the distillation: options, teacher fingerprint). DIR must not exist.",
                "",
                "GPT teacher: FILE is a run file as for ./lab train; losses ce, clm, cos, mse, attn; the output is laid out "
                + "like ./lab train's.",
                "",
                "BERT teacher (config.json model_type bert, model.safetensors, vocab.txt): FILE is a student spec, e.g.",
                "  {\"layers\": 6, \"init\": \"teacher\", \"layer_map\": [0, 2, 4, 7, 9, 11],",
                "   \"batch\": 32, \"seq_len\": 64, \"steps\": 400, \"lr\": 2e-3, \"warmup\": 20,",
                "   \"dropout\": 0.1, \"seed\": 1, \"eval_tokens\": 20000}",
                "only layers is required (defaults as shown; layer_map: init teacher only, default evenly spread with first "
                + "and last kept; warmup: steps/20; eval_tokens 0 = all; steps 0 = the initialised student). The student "
                + "keeps the teacher's width, heads and vocabulary; it trains on Brown's training split tokenized with "
                + "vocab.txt (BERT's 15 %% masking; cosine lr to lr/10, weight decay 0.01); losses ce, mlm, cos, mse, attn. "
                + "Writes config.json, model.safetensors, vocab.txt, run/metrics.csv and summary.json (spec, layer map, "
                + "options, teacher fingerprint, masked-LM perplexity and accuracy of student and teacher on the first "
                + "eval_tokens validation tokens, masking seed 2024)."})
final class DistillCommand implements Callable<Integer> {
    /** The teacher families and their loss names (the task loss differs: clm for GPT, mlm for BERT). */
    enum Family {
        GPT("clm", "mlm", "BERT"), BERT("mlm", "clm", "GPT");

        final String task, otherTask, other;

        Family(String task, String otherTask, String other) {
            this.task = task;
            this.otherTask = otherTask;
            this.other = other;
        }

        /** The accepted loss names. */
        List<String> losses() { return List.of("ce", task, "cos", "mse", "attn"); }
    }

    @Option(names = "--teacher", required = true, paramLabel = "DIR",
            description = "teacher model directory (GPT-2, or BERT with vocab.txt)")
    Path teacher;

    @Option(names = "--student-config", required = true, paramLabel = "FILE",
            description = "GPT teacher: the student's run file (JSON, as ./lab train); BERT teacher: the student spec (JSON)")
    Path studentConfig;

    @Option(names = "--losses", required = true, paramLabel = "NAME=W,...",
            description = "loss weights, each term on when > 0; names: ce (soft targets), clm (GPT task) or mlm (BERT task), "
                    + "cos, mse, attn")
    String losses;

    @Option(names = "--temperature", defaultValue = "2.0", paramLabel = "T", description = "softmax temperature (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--no-squared-temperature", description = "do not multiply the soft term by T^2 (the ablation)")
    boolean noSquaredTemperature;

    @Option(names = "--out", paramLabel = "DIR", description = "also write the student model directory here (default: only the run folder's model/)")
    Path out;

    @picocli.CommandLine.Mixin
    RunOptions runs = new RunOptions();

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelOutput.requireFile("--student-config", studentConfig);
        if (!Files.isDirectory(teacher)) throw new IllegalArgumentException("--teacher " + teacher + ": no such folder");
        Family family = family(teacher);
        Map<String, Double> w = parseLosses(losses, family);
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature: must be a finite number > 0 but was " + temperature);
        }
        Distiller.Options options = new Distiller.Options(Schedule.constant(w.get(family.task)), Schedule.constant(w.get("ce")),
                Schedule.constant(w.get("cos")), Schedule.constant(w.get("mse")), Schedule.constant(w.get("attn")),
                Schedule.constant(temperature), !noSquaredTemperature);
        return runs.record(spec, out, true, (target, resuming) -> {
            if (family == Family.BERT) bert(options, target);
            else gpt(options, target, resuming);
            return null;
        });
    }

    private void gpt(Distiller.Options options, Path target, boolean resuming) {
        LanguageModelRun run;
        try {
            run = LanguageModelRun.read(studentConfig);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--student-config " + e.getMessage(), e);   // the message starts with the file
        }
        int seqLen = run.train().seqLen();
        if (HfConfig.read(teacher.resolve("config.json")) instanceof Gpt2Config tc && tc.nPositions() < seqLen) {
            throw new IllegalArgumentException("--teacher " + teacher + ": its context n_positions = " + tc.nPositions()
                    + " is shorter than the student's seq_len " + seqLen + "; the teacher must see the student's windows");
        }
        Gpt t = Gpt.load(teacher, run.train().batchSize(), seqLen);
        LanguageModelRun.Result r = resuming
                ? run.resume(target, true, task -> Distiller.of(t, task, options, null), task -> Distiller.restorer(t, task, null))
                : run.run(target, true, task -> Distiller.of(t, task, options, null));
        System.out.println("distilled " + target + ": " + LanguageModelRun.describe(r));
    }

    /** A BERT student (no checkpoints to resume from: an interrupted run is done again). */
    private void bert(Distiller.Options options, Path target) {
        BertStudentRun.Teacher t;
        try {
            t = BertStudentRun.Teacher.of(teacher);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--teacher " + teacher + ": " + e.getMessage(), e);
        }
        BertStudentRun run;
        try {
            run = new BertStudentRun(t, BertStudentRun.Spec.read(studentConfig), options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--student-config " + studentConfig + ": " + e.getMessage(), e);
        }
        BertStudentRun.Result r = run.run(target, true);
        System.out.println("distilled " + target + ": " + BertStudentRun.describe(r));
    }

    /** The teacher's family from its {@code config.json}'s model_type. */
    static Family family(Path teacher) {
        Path config = teacher.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IllegalArgumentException("--teacher " + teacher + ": no config.json there");
        HfConfig c = HfConfig.read(config);
        if (c instanceof Gpt2Config) return Family.GPT;
        if (c instanceof BertConfig) return Family.BERT;
        throw new IllegalArgumentException("--teacher " + teacher + ": config.json has model_type " + c.modelType()
                + "; accepted: " + Gpt2Config.MODEL_TYPE + " (GPT-2 teacher), " + BertConfig.MODEL_TYPE + " (BERT teacher)");
    }

    /** {@code name=weight,...} with the loss names of {@code family} (absent ones are 0); at least one must be &gt; 0. */
    static Map<String, Double> parseLosses(String spec, Family family) {
        List<String> names = family.losses();
        Map<String, Double> w = new LinkedHashMap<>();
        for (String n : names) w.put(n, 0.0);
        for (String part : spec.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--losses: '" + p + "' is not NAME=WEIGHT (names: "
                        + String.join(", ", names) + ")");
            }
            String name = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (name.equals(family.otherTask)) {
                throw new IllegalArgumentException("--losses: " + name + " is the task loss of " + family.other
                        + " students; this student is a " + family + ": use " + family.task);
            }
            if (!w.containsKey(name)) {
                throw new IllegalArgumentException("--losses: unknown loss '" + name + "'; accepted: "
                        + String.join(", ", names));
            }
            double v;
            try {
                v = Double.parseDouble(p.substring(eq + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--losses: the weight of " + name + " is '" + p.substring(eq + 1).trim()
                        + "', not a number");
            }
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("--losses: the weight of " + name + " must be a finite number >= 0 but"
                        + " was " + v);
            }
            w.put(name, v);
        }
        if (w.values().stream().allMatch(v -> v == 0)) {
            throw new IllegalArgumentException("--losses " + spec + ": every weight is 0; at least one of "
                    + String.join(", ", names) + " must be > 0");
        }
        return w;
    }
}
