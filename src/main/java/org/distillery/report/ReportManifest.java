package org.distillery.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distillery.util.AtomicFiles;

/**
 * {@code reports/manifest.json}: what each report folder holds and how it was made.
 *
 * @param profile      the profile of the run that last wrote the folder
 * @param totalSeconds wall time of that run
 * @param provenance   that run's {@link Provenance#asMap()}
 * @param notebooks    one entry per notebook, in notebook order
 */
public record ReportManifest(String profile, double totalSeconds, Map<String, Object> provenance,
                             List<Entry> notebooks) {

    /**
     * One notebook's report.
     *
     * @param name       notebook name (file name without .ipynb), also its folder
     * @param profile    the profile it ran in
     * @param seconds    wall time of its execution, kernel start included
     * @param attempts   kernel starts it took
     * @param cells      code cells executed
     * @param files      the CSV and PNG files it saved, sorted
     * @param provenance provenance of the run that executed it (a partial run keeps older entries)
     * @param headline   the notebook's headline result ({@link org.distillery.notebook.Notebook#headline}), or
     *                   null when it wrote none
     */
    public record Entry(String name, String profile, double seconds, int attempts, int cells,
                        List<String> files, Map<String, Object> provenance, String headline) {}

    /** The summed durations of the notebooks in the folder (a partial run's wall time covers only its own). */
    public double notebookSeconds() {
        return notebooks.stream().mapToDouble(Entry::seconds).sum();
    }

    static final String FILE = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Reads {@code dir/manifest.json}, or null when the folder has none. */
    public static ReportManifest read(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            return JSON.readValue(f.toFile(), ReportManifest.class);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable report manifest " + f + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@code dir/manifest.json} atomically. */
    void write(Path dir) {
        AtomicFiles.write(dir.resolve(FILE), out -> JSON.writeValue(out, this));
    }
}
