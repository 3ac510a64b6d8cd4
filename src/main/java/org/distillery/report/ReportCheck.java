package org.distillery.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens an HTML report in headless Chromium (Debian's {@code chromium}) as a reader would, and reports
 * whether the page loaded and how many of its images rendered (read from the
 * {@code data-images-loaded} attribute the report's script sets on load). Optionally saves a screenshot.
 */
public final class ReportCheck {
    static final String CHROMIUM = "/usr/bin/chromium";
    private static final Pattern LOADED = Pattern.compile("data-images-loaded=\"(\\d+)\"");
    private static final Pattern TITLE = Pattern.compile("<title>(.*?)</title>");

    private ReportCheck() {}

    /** What the browser saw. */
    public record Seen(boolean loaded, int imagesLoaded, String title) {}

    /** Loads {@code page} headless; when {@code screenshot} is not null, also saves a PNG of it there. */
    public static Seen open(Path page, Path screenshot) {
        if (!Files.isExecutable(Path.of(CHROMIUM))) {
            throw new IllegalStateException(CHROMIUM + " is not installed: run ./lab setup");
        }
        String url = page.toAbsolutePath().toUri().toString();
        String dom = chromium(List.of("--dump-dom", url));
        if (screenshot != null) {
            chromium(List.of("--screenshot=" + screenshot.toAbsolutePath(), "--window-size=1280,1600", url));
        }
        Matcher m = LOADED.matcher(dom);
        boolean loaded = m.find();
        Matcher t = TITLE.matcher(dom);
        return new Seen(loaded, loaded ? Integer.parseInt(m.group(1)) : 0, t.find() ? t.group(1) : "");
    }

    private static String chromium(List<String> args) {
        Path profile = null;
        try {
            profile = Files.createTempDirectory("distillery-chromium");
            List<String> cmd = new java.util.ArrayList<>(List.of(CHROMIUM, "--headless", "--no-sandbox",
                    "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic", "--user-data-dir=" + profile,
                    "--virtual-time-budget=10000"));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("chromium did not finish within 120 s");
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run chromium: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running chromium", e);
        } finally {
            if (profile != null) {
                org.distillery.util.FileTrees.delete(profile);
            }
        }
    }
}
