package org.distillery.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.notebook.Profile;
import org.distillery.util.ProjectPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executes real notebooks with the project kernel (needs {@code ./lab setup}, which {@code ./lab test}
 * runs first): reports are written completely or not at all.
 */
class ReproduceTest {
    @TempDir
    Path tmp;

    private final Path root = ProjectPaths.root();
    private final ByteArrayOutputStream progress = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(progress, true, StandardCharsets.UTF_8);

    private Reproduce reproduce(String kernel, int startupTimeout, int attempts) {
        return new Reproduce(new NotebookRunner(root, kernel, startupTimeout, attempts, out), root, out);
    }

    private static final String CHART_CELL = """
            var c = new XYChartBuilder().width(300).height(200).title("squares").build();
            c.addSeries("y", new double[]{1, 2, 3}, new double[]{1, 4, 9});
            Notebook.savePng(c, "squares")""";
    private static final String TABLE_CELL = """
            var t = Table.create("t").addColumns(IntColumn.create("n", 1, 2),
                    StringColumn.create("profile", Notebook.profile().id(), "x"));
            Notebook.saveCsv(t, "numbers")""";
    private static final String HEADLINE_CELL = """
            Notebook.headline("Squares grow: " + (3 * 3) + " at 3 <on " + Notebook.profile().id() + ">")""";

    @Test
    void writesACompleteReportThatRendersInChromium() throws IOException {
        Path nbDir = tmp.resolve("notebooks");
        TestNotebooks.write(nbDir.resolve("01-chart.ipynb"), "distillery", CHART_CELL, TABLE_CELL, HEADLINE_CELL);
        Path reports = tmp.resolve("reports");

        Reproduce.Outcome o = reproduce("distillery", 60, 3).run(nbDir, reports, Profile.QUICK, null, true);
        assertEquals("Squares grow: 9 at 3 <on quick>", o.manifest().notebooks().get(0).headline(), "computed in the kernel");
        assertTrue(Files.readString(reports.resolve("index.html")).contains(
                "<td>Squares grow: 9 at 3 &lt;on quick&gt;</td>"), "the summary table shows it, escaped");

        assertTrue(o.ok(), () -> o.failures() + "\n" + progress);
        assertEquals(List.of("squares.png", "numbers.csv").stream().sorted().toList(),
                o.manifest().notebooks().get(0).files());
        assertTrue(Files.isRegularFile(reports.resolve("01-chart/01-chart.html")));
        assertEquals("n,profile\r\n1,quick\r\n2,x\r\n",
                Files.readString(reports.resolve("01-chart/numbers.csv")), "the notebook saw the quick profile");
        JsonNode executed = new ObjectMapper().readTree(reports.resolve("01-chart/01-chart.ipynb").toFile());
        assertTrue(executed.at("/cells/0/outputs/0/data").has("image/png"), "chart shown inline as PNG");
        assertTrue(executed.at("/cells/1/outputs/0/data").has("text/html"), "table shown as HTML");
        JsonNode manifest = new ObjectMapper().readTree(reports.resolve("manifest.json").toFile());
        assertEquals("quick", manifest.get("profile").asText());
        assertEquals(40, manifest.at("/provenance/git_commit").asText().length());
        assertFalse(manifest.at("/provenance/jdk").asText().isBlank());
        assertTrue(Files.readString(reports.resolve("index.html")).contains("<td>" + manifest.at("/provenance/cpu_model").asText()
                + ", JDK " + manifest.at("/provenance/jdk").asText() + "</td>"), "the notebooks table names the machine");
        assertNoTemporaryFolders();

        ReportCheck.Seen seen = ReportCheck.open(reports.resolve("index.html"), tmp.resolve("index.png"));
        assertTrue(seen.loaded(), "index.html loaded and its script ran");
        assertEquals("Distillery reports", seen.title());
        assertEquals(1, seen.imagesLoaded(), "the chart thumbnail rendered");
        assertTrue(Files.size(tmp.resolve("index.png")) > 1000, "screenshot written");
    }

    @Test
    void aFailingNotebookLeavesThePreviousReportsUntouched() throws IOException {
        Path nbDir = tmp.resolve("notebooks");
        TestNotebooks.write(nbDir.resolve("02-fails.ipynb"), "distillery",
                "int x = 1;", "throw new IllegalStateException(\"boom in cell\");");
        Path reports = Files.createDirectories(tmp.resolve("reports"));
        Files.writeString(reports.resolve("index.html"), "previous");

        Reproduce.Outcome o = reproduce("distillery", 60, 3).run(nbDir, reports, Profile.QUICK, null, true);

        assertFalse(o.ok());
        assertNull(o.manifest());
        String msg = o.failures().get(0);
        assertTrue(msg.startsWith("notebook 02-fails failed: cell 1: "), msg);
        assertTrue(msg.contains("boom in cell"), msg);
        assertTrue(msg.contains("(log: target/logs/02-fails.log; executed copy: target/logs/02-fails.ipynb)"), msg);
        assertEquals("previous", Files.readString(reports.resolve("index.html")));
        try (Stream<Path> s = Files.list(reports)) {
            assertEquals(1, s.count(), "nothing was added to the reports folder");
        }
        assertNoTemporaryFolders();
    }

    @Test
    void aKernelThatNeverStartsIsRetriedThenReported() throws IOException {
        Path kdir = root.resolve("target/jupyter/kernels/distillery-test-hang");
        Files.createDirectories(kdir);
        Files.writeString(kdir.resolve("kernel.json"),
                "{\"argv\": [\"sleep\", \"600\"], \"display_name\": \"hangs\", \"language\": \"java\"}");
        try {
            Path nbDir = tmp.resolve("notebooks");
            TestNotebooks.write(nbDir.resolve("03-hang.ipynb"), "distillery-test-hang", "1 + 1");
            Reproduce.Outcome o = reproduce("distillery-test-hang", 2, 2)
                    .run(nbDir, tmp.resolve("reports"), Profile.QUICK, null, true);
            assertFalse(o.ok());
            NotebookRunner.Result r = o.results().get(0);
            assertEquals("kernel-failed", r.status());
            assertEquals(2, r.attempts());
            assertTrue(r.error().startsWith("the kernel 'distillery-test-hang' did not start within 2 s"), r.error());
            assertFalse(Files.exists(tmp.resolve("reports")), "no report folder was created");
        } finally {
            Files.deleteIfExists(kdir.resolve("kernel.json"));
            Files.deleteIfExists(kdir);
        }
    }

    @Test
    void anUnknownNotebookNameIsAUsageErrorListingTheAvailableOnes() throws IOException {
        Path nbDir = tmp.resolve("notebooks");
        TestNotebooks.write(nbDir.resolve("00-a.ipynb"), "distillery", "1");
        TestNotebooks.write(nbDir.resolve("01-b.ipynb"), "distillery", "1");
        LabException e = assertThrows(LabException.class,
                () -> reproduce("distillery", 60, 1).run(nbDir, tmp.resolve("r"), Profile.QUICK, "02-c", true));
        assertEquals(2, e.exitCode());
        assertEquals("no notebook named '02-c' in " + nbDir + "; available: 00-a, 01-b", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("r")));
    }

    private void assertNoTemporaryFolders() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList());
        }
    }
}
