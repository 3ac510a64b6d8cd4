package org.distillery.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The terminal display of {@link TrainingProgress}: a progressbar line with loss and tokens/s. */
final class TerminalProgressView implements Consumer<ProgressStatus>, AutoCloseable {
    private final ProgressBar bar;

    TerminalProgressView(String task, long total, PrintStream out) {
        bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(out)).setUpdateIntervalMillis(250).build();
    }

    @Override
    public void accept(ProgressStatus s) {
        bar.stepTo(s.step());
        bar.setExtraMessage(Double.isNaN(s.loss()) ? ""
                : String.format(Locale.ROOT, "loss %.4f, %,.0f tok/s", s.loss(), s.tokensPerSecond()));
    }

    @Override
    public void close() {
        bar.close();
    }
}
