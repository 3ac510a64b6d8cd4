package org.distillery.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rapaio.jupyter.kernel.display.DisplayRenderer;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Table;

class NotebookDisplayProviderTest {
    private static DisplayRenderer rendererFor(Class<?> type) {
        return new NotebookDisplayProvider().getDisplayRenderers().stream()
                .filter(r -> r.rendererClass() == type).findFirst().orElseThrow();
    }

    @Test
    void aBareStringIsPlainTextButAnExplicitHtmlDisplayIsLeftToTheKernel() {
        DisplayRenderer strings = rendererFor(CharSequence.class);
        assertTrue(strings.canRender(null), "a cell's bare value");
        assertTrue(strings.canRender("text/plain"));
        assertFalse(strings.canRender("text/html"), "display(\"text/html\", s) must stay HTML");
        assertEquals(Map.of("text/plain", "a <b>"), strings.render(null, "a <b>").data());
    }

    @Test
    void aTableIsAnHtmlTableWithATextFallback() {
        Table t = Table.create("t").addColumns(IntColumn.create("n", 1));
        Map<String, Object> data = rendererFor(Table.class).render(null, t).data();
        assertEquals(Notebook.html(t, NotebookDisplayProvider.MAX_ROWS), data.get("text/html"));
        assertEquals(t.print(NotebookDisplayProvider.MAX_ROWS), data.get("text/plain"));
    }
}
