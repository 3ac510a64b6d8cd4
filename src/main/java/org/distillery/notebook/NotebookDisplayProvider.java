package org.distillery.notebook;

import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import org.rapaio.jupyter.kernel.display.DisplayData;
import org.rapaio.jupyter.kernel.display.DisplayRenderer;
import org.rapaio.jupyter.kernel.display.DisplayTransformer;
import org.rapaio.jupyter.kernel.display.spi.DisplayProvider;
import tech.tablesaw.api.Table;

/**
 * Found by rapaio-jupyter-kernel through {@link java.util.ServiceLoader} (see
 * {@code META-INF/services}): how a cell's last value is shown.
 * <ul>
 *   <li>a Tablesaw {@link Table}: an HTML table, with a plain-text fallback (rather than its toString()
 *       sent as HTML, which garbles it);</li>
 *   <li>strings, numbers, booleans and enum constants ending a cell: plain text (the kernel's default
 *       would send them as HTML, so a {@code "<"} in a string disappears). An explicit
 *       {@code display("text/html", html)} still shows HTML: these renderers claim only a cell's bare
 *       value (no MIME type asked) or {@code text/plain}.</li>
 * </ul>
 */
public class NotebookDisplayProvider implements DisplayProvider {
    /** Rows shown in a notebook before "N more rows". */
    static final int MAX_ROWS = 60;

    @Override
    public List<DisplayRenderer> getDisplayRenderers() {
        return List.of(
                renderer(Table.class, ANY, t -> {
                    DisplayData dd = DisplayData.fromHtml(Notebook.html(t, MAX_ROWS));
                    dd.putText(t.print(MAX_ROWS));
                    return dd;
                }),
                renderer(CharSequence.class, PLAIN, s -> DisplayData.fromText(s.toString())),
                renderer(Number.class, PLAIN, n -> DisplayData.fromText(n.toString())),
                renderer(Boolean.class, PLAIN, b -> DisplayData.fromText(b.toString())),
                renderer(Enum.class, PLAIN, e -> DisplayData.fromText(e.toString())));
    }

    @Override
    public List<DisplayTransformer> getDisplayTransformers() {
        return List.of();
    }

    /** Any MIME type (a Table is shown as HTML with a text fallback whatever is asked). */
    private static final Predicate<String> ANY = mime -> true;
    /** A cell's bare value (no MIME type asked) or text/plain. */
    private static final Predicate<String> PLAIN = mime -> mime == null || mime.startsWith("text/plain");

    private static <T> DisplayRenderer renderer(Class<T> type, Predicate<String> mimes,
                                                Function<T, DisplayData> render) {
        return new DisplayRenderer() {
            @Override
            public Class<?> rendererClass() {
                return type;
            }

            @Override
            public boolean canRender(String mime) {
                return mimes.test(mime);
            }

            @Override
            public DisplayData render(String mime, Object o) {
                return render.apply(type.cast(o));
            }
        };
    }
}
