package org.distillery.notebook;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.distillery.util.AtomicFiles;
import org.distillery.util.ProjectPaths;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.internal.chartpart.Chart;
import tech.tablesaw.api.Table;

/**
 * What a notebook needs besides the library: its profile, where to save the CSV and PNG files that go
 * into its report, and rendering of charts and tables. Kernel-agnostic: a cell that ends in the
 * {@link BufferedImage} returned by {@link #image} shows the chart; a cell that ends in a Tablesaw
 * {@link Table} shows an HTML table (see {@link TablesawDisplayProvider}).
 */
public final class Notebook {
    /** Environment variable naming the folder where a notebook saves its report files. */
    public static final String OUTPUT_ENV = "DISTILLERY_OUTPUT_DIR";

    private Notebook() {}

    /**
     * The profile this notebook runs in ({@code DISTILLERY_PROFILE}, default quick). Every notebook calls this in its
     * first cell, so it also warns there if the kernel's JVM lacks the JIT setting the vector kernels need
     * ({@link org.distillery.util.JitSettings}), and runs the int8-activation kernels once
     * ({@link org.distillery.quant.packed.QuantizedLinear#warmUp()}).
     */
    public static Profile profile() {
        org.distillery.util.JitSettings.warnIfTrapLimitLow();
        org.distillery.quant.packed.QuantizedLinear.warmUp();
        return Profile.fromEnvironment();
    }

    /**
     * The folder where this notebook saves files for its report: {@code DISTILLERY_OUTPUT_DIR} when the
     * launcher runs it, else {@code target/notebook-output} under the project root (interactive use).
     */
    public static Path outputDir() {
        String env = System.getenv(OUTPUT_ENV);
        Path dir = env == null || env.isBlank()
                ? ProjectPaths.root().resolve("target").resolve("notebook-output")
                : Path.of(env);
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the notebook output folder " + dir, e);
        }
    }

    /** The chart as an image; a cell ending in it shows the chart inline as PNG. */
    public static BufferedImage image(Chart<?, ?> chart) {
        return BitmapEncoder.getBufferedImage(chart);
    }

    /** Saves the chart as {@code <outputDir>/<name>.png} (atomically) and returns its image for display. */
    public static BufferedImage savePng(Chart<?, ?> chart, String name) {
        BufferedImage img = image(chart);
        AtomicFiles.write(outputDir().resolve(fileName(name, ".png")), out -> {
            if (!ImageIO.write(img, "png", out)) {
                throw new IOException("no PNG writer available");
            }
        });
        return img;
    }

    /** The file {@link #headline} writes into the output folder. */
    public static final String HEADLINE_FILE = "headline.txt";

    /**
     * Records this notebook's headline result, one or two sentences computed from the run's numbers, as
     * {@code <outputDir>/headline.txt} (atomically); {@code ./lab reproduce} puts it into the summary table of
     * {@code reports/index.html}. Returns the text for display.
     *
     * @throws IllegalArgumentException if the text is null or blank
     */
    public static String headline(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("headline: must be a non-blank sentence but was "
                    + (text == null ? "null" : "'" + text + "'"));
        }
        AtomicFiles.writeString(outputDir().resolve(HEADLINE_FILE), text.strip() + "\n");
        return text.strip();
    }

    /** Saves the table as {@code <outputDir>/<name>.csv} (atomically) and returns it for display. */
    public static Table saveCsv(Table table, String name) {
        AtomicFiles.write(outputDir().resolve(fileName(name, ".csv")), out -> {
            try (CSVPrinter csv = new CSVPrinter(new OutputStreamWriter(out, StandardCharsets.UTF_8),
                    CSVFormat.RFC4180)) {
                csv.printRecord(table.columnNames());
                for (int r = 0; r < table.rowCount(); r++) {
                    Object[] row = new Object[table.columnCount()];
                    for (int c = 0; c < row.length; c++) {
                        row[c] = table.getString(r, c);
                    }
                    csv.printRecord(row);
                }
            }
        });
        return table;
    }

    /** An HTML rendering of the first {@code maxRows} rows of a table. */
    public static String html(Table t, int maxRows) {
        StringBuilder sb = new StringBuilder("<table class=\"distillery\">");
        if (t.name() != null && !t.name().isBlank()) {
            sb.append("<caption>").append(escape(t.name())).append("</caption>");
        }
        sb.append("<thead><tr>");
        for (String c : t.columnNames()) {
            sb.append("<th>").append(escape(c)).append("</th>");
        }
        sb.append("</tr></thead><tbody>");
        int n = Math.min(maxRows, t.rowCount());
        for (int r = 0; r < n; r++) {
            sb.append("<tr>");
            for (int c = 0; c < t.columnCount(); c++) {
                sb.append("<td>").append(escape(t.getString(r, c))).append("</td>");
            }
            sb.append("</tr>");
        }
        sb.append("</tbody></table>");
        if (n < t.rowCount()) {
            sb.append("<p>").append(t.rowCount() - n).append(" more rows</p>");
        }
        return sb.toString();
    }

    /** Escapes text for HTML content and attribute values. */
    public static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String fileName(String name, String ext) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("file name '" + name
                    + "' is not accepted: use letters, digits, '.', '_' and '-' (no folders)");
        }
        return name.endsWith(ext) ? name : name + ext;
    }
}
