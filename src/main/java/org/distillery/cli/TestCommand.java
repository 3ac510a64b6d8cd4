package org.distillery.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import java.util.concurrent.Callable;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.distillery.notebook.Profile;
import org.distillery.report.NotebookRunner;
import org.distillery.report.ReportCheck;
import org.distillery.report.Reproduce;
import org.distillery.util.ProjectPaths;
import org.w3c.dom.Element;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./lab test}: the unit tests (Maven Surefire), then every notebook headless in the quick profile
 * into {@code target/test-reports} (reports/ is not touched), then the resulting index page opened in
 * headless Chromium. Ends with one line {@code total: N passed, N failed}.
 */
@Command(name = "test", mixinStandardHelpOptions = true,
        description = {"Builds and runs all unit tests, then executes every notebook headless in the quick "
                + "profile and checks the report page in headless Chromium. Exit code 1 on any failure; "
                + "the last line is 'total: N passed, N failed'."})
final class TestCommand implements Callable<Integer> {
    @Option(names = "--skip-unit", description = "skip the unit tests (notebooks only)")
    boolean skipUnit;

    @Option(names = "--skip-notebooks", description = "skip the notebooks (unit tests only)")
    boolean skipNotebooks;

    @Override
    public Integer call() throws Exception {
        Path root = ProjectPaths.root();
        int passed = 0;
        int failed = 0;
        if (!skipUnit) {
            int[] unit = unitTests(root);
            System.out.printf("unit tests: %d passed, %d failed, %d skipped%n", unit[0], unit[1], unit[2]);
            passed += unit[0];
            failed += unit[1];
        }
        if (!skipNotebooks && NotebookRunner.list(Files.createDirectories(root.resolve("notebooks"))).isEmpty()) {
            System.out.println("notebooks: none in notebooks/");
        } else if (!skipNotebooks) {
            Path out = root.resolve("target/test-reports");
            NotebookRunner runner = NotebookRunner.withDefaults(root, System.out);
            Reproduce.Outcome o = new Reproduce(runner, root, System.out)
                    .run(root.resolve("notebooks"), out, Profile.QUICK, null, false);
            int nbPassed = (int) o.results().stream().filter(NotebookRunner.Result::ok).count();
            int nbFailed = o.results().size() - nbPassed;
            System.out.printf("notebooks (quick profile): %d passed, %d failed%n", nbPassed, nbFailed);
            passed += nbPassed;
            failed += nbFailed;
            if (o.ok()) {
                ReportCheck.Seen seen = ReportCheck.open(out.resolve("index.html"), out.resolve("index.png"));
                boolean good = seen.loaded() && seen.imagesLoaded() >= 1;
                System.out.printf("report page in headless Chromium: %s (%d images rendered; screenshot %s)%n",
                        good ? "ok" : "FAILED", seen.imagesLoaded(), out.resolve("index.png"));
                passed += good ? 1 : 0;
                failed += good ? 0 : 1;
            }
        }
        System.out.printf("total: %d passed, %d failed%n", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    /** Runs {@code mvn test} and counts the Surefire results: {passed, failed (incl. errors), skipped}. */
    private static int[] unitTests(Path root) throws IOException, InterruptedException {
        Path reports = root.resolve("target/surefire-reports");
        deleteReports(reports);
        Process p = new ProcessBuilder("mvn", "-B", "--no-transfer-progress", "-Dstyle.color=never", "test")
                .directory(root.toFile()).inheritIO().start();
        int rc = p.waitFor();
        int[] counts = new int[3];
        if (Files.isDirectory(reports)) {
            try (Stream<Path> s = Files.list(reports)) {
                for (Path f : s.filter(x -> x.getFileName().toString().matches("TEST-.*\\.xml")).toList()) {
                    Element suite = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f.toFile())
                            .getDocumentElement();
                    int tests = attr(suite, "tests");
                    int bad = attr(suite, "failures") + attr(suite, "errors");
                    int skipped = attr(suite, "skipped");
                    counts[0] += tests - bad - skipped;
                    counts[1] += bad;
                    counts[2] += skipped;
                }
            } catch (javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
                throw new IOException("unreadable Surefire report in " + reports + ": " + e.getMessage(), e);
            }
        }
        if (rc != 0 && counts[1] == 0) {
            counts[1] = 1;   // the build itself failed (e.g. a compile error): count it as a failure
            System.out.println("unit tests: the Maven build failed (exit code " + rc + ")");
        }
        return counts;
    }

    private static int attr(Element e, String name) {
        String v = e.getAttribute(name);
        return v.isEmpty() ? 0 : Integer.parseInt(v);
    }

    private static void deleteReports(Path reports) throws IOException {
        if (!Files.isDirectory(reports)) {
            return;
        }
        try (Stream<Path> s = Files.list(reports)) {
            for (Path f : s.toList()) {
                if (Files.isRegularFile(f)) {
                    Files.delete(f);
                }
            }
        }
    }

}
