package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;
import org.distillery.util.AtomicFiles;
import org.distillery.util.FileTrees;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * One run folder: the record of a training, distillation, quantization, pruning or evaluation run.
 * <pre>
 * RUN/
 *   INCOMPLETE        present until the run finished (written first, deleted last); holds the writer's pid
 *   config.json       the whole configuration: command, arguments, every option with its value, input files' sha256
 *   provenance.json   git commit, dirty flag, JDK, OS, CPU, ND4J backend and BLAS, library versions, datasets' sha256
 *   git.diff          `git diff HEAD` when the tree was dirty
 *   metrics.csv       long format step,split,metric,value (Commons CSV)
 *   summary.json      headline metrics and where the command's own report is
 *   plots/*.png       charts
 *   model/            the model directory the run wrote (when it writes one)
 * </pre>
 * A run folder is never overwritten: {@link #create} refuses a folder that exists. It appears whole: it is
 * assembled under a temporary name with its {@code INCOMPLETE} marker and {@code config.json} and then renamed, and
 * every later file is written under a temporary name and renamed ({@link AtomicFiles}). A run killed at any point
 * leaves a folder that is still marked incomplete; {@link #resume} takes it up again. The writing process holds an
 * OS lock on the marker (released when the process ends, also on {@code kill -9}), so two processes never write one
 * run folder.
 */
public final class RunRecord implements AutoCloseable {
    public static final String INCOMPLETE = "INCOMPLETE", CONFIG = "config.json", PROVENANCE = "provenance.json",
            GIT_DIFF = "git.diff", METRICS = "metrics.csv", SUMMARY = "summary.json", PLOTS = "plots", MODEL = "model",
            ERROR = "error.txt";
    /** The header of {@link #METRICS}. */
    public static final List<String> METRICS_HEADER = List.of("step", "split", "metric", "value");
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One row of {@code metrics.csv}: a metric of a split at a step (one-shot runs use step 0). */
    public record Metric(long step, String split, String metric, double value) {
        public Metric {
            if (split == null || split.isEmpty()) throw new IllegalArgumentException("split: must not be empty");
            if (metric == null || metric.isEmpty()) throw new IllegalArgumentException("metric: must not be empty");
        }
    }

    private final Path dir;
    private FileChannel markerChannel;   // open while this process writes the run
    private FileLock lock;

    private RunRecord(Path dir) {
        this.dir = dir;
    }

    // ------------------------------------------------------------------------------------------------
    // opening

    /**
     * Creates the run folder {@code dir} (its parent folder is created when missing) holding the {@code INCOMPLETE}
     * marker and {@code config.json}, and takes the run's lock.
     *
     * @throws IllegalArgumentException when {@code dir} exists: "run folder DIR already exists: ..."
     */
    public static RunRecord create(Path dir, JsonNode config) {
        if (config == null || !config.isObject()) throw new IllegalArgumentException("config: must be a JSON object");
        Path abs = dir.toAbsolutePath().normalize();
        refuseExisting(abs);
        try {
            Files.createDirectories(abs.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the runs folder " + abs.getParent() + ": " + e.getMessage(), e);
        }
        Path tmp = FileTrees.temporaryBeside(abs.getParent(), abs);
        RunRecord r = new RunRecord(abs);
        try {
            r.lockMarker(tmp.resolve(INCOMPLETE), true);
            Files.writeString(tmp.resolve(CONFIG), JSON.writeValueAsString(config), StandardCharsets.UTF_8);
            refuseExisting(abs);                      // created meanwhile: do not rename onto it
            Files.move(tmp, abs);
            return r;
        } catch (IOException e) {
            r.release();
            FileTrees.delete(tmp);
            throw new UncheckedIOException("cannot create run folder " + abs + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            r.release();
            FileTrees.delete(tmp);
            throw e;
        }
    }

    /**
     * Opens the incomplete run folder {@code dir} to continue it: takes its lock and deletes the temporary files an
     * interrupted writer left ({@code .NAME.*.tmp}, {@code .NAME.partial-*}).
     *
     * @throws IllegalArgumentException when {@code dir} is no run folder, is complete, or another process writes it
     */
    public static RunRecord resume(Path dir) {
        RunRecord r = read(dir);
        Path marker = r.dir.resolve(INCOMPLETE);
        if (!Files.exists(marker)) {
            throw new IllegalArgumentException("run folder " + r.dir + " is complete: nothing to resume");
        }
        try {
            r.lockMarker(marker, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + marker + ": " + e.getMessage(), e);
        }
        r.deleteTemporaries();
        return r;
    }

    /**
     * A run folder to read (complete or not).
     *
     * @throws IllegalArgumentException when {@code dir} does not exist or has no {@code config.json}
     */
    public static RunRecord read(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) throw new IllegalArgumentException("run folder " + dir + ": no such folder");
        if (!isRun(abs)) {
            throw new IllegalArgumentException("run folder " + dir + ": not a run folder (no " + CONFIG + " with "
                    + INCOMPLETE + " or " + PROVENANCE + ")");
        }
        return new RunRecord(abs);
    }

    /**
     * True when {@code dir} is a run folder: {@code config.json} and either the {@code INCOMPLETE} marker or
     * {@code provenance.json} (a model directory's {@code config.json} alone does not make one).
     */
    public static boolean isRun(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve(CONFIG))
                && (Files.exists(dir.resolve(INCOMPLETE)) || Files.isRegularFile(dir.resolve(PROVENANCE)));
    }

    private static void refuseExisting(Path dir) {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            boolean incomplete = Files.exists(dir.resolve(INCOMPLETE));
            throw new IllegalArgumentException("run folder " + dir + " already exists: runs are never overwritten; choose "
                    + "another run name" + (incomplete ? " or continue it with --resume " + dir : ""));
        }
    }

    /** Opens {@code marker} and takes its lock; a fresh marker gets this process's pid and the time. */
    private void lockMarker(Path marker, boolean fresh) throws IOException {
        markerChannel = fresh ? FileChannel.open(marker, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                : FileChannel.open(marker, StandardOpenOption.WRITE, StandardOpenOption.READ);
        try {
            lock = markerChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            // read through this channel: opening the file again and closing it would drop this JVM's POSIX locks on it
            ByteBuffer b = ByteBuffer.allocate(200);
            markerChannel.read(b, 0);
            String holder = " (" + new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip() + ")";
            release();
            throw new IllegalArgumentException("run folder " + dir + " is being written by another process" + holder
                    + ": wait for it to end or stop it");
        }
        String text = "pid " + ProcessHandle.current().pid() + ", since "
                + OffsetDateTime.now(ZoneOffset.UTC).withNano(0) + System.lineSeparator();
        markerChannel.truncate(0);
        markerChannel.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), 0);
    }

    private void release() {
        try {
            if (lock != null) lock.release();
            if (markerChannel != null) markerChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the channel
        }
        lock = null;
        markerChannel = null;
    }

    /** Deletes the hidden temporary files and folders a killed writer left at the top level and in plots/. */
    private void deleteTemporaries() {
        for (Path folder : List.of(dir, dir.resolve(PLOTS))) {
            if (!Files.isDirectory(folder)) continue;
            try (Stream<Path> s = Files.list(folder)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if (n.startsWith(".") && (n.endsWith(".tmp") || n.contains(".partial-"))) FileTrees.delete(p);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + folder + ": " + e.getMessage(), e);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // writing

    /** Writes {@code provenance.json} and, when the tree was dirty, its diff as {@code git.diff}. */
    public void writeProvenance(RunProvenance p) {
        requireWriting();
        if (p.gitDiff() != null) AtomicFiles.writeString(dir.resolve(GIT_DIFF), p.gitDiff());
        writeJson(PROVENANCE, JSON.valueToTree(p.asMap(p.gitDiff() == null ? null : GIT_DIFF)));
    }

    /** Writes {@code metrics.csv} (header step,split,metric,value; values as Java's shortest round-trip decimal). */
    public void writeMetrics(List<Metric> rows) {
        requireWriting();
        AtomicFiles.write(dir.resolve(METRICS), out -> {
            Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
            CSVPrinter p = new CSVPrinter(w, CSVFormat.DEFAULT);
            p.printRecord(METRICS_HEADER);
            for (Metric m : rows) p.printRecord(m.step(), m.split(), m.metric(), m.value());
            p.flush();
        });
    }

    /** Writes {@code summary.json}. */
    public void writeSummary(JsonNode summary) {
        requireWriting();
        writeJson(SUMMARY, summary);
    }

    /** Writes {@code error.txt} (why the run stopped); the run stays incomplete. */
    public void writeError(String text) {
        requireWriting();
        AtomicFiles.writeString(dir.resolve(ERROR), text.endsWith("\n") ? text : text + "\n");
    }

    /** Saves {@code chart} as {@code plots/NAME.png}; returns the file. */
    public Path savePlot(String name, Chart<?, ?> chart) {
        requireWriting();
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("name: '" + name + "' is not accepted: use letters, digits, '.', '_' and '-'");
        }
        Path file = dir.resolve(PLOTS).resolve(name + ".png");
        return AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }

    /**
     * Makes {@code model/} a copy of the model directory {@code from} (written elsewhere, e.g. to a command's
     * {@code --out}) made of hard links to its files (plain copies where the file system has none), assembled under
     * a temporary name and renamed.
     */
    public void linkModel(Path from) {
        requireWriting();
        Path target = modelDir();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalStateException("run folder " + dir + " already has its " + MODEL + "/");
        }
        Path tmp = FileTrees.temporaryBeside(dir, target);
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path dest = tmp.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    try {
                        Files.createLink(dest, p);
                    } catch (IOException | UnsupportedOperationException e) {   // another file system: copy
                        Files.copy(p, dest);
                    }
                }
            }
            Files.move(tmp, target);
        } catch (IOException e) {
            FileTrees.delete(tmp);
            throw new UncheckedIOException("cannot link " + from + " into " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Marks the run complete (deletes {@code INCOMPLETE}, the last step) and releases its lock.
     *
     * @throws IllegalStateException when {@code provenance.json} was not written (every complete run has one)
     */
    public void complete() {
        requireWriting();
        if (!Files.isRegularFile(dir.resolve(PROVENANCE))) {
            throw new IllegalStateException("run folder " + dir + ": write " + PROVENANCE + " before completing the run");
        }
        try {
            Files.delete(dir.resolve(INCOMPLETE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot complete " + dir + ": " + e.getMessage(), e);
        } finally {
            release();
        }
    }

    /** Releases the run's lock without completing it (the run stays incomplete and can be resumed). */
    @Override
    public void close() {
        release();
    }

    /**
     * Deletes this run folder: only for a run this process has just created and that failed on bad input before it
     * wrote anything of value.
     */
    public void discard() {
        requireWriting();
        release();
        FileTrees.delete(dir);
    }

    private void requireWriting() {
        if (lock == null) {
            throw new IllegalStateException("run folder " + dir + " is not open for writing (create or resume it first,"
                    + " and not after complete())");
        }
    }

    private void writeJson(String name, JsonNode node) {
        try {
            AtomicFiles.writeString(dir.resolve(name), JSON.writeValueAsString(node) + System.lineSeparator());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(name + ": cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // reading

    /** The run folder (absolute). */
    public Path dir() { return dir; }

    /** The model directory of the run ({@code model/}; it exists only when the run wrote one). */
    public Path modelDir() { return dir.resolve(MODEL); }

    /** True when the run finished (no {@code INCOMPLETE} marker). */
    public boolean isComplete() { return !Files.exists(dir.resolve(INCOMPLETE)); }

    /** {@code config.json}. */
    public JsonNode config() { return readJson(CONFIG, true); }

    /** {@code provenance.json}, or null when it was not written yet. */
    public JsonNode provenance() { return readJson(PROVENANCE, false); }

    /** {@code summary.json}, or null when it was not written yet. */
    public JsonNode summary() { return readJson(SUMMARY, false); }

    /** The rows of {@code metrics.csv} in file order (empty when it was not written yet). */
    public List<Metric> metrics() {
        Path f = dir.resolve(METRICS);
        if (!Files.exists(f)) return List.of();
        return readMetrics(f);
    }

    /**
     * The rows of a long-format metrics file (header step,split,metric,value; {@code metrics.csv} of a run or of a
     * {@link org.distillery.train.Trainer} run directory).
     *
     * @throws IllegalArgumentException naming the file and line of a row that is not step,split,metric,value
     */
    public static List<Metric> readMetrics(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);                       // unreadable: UncheckedIOException
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text (a CSV file of step,split,metric,value)", e);
        }
        List<Metric> rows = new ArrayList<>();
        try (Reader r = new java.io.StringReader(text)) {              // malformed: IllegalArgumentException
            for (CSVRecord rec : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r)) {
                if (rec.size() != METRICS_HEADER.size()) {
                    throw new IllegalArgumentException(file + " record " + rec.getRecordNumber() + ": " + rec.size()
                            + " fields; expected " + String.join(",", METRICS_HEADER));
                }
                try {
                    rows.add(new Metric(Long.parseLong(rec.get(0)), rec.get(1), rec.get(2), Double.parseDouble(rec.get(3))));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(file + " record " + rec.getRecordNumber() + ": step or value is not a"
                            + " number: " + rec.toList(), e);
                }
            }
        } catch (IOException | IllegalStateException | UncheckedIOException e) {
            throw new IllegalArgumentException(file + ": not a CSV file of step,split,metric,value: " + e.getMessage(), e);
        }
        return Collections.unmodifiableList(rows);
    }

    private JsonNode readJson(String name, boolean required) {
        Path f = dir.resolve(name);
        if (!Files.exists(f)) {
            if (required) throw new IllegalArgumentException("run folder " + dir + ": no " + name);
            return null;
        }
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(f + ": not valid JSON: "
                    + (e.getMessage() == null ? e : e.getMessage().lines().findFirst().orElse("")), e);
        }
    }

    @Override
    public String toString() {
        return "RunRecord[" + dir + (isComplete() ? "" : ", incomplete") + "]";
    }
}
