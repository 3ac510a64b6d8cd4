package org.distillery.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.distillery.data.BrownCorpus;
import org.distillery.data.DatasetFiles;
import org.distillery.util.ProjectPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** provenance.json against independent sources: git, sha256sum, /proc/cpuinfo, the pom's versions. */
class RunProvenanceTest {
    @TempDir
    Path tmp;

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd));
        return out;
    }

    @Test
    void provenanceJsonHoldsGitTheDiffTheMachineTheLibrariesAndTheDatasetsRead() throws Exception {
        Path root = ProjectPaths.root();
        int mark = DatasetFiles.reads().size();
        BrownCorpus.load();                                                   // the run reads the Brown corpus
        List<DatasetFiles.Read> read = DatasetFiles.reads().subList(mark, DatasetFiles.reads().size());
        RunProvenance p = RunProvenance.capture(root, read);
        Path dir = tmp.resolve("run");
        try (RunRecord r = RunRecord.create(dir, new ObjectMapper().readTree("{\"command\": \"eval\"}"))) {
            r.writeProvenance(p);
        }
        JsonNode j = RunRecord.read(dir).provenance();

        assertEquals(run(root, "git", "rev-parse", "HEAD").strip(), j.get("git_commit").asText());
        boolean dirty = !run(root, "git", "status", "--porcelain", "--untracked-files=no").isBlank();
        assertEquals(dirty, j.get("git_dirty").asBoolean());
        if (dirty) {
            assertEquals("git.diff", j.get("git_diff_file").asText());
            assertEquals(run(root, "git", "diff", "HEAD"), Files.readString(dir.resolve("git.diff")));
        } else {
            assertTrue(j.get("git_diff_file").isNull());
            assertFalse(Files.exists(dir.resolve("git.diff")));
        }

        for (String f : List.of("train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz")) {
            String sum = run(root, "sha256sum", "datasets/brown/" + f).substring(0, 64);
            assertEquals(sum, j.get("datasets").get("brown/" + f).asText(), f);
        }
        assertEquals(3, j.get("datasets").size(), "the three Brown splits, each once");

        assertEquals(Runtime.getRuntime().availableProcessors(), j.get("cpu_cores").asInt());
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
        assertEquals(cpu, j.get("cpu_model").asText());
        assertEquals(System.getProperty("java.vendor"), j.get("java_vendor").asText());
        assertEquals(Runtime.version().toString().split("\\+")[0], j.get("java_version").asText());
        assertEquals("org.nd4j.linalg.cpu.nativecpu.CpuBackend", j.at("/nd4j/backend_class").asText());
        assertEquals("CPU", j.at("/nd4j/backend").asText());
        assertEquals("OPENBLAS", j.at("/nd4j/blas.vendor").asText());

        String pom = Files.readString(root.resolve("pom.xml"));
        for (Map.Entry<String, String> e : Map.of("nd4j-api", "nd4j-native", "openblas", "openblas", "tablesaw-core", "tablesaw-core",
                "xchart", "xchart", "commons-csv", "commons-csv", "picocli", "picocli", "jackson-databind", "jackson-databind",
                "progressbar", "progressbar").entrySet()) {
            assertEquals(pomVersion(pom, e.getValue()), j.at("/libraries/" + e.getKey()).asText(), e.getKey());
        }
        assertEquals(pomVersion(pom, "nd4j-native"), j.at("/libraries/nd4j-api").asText());
    }

    @Test
    void aCleanRecordOfNoDatasetsHasAnEmptyMapAndNoDiffFileWhenClean() {
        RunProvenance p = new RunProvenance(new org.distillery.report.Provenance("c0ffee", false, "17", "Linux", 2, "cpu", "now"),
                null, "17", "vendor", "vm", Map.of(), Map.of(), Map.of());
        Map<String, Object> m = p.asMap(null);
        assertNull(m.get("git_diff_file"));
        assertEquals(Map.of(), m.get("datasets"));
        assertEquals(List.of("git_commit", "git_dirty", "git_diff_file", "java_version", "java_vendor", "java_vm", "os",
                "cpu_model", "cpu_cores", "nd4j", "libraries", "datasets", "date"), List.copyOf(m.keySet()));
    }

    /** The version the pom gives artifact {@code a} (a property reference resolved). */
    private static String pomVersion(String pom, String a) {
        Matcher m = Pattern.compile("<artifactId>" + Pattern.quote(a) + "</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), a + " in pom.xml");
        String v = m.group(1);
        if (v.startsWith("${")) {
            Matcher p = Pattern.compile("<" + Pattern.quote(v.substring(2, v.length() - 1)) + ">([^<]+)<").matcher(pom);
            assertTrue(p.find(), v);
            v = p.group(1);
        }
        return v;
    }
}
