package org.distillery.train;

import static org.distillery.notebook.Notebook.escape;

import java.time.Duration;
import java.util.Locale;

/**
 * A snapshot of a training run's progress, and its rendering as one line of text or as HTML.
 *
 * @param task            what is running, e.g. "train teacher"
 * @param step            steps done (0..total)
 * @param total           steps planned (> 0)
 * @param loss            the latest loss (NaN before the first step)
 * @param tokensPerSecond throughput since the start (tokens/s)
 * @param elapsed         wall time since the start
 * @param eta             estimated time to finish: elapsed / step * (total - step); null before step 1
 */
public record ProgressStatus(String task, long step, long total, double loss, double tokensPerSecond,
                             Duration elapsed, Duration eta) {

    /** The status after {@code step} of {@code total} steps, {@code tokens} processed in {@code elapsedNanos}. */
    public static ProgressStatus of(String task, long step, long total, double loss, long tokens, long elapsedNanos) {
        if (total <= 0) {
            throw new IllegalArgumentException("total steps must be > 0, got " + total);
        }
        if (step < 0 || step > total) {
            throw new IllegalArgumentException("step " + step + " is outside [0, " + total + "]");
        }
        double seconds = elapsedNanos / 1e9;
        Duration eta = step == 0 ? null : Duration.ofNanos((long) ((double) elapsedNanos / step * (total - step)));
        return new ProgressStatus(task, step, total, loss, seconds > 0 ? tokens / seconds : 0,
                Duration.ofNanos(elapsedNanos), eta);
    }

    /** Fraction done, 0..1. */
    public double fraction() {
        return (double) step / total;
    }

    /** e.g. {@code train: step 120/500 (24%) | loss 2.3100 | 12,345 tok/s | 0:31 elapsed | ETA 1:38}. */
    public String text() {
        return String.format(Locale.ROOT, "%s: step %d/%d (%d%%) | loss %s | %,.0f tok/s | %s elapsed | ETA %s",
                task, step, total, Math.round(100 * fraction()), Double.isNaN(loss) ? "-" : String.format(Locale.ROOT, "%.4f", loss),
                tokensPerSecond, clock(elapsed), eta == null ? "-" : clock(eta));
    }

    /** A progress bar and the same figures, for a notebook output. */
    public String html() {
        return "<div class=\"distillery-progress\" style=\"font-family:monospace\">"
                + "<progress value=\"" + step + "\" max=\"" + total + "\" style=\"width:300px\"></progress> "
                + escape(text()) + "</div>";
    }

    /** {@code h:mm:ss}, or {@code m:ss} under an hour. */
    static String clock(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
