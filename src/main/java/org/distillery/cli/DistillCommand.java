package org.distillery.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.distill.Distiller;
import org.distillery.distill.Schedule;
import org.distillery.model.Gpt;
import org.distillery.train.LanguageModelRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab distill --teacher DIR --student-config FILE --losses ce=..,clm=..,cos=.. --temperature T --out DIR}:
 * distils a GPT teacher (a Hugging Face GPT-2 directory) into the student of a run file (the format of
 * {@code ./lab train}) with {@link Distiller}. Loss names follow the DistilBERT training script: {@code ce}
 * the soft-target KL, {@code clm} the student's own next-token loss ({@code mlm} is for BERT students),
 * {@code cos} / {@code mse} on the last hidden states, plus {@code attn} (last layer's attention maps).
 */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Distils a GPT teacher into the student of a run file and writes the student's model "
                + "directory like ./lab train (summary.json also records the distillation). DIR must not exist."})
final class DistillCommand implements Callable<Integer> {
    /** The accepted loss names and what they weight. */
    static final List<String> LOSSES = List.of("ce", "clm", "cos", "mse", "attn");

    @Option(names = "--teacher", required = true, paramLabel = "DIR", description = "teacher model directory (GPT-2 layout)")
    Path teacher;

    @Option(names = "--student-config", required = true, paramLabel = "FILE", description = "the student's run file (JSON, as ./lab train)")
    Path studentConfig;

    @Option(names = "--losses", required = true, paramLabel = "NAME=W,...",
            description = "loss weights, each term on when > 0; names: ce (soft targets), clm (task), cos, mse, attn")
    String losses;

    @Option(names = "--temperature", defaultValue = "2.0", paramLabel = "T", description = "softmax temperature (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--no-squared-temperature", description = "do not multiply the soft term by T^2 (the ablation)")
    boolean noSquaredTemperature;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "student model directory to create")
    Path out;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(studentConfig)) {
            throw new IllegalArgumentException("--student-config " + studentConfig + ": no such file");
        }
        if (!Files.isDirectory(teacher)) throw new IllegalArgumentException("--teacher " + teacher + ": no such folder");
        Map<String, Double> w = parseLosses(losses);
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature: must be a finite number > 0 but was " + temperature);
        }
        LanguageModelRun run = LanguageModelRun.read(studentConfig);
        Gpt t = Gpt.load(teacher, run.train().batchSize(), run.train().seqLen());
        Distiller.Options options = new Distiller.Options(Schedule.constant(w.get("clm")), Schedule.constant(w.get("ce")),
                Schedule.constant(w.get("cos")), Schedule.constant(w.get("mse")), Schedule.constant(w.get("attn")),
                Schedule.constant(temperature), !noSquaredTemperature);
        LanguageModelRun.Result r = run.run(out, true, task -> Distiller.of(t, task, options, null));
        System.out.println("distilled " + out + ": " + LanguageModelRun.describe(r));
        return 0;
    }

    /** {@code name=weight,...} with the names of {@link #LOSSES} (absent ones are 0). */
    static Map<String, Double> parseLosses(String spec) {
        Map<String, Double> w = new LinkedHashMap<>();
        for (String n : LOSSES) w.put(n, 0.0);
        for (String part : spec.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--losses: '" + p + "' is not NAME=WEIGHT (names: "
                        + String.join(", ", LOSSES) + ")");
            }
            String name = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            if (name.equals("mlm")) {
                throw new IllegalArgumentException("--losses: mlm is the task loss of BERT students; this student is a"
                        + " GPT: use clm");
            }
            if (!w.containsKey(name)) {
                throw new IllegalArgumentException("--losses: unknown loss '" + name + "'; accepted: "
                        + String.join(", ", LOSSES));
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
        return w;
    }
}
