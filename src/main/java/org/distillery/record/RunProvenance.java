package org.distillery.record;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import org.distillery.data.DatasetFiles;
import org.distillery.report.Provenance;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Where and with what a run was made, for its {@code provenance.json}: {@link Provenance}'s git commit, dirty flag,
 * OS, CPU and date, plus the diff of a dirty tree ({@code git diff HEAD}, stored beside as {@code git.diff}), the JDK's
 * version and vendor, the ND4J backend with its BLAS vendor and threads, the versions of the libraries the results
 * depend on (read from their jars' Maven {@code pom.properties}, else their manifests), and the sha256 of every
 * shipped dataset file the run read.
 *
 * @param base        git commit and dirty flag, JDK, OS, CPU model and cores, date (UTC)
 * @param gitDiff     {@code git diff HEAD} when the tree is dirty, else null
 * @param javaVersion {@code java.version}
 * @param javaVendor  {@code java.vendor}
 * @param javaVm      {@code java.vm.name} and {@code java.vm.version}
 * @param nd4j        ND4J's backend and environment: backend class, {@code backend}, {@code blas.vendor},
 *                    {@code blas.threads}, {@code omp.threads}
 * @param libraries   library name -> version
 * @param datasets    dataset file (relative to the datasets folder when inside it) -> sha256
 */
public record RunProvenance(Provenance base, String gitDiff, String javaVersion, String javaVendor, String javaVm,
                            Map<String, String> nd4j, Map<String, String> libraries, Map<String, String> datasets) {
    /** The libraries recorded: name, a class of theirs, Maven group and artifact. */
    static final List<List<String>> LIBRARIES = List.of(
            List.of("nd4j-api", "org.nd4j.linalg.factory.Nd4j", "org.nd4j", "nd4j-api"),
            List.of("nd4j-native", "org.nd4j.linalg.cpu.nativecpu.CpuBackend", "org.nd4j", "nd4j-native"),
            List.of("openblas", "org.bytedeco.openblas.global.openblas", "org.bytedeco", "openblas"),
            List.of("javacpp", "org.bytedeco.javacpp.Loader", "org.bytedeco", "javacpp"),
            List.of("tablesaw-core", "tech.tablesaw.api.Table", "tech.tablesaw", "tablesaw-core"),
            List.of("xchart", "org.knowm.xchart.XYChart", "org.knowm.xchart", "xchart"),
            List.of("commons-csv", "org.apache.commons.csv.CSVFormat", "org.apache.commons", "commons-csv"),
            List.of("picocli", "picocli.CommandLine", "info.picocli", "picocli"),
            List.of("jackson-databind", "com.fasterxml.jackson.databind.ObjectMapper", "com.fasterxml.jackson.core", "jackson-databind"),
            List.of("progressbar", "me.tongfei.progressbar.ProgressBar", "me.tongfei", "progressbar"));

    public RunProvenance {
        nd4j = Collections.unmodifiableMap(new LinkedHashMap<>(nd4j));
        libraries = Collections.unmodifiableMap(new LinkedHashMap<>(libraries));
        datasets = Collections.unmodifiableMap(new LinkedHashMap<>(datasets));
    }

    /**
     * The provenance of this process and the git checkout at {@code root}.
     *
     * @param datasetsRead the dataset files the run read (e.g. the part of {@link DatasetFiles#reads()} after the run
     *                     started); repeats are recorded once
     */
    public static RunProvenance capture(Path root, List<DatasetFiles.Read> datasetsRead) {
        Provenance base = Provenance.capture(root);
        String diff = base.gitDirty() ? Provenance.git(root, "diff", "HEAD") : null;
        Map<String, String> datasets = new LinkedHashMap<>();
        Path datasetsRoot = root.resolve("datasets").toAbsolutePath().normalize();
        for (DatasetFiles.Read r : datasetsRead) {
            Path f = r.file();
            datasets.put(f.startsWith(datasetsRoot) ? datasetsRoot.relativize(f).toString() : f.toString(), r.sha256());
        }
        return new RunProvenance(base, diff, System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"), captureNd4j(), captureLibraries(), datasets);
    }

    /** ND4J's backend class and its environment information (backend, BLAS vendor and threads, OpenMP threads). */
    static Map<String, String> captureNd4j() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("backend_class", Nd4j.getBackend().getClass().getName());
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        for (String k : List.of("backend", "blas.vendor", "blas.threads", "omp.threads")) {
            Object v = env.get(k);
            m.put(k, v == null ? "unknown" : v.toString());
        }
        return m;
    }

    /** Name -> version of every library in {@link #LIBRARIES} ("unknown" where neither jar metadata says). */
    static Map<String, String> captureLibraries() {
        Map<String, String> m = new LinkedHashMap<>();
        for (List<String> l : LIBRARIES) m.put(l.get(0), version(l.get(1), l.get(2), l.get(3)));
        return m;
    }

    /** The version of the jar holding {@code className}: its Maven pom.properties, else its manifest. */
    static String version(String className, String group, String artifact) {
        try {
            Class<?> c = Class.forName(className, false, RunProvenance.class.getClassLoader());
            CodeSource src = c.getProtectionDomain().getCodeSource();
            if (src == null || src.getLocation() == null) return "unknown";
            Path jar = Path.of(src.getLocation().toURI());
            if (!Files.isRegularFile(jar)) return "unknown";
            try (JarFile j = new JarFile(jar.toFile())) {
                ZipEntry e = j.getEntry("META-INF/maven/" + group + "/" + artifact + "/pom.properties");
                if (e != null) {
                    Properties p = new Properties();
                    try (InputStream in = j.getInputStream(e)) {
                        p.load(in);
                    }
                    if (p.getProperty("version") != null) return p.getProperty("version");
                }
                Manifest mf = j.getManifest();
                if (mf != null) {
                    for (String key : List.of("Implementation-Version", "Bundle-Version")) {
                        String v = mf.getMainAttributes().getValue(key);
                        if (v != null) return v;
                    }
                }
            }
        } catch (ClassNotFoundException | IOException | URISyntaxException | RuntimeException e) {
            // not on the class path or not a jar: unknown
        }
        return "unknown";
    }

    /** The fields as an ordered map for {@code provenance.json}; {@code diffFile} names the stored diff (or null). */
    public Map<String, Object> asMap(String diffFile) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("git_commit", base.gitCommit());
        m.put("git_dirty", base.gitDirty());
        m.put("git_diff_file", diffFile);
        m.put("java_version", javaVersion);
        m.put("java_vendor", javaVendor);
        m.put("java_vm", javaVm);
        m.put("os", base.os());
        m.put("cpu_model", base.cpuModel());
        m.put("cpu_cores", base.cpuCores());
        m.put("nd4j", nd4j);
        m.put("libraries", libraries);
        m.put("datasets", datasets);
        m.put("date", base.date());
        return m;
    }
}
