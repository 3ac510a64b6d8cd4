package org.distillery.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

class NotebookTest {
    private static Table sample() {
        return Table.create("formats <demo>").addColumns(
                StringColumn.create("name", "FP16", "a<b & \"c\""),
                DoubleColumn.create("max", 65504.0, 1.5));
    }

    @Test
    void htmlEscapesEveryCellAndTheCaption() {
        String html = Notebook.html(sample(), 10);
        assertEquals("<table class=\"distillery\"><caption>formats &lt;demo&gt;</caption><thead><tr>"
                + "<th>name</th><th>max</th></tr></thead><tbody><tr><td>FP16</td><td>65504</td></tr>"
                + "<tr><td>a&lt;b &amp; &quot;c&quot;</td><td>1.5</td></tr></tbody></table>", html);
    }

    @Test
    void htmlSaysHowManyRowsAreNotShown() {
        assertTrue(Notebook.html(sample(), 1).endsWith("</tbody></table><p>1 more rows</p>"));
    }

    @Test
    void aBlankHeadlineIsRefusedAndNothingWritten() throws java.io.IOException {
        java.nio.file.Path f = Notebook.outputDir().resolve(Notebook.HEADLINE_FILE);
        java.nio.file.Files.deleteIfExists(f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Notebook.headline("  "));
        assertEquals("headline: must be a non-blank sentence but was '  '", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Notebook.headline(null));
        assertEquals("headline: must be a non-blank sentence but was null", e.getMessage());
        assertFalse(java.nio.file.Files.exists(f));
        assertEquals("Ratio 2.5x.", Notebook.headline(" Ratio 2.5x.\n"));
        assertEquals("Ratio 2.5x.\n", java.nio.file.Files.readString(f));
        java.nio.file.Files.delete(f);
    }

    @Test
    void rejectsFileNamesWithFolders() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Notebook.saveCsv(sample(), "../x"));
        assertEquals("file name '../x' is not accepted: use letters, digits, '.', '_' and '-' (no folders)",
                e.getMessage());
    }
}
