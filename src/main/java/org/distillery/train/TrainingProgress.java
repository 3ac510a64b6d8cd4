package org.distillery.train;

import java.io.PrintStream;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Shows the progress of long work (step, loss, tokens/s, ETA), updated in place: in a notebook as one
 * HTML output that is rewritten (rapaio-jupyter-kernel's display updates), in a terminal as one line
 * redrawn by the {@code progressbar} library. Use it in a try-with-resources block from the cell's own
 * thread:
 * <pre>{@code
 * try (var progress = TrainingProgress.start("train", steps, tokensPerStep)) {
 *     for (int s = 1; s <= steps; s++) { ...; progress.update(s, loss); }
 * }
 * }</pre>
 * Updates are throttled (at most one redraw per {@link #MIN_INTERVAL_NANOS}; the last step always shows).
 */
public class TrainingProgress implements AutoCloseable {
    /** Minimum time between two redraws: 250 ms. */
    public static final long MIN_INTERVAL_NANOS = 250_000_000L;

    private final String task;
    private final long total;
    private final long tokensPerStep;
    private final LongSupplier clock;
    private final Consumer<ProgressStatus> view;
    private final Runnable onClose;
    private final long start;
    private long lastDraw = Long.MIN_VALUE;
    private ProgressStatus last;

    TrainingProgress(String task, long total, long tokensPerStep, LongSupplier clock,
                     Consumer<ProgressStatus> view, Runnable onClose) {
        if (tokensPerStep < 0) {
            throw new IllegalArgumentException("tokensPerStep must be >= 0, got " + tokensPerStep);
        }
        this.task = task;
        this.total = total;
        this.tokensPerStep = tokensPerStep;
        this.clock = clock;
        this.view = view;
        this.onClose = onClose;
        this.start = clock.getAsLong();
        this.last = ProgressStatus.of(task, 0, total, Double.NaN, 0, 0);
        view.accept(last);
    }

    /**
     * Starts a progress display suited to where the code runs: the notebook kernel (an in-place HTML
     * output) or anything else (a terminal progress bar on standard error).
     */
    public static TrainingProgress start(String task, long totalSteps, long tokensPerStep) {
        if (insideNotebookKernel()) {
            try {
                @SuppressWarnings("unchecked")
                Consumer<ProgressStatus> view = (Consumer<ProgressStatus>) Class
                        .forName("org.distillery.train.NotebookProgressView").getConstructor().newInstance();
                return new TrainingProgress(task, totalSteps, tokensPerStep, System::nanoTime, view, () -> { });
            } catch (ReflectiveOperationException | LinkageError e) {
                // not the kernel after all: fall through to the terminal
            }
        }
        TerminalProgressView terminal = new TerminalProgressView(task, totalSteps, System.err);
        return new TrainingProgress(task, totalSteps, tokensPerStep, System::nanoTime, terminal, terminal::close);
    }

    /** A display writing plain lines to {@code out} (for logs and tests), with the given clock. */
    public static TrainingProgress lines(String task, long totalSteps, long tokensPerStep, PrintStream out,
                                         LongSupplier clock) {
        return new TrainingProgress(task, totalSteps, tokensPerStep, clock, s -> out.println(s.text()), () -> { });
    }

    /** Records that {@code step} steps are done with the latest {@code loss}; redraws when due. */
    public void update(long step, double loss) {
        long now = clock.getAsLong();
        last = ProgressStatus.of(task, step, total, loss, step * tokensPerStep, now - start);
        if (step == total || lastDraw == Long.MIN_VALUE || now - lastDraw >= MIN_INTERVAL_NANOS) {
            lastDraw = now;
            view.accept(last);
        }
    }

    /** The latest status (also the one shown last when the run ends). */
    public ProgressStatus status() {
        return last;
    }

    @Override
    public void close() {
        view.accept(last);
        onClose.run();
    }

    /** True inside rapaio-jupyter-kernel, whose kernelspec sets RJK_CLASSPATH. */
    static boolean insideNotebookKernel() {
        return System.getenv("RJK_CLASSPATH") != null;
    }
}
