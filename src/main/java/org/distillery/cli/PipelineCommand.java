package org.distillery.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.distillery.pipeline.CompressionPipeline;
import org.distillery.pipeline.PipelineConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./lab pipeline --config FILE [--runs DIR] [--name NAME]}: {@link CompressionPipeline}. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = {"Compresses a GPT teacher in stages, each a recorded run of the existing command on the previous "
                + "stage's model: distill -> prune -> quantize (--keep-zeros) -> finetune --train norms (genre task); "
                + "measures every model (teacher included): parameters, bytes on disk, peak memory, batch-1 decode tokens/s "
                + "and latency, validation perplexity, genre accuracy (the same finetune recipe on each), with the reduction "
                + "relative to the teacher; writes RUNS/NAME/pipeline.csv, pipeline.json and pareto.png (perplexity vs bytes "
                + "of every run under RUNS). Running it again skips complete stages and resumes an incomplete one. Config, e.g.:",
                "  {\"name\": \"small\", \"teacher\": \"runs/teacher/model\",",
                "   \"distill\": {\"student-config\": \"student.json\", \"losses\": \"ce=0.5,clm=0.5\"},",
                "   \"prune\": {\"method\": \"sparsegpt\", \"sparsity\": 0.5, \"calib-brown\": 16},",
                "   \"quantize\": {\"method\": \"normtweak+gptq\", \"bits\": 4, \"calib-brown\": 16},",
                "   \"finetune\": {\"steps\": 60}, \"eval\": {\"tokens\": 16384, \"decode-tokens\": 64, \"repeats\": 5}}",
                "stage keys are the command's options without the dashes (paths relative to the config file's folder)."})
final class PipelineCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "pipeline config (JSON)")
    Path config;

    @Option(names = "--runs", paramLabel = "DIR", description = "runs folder the pipeline folder goes in (default: $DISTILLERY_RUNS, else runs/ in the project)")
    Path runs;

    @Option(names = "--name", paramLabel = "NAME", description = "the pipeline folder's name (default: the config's \"name\", else its file name without .json)")
    String name;

    @Override
    public Integer call() {
        PipelineConfig c = PipelineConfig.read(config, name, SweepCommand.GRID_COMMANDS);
        CompressionPipeline p = new CompressionPipeline(c, RunOptions.runsRoot(runs), new LabCommands(), System.out);
        CompressionPipeline.Outcome o = p.run();
        System.out.println(o.table().printAll());
        System.out.printf(Locale.ROOT, "pipeline %s: %d runs started or resumed, %d complete before; results: %s, %s, %s%n",
                c.name(), o.ran().size(), o.skipped().size(), o.folder().resolve(CompressionPipeline.CSV),
                o.folder().resolve(CompressionPipeline.JSON), o.folder().resolve(CompressionPipeline.CHART));
        return 0;
    }
}
