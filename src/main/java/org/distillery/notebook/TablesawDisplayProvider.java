package org.distillery.notebook;

import java.util.List;
import org.rapaio.jupyter.kernel.display.DisplayData;
import org.rapaio.jupyter.kernel.display.DisplayRenderer;
import org.rapaio.jupyter.kernel.display.DisplayTransformer;
import org.rapaio.jupyter.kernel.display.spi.DisplayProvider;
import tech.tablesaw.api.Table;

/**
 * Found by rapaio-jupyter-kernel through {@link java.util.ServiceLoader}: a cell ending in a Tablesaw
 * {@link Table} shows an HTML table (with a plain-text fallback) instead of its garbled toString().
 */
public class TablesawDisplayProvider implements DisplayProvider {
    /** Rows shown in a notebook before "N more rows". */
    static final int MAX_ROWS = 60;

    @Override
    public List<DisplayRenderer> getDisplayRenderers() {
        return List.of(new DisplayRenderer() {
            @Override
            public Class<?> rendererClass() {
                return Table.class;
            }

            @Override
            public boolean canRender(String mime) {
                return mime == null || mime.contains("html") || mime.contains("text");
            }

            @Override
            public DisplayData render(String mime, Object o) {
                Table t = (Table) o;
                DisplayData dd = DisplayData.fromHtml(Notebook.html(t, MAX_ROWS));
                dd.putText(t.print(MAX_ROWS));
                return dd;
            }
        });
    }

    @Override
    public List<DisplayTransformer> getDisplayTransformers() {
        return List.of();
    }
}
