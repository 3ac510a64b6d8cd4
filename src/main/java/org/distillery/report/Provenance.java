package org.distillery.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Where and how a result was made: git commit and dirty flag, JDK, operating system, processor, date.
 * Recorded next to every report so that a number can be traced to the code that produced it.
 *
 * @param gitCommit  full commit hash, or "unknown" outside a git checkout
 * @param gitDirty   true when tracked files differ from the commit
 * @param jdk        "version (vendor)" of the JVM
 * @param os         "name version arch"
 * @param cpuCores   available processors
 * @param cpuModel   model name from /proc/cpuinfo, or "unknown"
 * @param date       ISO-8601 UTC timestamp
 */
public record Provenance(String gitCommit, boolean gitDirty, String jdk, String os, int cpuCores,
                         String cpuModel, String date) {

    /** Reads the provenance of the current process and the git checkout at {@code root}. */
    public static Provenance capture(Path root) {
        String commit = git(root, "rev-parse", "HEAD");
        String status = git(root, "status", "--porcelain", "--untracked-files=no");
        return new Provenance(
                commit == null ? "unknown" : commit.trim(),
                status != null && !status.isBlank(),
                System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")",
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                        + System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(),
                readCpuModel(),
                OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    }

    /** The fields as an ordered map, for JSON and for display. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("git_commit", gitCommit);
        m.put("git_dirty", gitDirty);
        m.put("jdk", jdk);
        m.put("os", os);
        m.put("cpu_cores", cpuCores);
        m.put("cpu_model", cpuModel);
        m.put("date", date);
        return m;
    }

    private static String readCpuModel() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux, or not readable: reported as unknown
        }
        return "unknown";
    }

    /** Output of a git command in {@code root}, or null when git is missing or fails. */
    public static String git(Path root, String... args) {
        try {
            Process p = new ProcessBuilder(concat("git", args)).directory(root.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static List<String> concat(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return List.of(all);
    }
}
