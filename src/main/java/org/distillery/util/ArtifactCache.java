package org.distillery.util;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.distillery.report.Provenance;

/**
 * Where trained artifacts (model directories) are kept between runs, so a notebook re-run does not
 * retrain: {@code <root>/.cache/artifacts/<name>-<key>/}, or under {@code DISTILLERY_CACHE}. The key
 * is a hash of the configuration, the data's sha256 sums and the code (every file of the compiled
 * library), so any change to any of them gives a new key. The folder is ignored by git: artifacts
 * are never committed.
 */
public final class ArtifactCache {
    /** Environment variable naming another cache folder. */
    public static final String ENV = "DISTILLERY_CACHE";
    private static String codeHash;

    private ArtifactCache() {}

    /** The cache folder. */
    public static Path root() {
        String env = System.getenv(ENV);
        return env == null || env.isBlank() ? ProjectPaths.root().resolve(".cache").resolve("artifacts") : Path.of(env);
    }

    /** {@code root()/<name>-<first 16 hex digits of the key>}; {@code name} is for people reading the folder. */
    public static Path folder(String name, String config, Map<String, String> dataSums) {
        return folder(root(), name, config, dataSums);
    }

    /** As {@link #folder(String, String, Map)} under another root (tests use a temporary folder). */
    public static Path folder(Path root, String name, String config, Map<String, String> dataSums) {
        if (root == null) throw new IllegalArgumentException("root: must not be null");
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("artifact name '" + name + "' is not accepted: use letters, digits, '.', '_', '-'");
        }
        return root.resolve(name + "-" + key(config, dataSums).substring(0, 16));
    }

    /** The summary file every artifact folder written by {@link #write} ends with. */
    public static final String SUMMARY = "summary.json";

    /** Writes the files of an artifact into a new folder and returns its summary. */
    public interface Writer {
        ObjectNode write(Path folder) throws IOException;
    }

    /**
     * Writes an artifact folder under a temporary name ({@code .<name>.partial}, removed first if an interrupted
     * run left it): the writer's files, then {@value #SUMMARY} (the writer's summary plus the run's
     * provenance); then renames it to {@code dir}. A folder holding {@value #SUMMARY} is therefore always
     * complete.
     */
    public static void write(Path dir, Writer w) {
        Path tmp = dir.resolveSibling("." + dir.getFileName() + ".partial");
        ObjectMapper json = new ObjectMapper();
        try {
            FileTrees.delete(tmp);
            Files.createDirectories(tmp);
            ObjectNode summary = w.write(tmp);
            summary.set("provenance", json.valueToTree(Provenance.capture(ProjectPaths.root()).asMap()));
            AtomicFiles.writeString(tmp.resolve(SUMMARY),
                    json.enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(summary) + "\n");
            FileTrees.delete(dir);
            Files.move(tmp, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }

    /** sha256 over the configuration text, the data sums (sorted by name) and {@link #codeHash()}. */
    public static String key(String config, Map<String, String> dataSums) {
        MessageDigest md = sha256();
        md.update(("config\n" + config + "\n").getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<String, String> e : new TreeMap<>(dataSums).entrySet()) {
            md.update(("data " + e.getKey() + " " + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        md.update(("code " + codeHash() + "\n").getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(md.digest());
    }

    /** sha256 over every file (path and bytes, in path order) of the library's compiled code. */
    public static synchronized String codeHash() {
        if (codeHash == null) {
            try {
                Path code = Path.of(ArtifactCache.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                MessageDigest md = sha256();
                List<Path> files;
                try (Stream<Path> s = Files.isDirectory(code) ? Files.walk(code) : Stream.of(code)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
                byte[] buf = new byte[1 << 16];
                for (Path f : files) {
                    md.update(code.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                    try (InputStream in = Files.newInputStream(f)) {
                        for (int r; (r = in.read(buf)) > 0; ) {
                            md.update(buf, 0, r);
                        }
                    }
                }
                codeHash = HexFormat.of().formatHex(md.digest());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot hash the library code: " + e.getMessage(), e);
            } catch (URISyntaxException | SecurityException e) {
                throw new IllegalStateException("cannot locate the library code: " + e.getMessage(), e);
            }
        }
        return codeHash;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }
}
