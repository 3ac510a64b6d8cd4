package org.distillery.train;

import java.util.function.Consumer;
import org.rapaio.jupyter.kernel.global.Global;

/**
 * The notebook display of {@link TrainingProgress}: one HTML output, shown on the first status and
 * rewritten in place on each later one (Jupyter's update_display_data). Loaded only inside the
 * rapaio kernel (by name, from {@link TrainingProgress#start}), where the kernel classes exist.
 */
public final class NotebookProgressView implements Consumer<ProgressStatus> {
    private String displayId;

    @Override
    public void accept(ProgressStatus s) {
        if (displayId == null) {
            displayId = Global.display("text/html", s.html());
        } else {
            Global.updateDisplay(displayId, "text/html", s.html());
        }
    }
}
