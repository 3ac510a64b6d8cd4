package org.distillery.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.distillery.notebook.Profile;
import org.distillery.report.NotebookRunner;
import org.distillery.report.Reproduce;
import org.distillery.report.TestNotebooks;
import org.distillery.util.ProjectPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingProgressTest {
    @TempDir
    Path tmp;

    @Test
    void redrawsAtMostEveryQuarterSecondAndAlwaysShowsTheLastStep() {
        long[] now = {0};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (TrainingProgress p = TrainingProgress.lines("fit", 4, 100, out, () -> now[0])) {
            now[0] = 100_000_000L;  // 0.1 s: first update is drawn
            p.update(1, 4.0);
            now[0] = 200_000_000L;  // 0.2 s: only 0.1 s after the last draw, skipped
            p.update(2, 3.0);
            now[0] = 400_000_000L;  // 0.4 s: 0.3 s later, drawn
            p.update(3, 2.0);
            now[0] = 450_000_000L;  // the last step is always drawn
            p.update(4, 1.0);
        }
        assertEquals(List.of(
                "fit: step 0/4 (0%) | loss - | 0 tok/s | 0:00 elapsed | ETA -",
                "fit: step 1/4 (25%) | loss 4.0000 | 1,000 tok/s | 0:00 elapsed | ETA 0:00",
                "fit: step 3/4 (75%) | loss 2.0000 | 750 tok/s | 0:00 elapsed | ETA 0:00",
                "fit: step 4/4 (100%) | loss 1.0000 | 889 tok/s | 0:00 elapsed | ETA 0:00",
                "fit: step 4/4 (100%) | loss 1.0000 | 889 tok/s | 0:00 elapsed | ETA 0:00"),
                bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void terminalViewShowsTaskStepAndLoss() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TerminalProgressView view = new TerminalProgressView("fit", 10, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        view.accept(ProgressStatus.of("fit", 10, 10, 1.25, 1000, 1_000_000_000L));
        view.close();
        String shown = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(shown.contains("fit 100%"), shown);
        assertTrue(shown.contains("10/10"), shown);
        assertTrue(shown.contains("loss 1.2500, 1,000 tok/s"), shown);
    }

    /** In the real kernel the display is one output, rewritten in place: it ends at the last step. */
    @Test
    void inANotebookTheDisplayIsUpdatedInPlace() throws Exception {
        Path nbDir = tmp.resolve("notebooks");
        TestNotebooks.write(nbDir.resolve("progress.ipynb"), "distillery", """
                try (var p = org.distillery.train.TrainingProgress.start("demo", 4, 100)) {
                    for (int i = 1; i <= 4; i++) { p.update(i, 1.0 / i); Thread.sleep(300); }
                }""");
        Path root = ProjectPaths.root();
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Reproduce.Outcome o = new Reproduce(NotebookRunner.withDefaults(root, quiet), root, quiet)
                .run(nbDir, tmp.resolve("reports"), Profile.QUICK, null, true);
        assertTrue(o.ok(), () -> o.failures().toString());
        JsonNode outputs = new ObjectMapper().readTree(tmp.resolve("reports/progress/progress.ipynb").toFile())
                .at("/cells/0/outputs");
        assertEquals(1, outputs.size(), outputs::toString);
        assertEquals("display_data", outputs.get(0).get("output_type").asText());
        JsonNode lines = outputs.get(0).at("/data/text~1html");   // nbformat stores text as a list of lines
        StringBuilder html = new StringBuilder(lines.isArray() ? "" : lines.asText());
        lines.forEach(l -> html.append(l.asText()));
        assertTrue(html.toString().contains("demo: step 4/4 (100%) | loss 0.2500"), html::toString);
        assertTrue(html.toString().contains("<progress value=\"4\" max=\"4\""), html::toString);
    }
}
