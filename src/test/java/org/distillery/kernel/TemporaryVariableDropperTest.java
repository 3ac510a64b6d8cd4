package org.distillery.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.VarSnippet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TemporaryVariableDropperTest {
    private ClassLoader previous;
    private JShell shell;

    @BeforeEach
    void open() {
        previous = Thread.currentThread().getContextClassLoader();   // the local engine replaces it
        shell = JShell.builder().executionEngine("local").build();
    }

    @AfterEach
    void close() {
        shell.close();
        Thread.currentThread().setContextClassLoader(previous);
    }

    /** The event of the snippet {@code code} itself (not of the dropper's drop, nor of dependents). */
    private SnippetEvent eval(String code) {
        List<SnippetEvent> events = shell.eval(code);
        SnippetEvent own = events.stream().filter(e -> e.causeSnippet() == null).findFirst().orElseThrow();
        assertNull(own.exception(), code + " threw");
        return own;
    }

    private List<String> activeVariables() {
        return shell.variables().map(VarSnippet::name).sorted().collect(Collectors.toList());
    }

    /** The wrapper source JShell compiles for a snippet: it holds one static import per active variable. */
    private static String wrapper(JShell shell, String code) {
        return shell.sourceCodeAnalysis().wrappers(code).get(0).wrapped();
    }

    @Test
    void withoutTheDropperEveryShownValueStaysAnActiveVariableAndEveryWrapperImportsThemAll() {
        for (int i = 0; i < 5; i++) eval("1 + " + i);
        assertEquals(List.of("$1", "$2", "$3", "$4", "$5"), activeVariables());
        String w = wrapper(shell, "int y = 1;");
        for (int i = 1; i <= 5; i++) assertTrue(w.contains(".$" + i + ";"), "imports $" + i + ": " + w);
    }

    @Test
    void valuesAreStillShownButNoTemporaryVariableStaysActive() {
        TemporaryVariableDropper dropper = TemporaryVariableDropper.install(shell);
        String before = wrapper(shell, "int y = 1;");
        for (int i = 0; i < 5; i++) {
            SnippetEvent e = eval("40 + " + i);
            assertEquals(String.valueOf(40 + i), e.value(), "the value a cell shows");
            assertEquals(Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND, e.snippet().subKind());
            assertEquals(Snippet.Status.DROPPED, shell.status(e.snippet()));
        }
        assertEquals(5, dropper.dropped());
        assertEquals(List.of(), activeVariables());
        assertEquals(before, wrapper(shell, "int y = 1;"), "the wrapper does not grow");
        assertTrue(!before.contains("import static REPL"), before);
    }

    @Test
    void declaredVariablesMethodsAndStatementsAreKept() {
        TemporaryVariableDropper dropper = TemporaryVariableDropper.install(shell);
        eval("int x = 3;");
        eval("int twice(int a) { return 2 * a; }");
        eval("x = twice(x);");                     // an assignment: no temporary variable
        eval("var list = new java.util.ArrayList<Integer>();");
        eval("list.add(x);");                       // an expression with a value: a temporary variable, dropped
        SnippetEvent shown = eval("x");              // a variable's own value: no temporary variable
        assertEquals("6", shown.value());
        assertEquals(Snippet.SubKind.VAR_VALUE_SUBKIND, shown.snippet().subKind());
        eval("int z = x + 1;");
        assertEquals(List.of("list", "x", "z"), activeVariables());
        assertEquals("7", eval("z").value());
        assertEquals("[6]", eval("list").value());
        assertEquals(1, shell.methods().count());
        assertEquals(1, dropper.dropped(), "only list.add(x) made a temporary variable");
    }

    @Test
    void aDroppedVariableCanNoLongerBeNamedAndAnExpressionThatThrowsIsDroppedToo() {
        TemporaryVariableDropper dropper = TemporaryVariableDropper.install(shell);
        eval("\"abc\".length()");
        SnippetEvent later = shell.eval("$1 + 1").get(0);
        assertEquals(Snippet.Status.REJECTED, later.status(), "$1 was dropped");
        SnippetEvent thrown = shell.eval("java.util.List.of().get(0)").stream()
                .filter(e -> e.causeSnippet() == null).findFirst().orElseThrow();
        assertNotNull(thrown.exception());
        assertEquals(Snippet.Status.DROPPED, shell.status(thrown.snippet()));
        assertEquals(2, dropper.dropped());
        assertEquals(List.of(), activeVariables());
    }

    @Test
    void aNullShellIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TemporaryVariableDropper.install(null));
        assertTrue(e.getMessage().contains("shell"), e.getMessage());
    }
}
