package org.distillery.workshop;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import jdk.jshell.Diag;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;

/**
 * Runs notebook cell text as the notebook kernel does (rapaio-jupyter-kernel evaluates cells with JShell): a JShell
 * that executes in this JVM (so snippets see the test's classes and {@link NotebookContext}), compiling against this
 * JVM's class path. A cell is split into snippets the way JShell's own tool splits input; a snippet that does not
 * compile or throws fails with its diagnostics.
 */
final class JShellSession implements AutoCloseable {
    private final JShell shell;
    private final ClassLoader previous;

    JShellSession() {
        previous = Thread.currentThread().getContextClassLoader();   // the local engine replaces it; restored in close()
        shell = JShell.builder().executionEngine("local").build();
        shell.addToClasspath(System.getProperty("java.class.path"));
    }

    /**
     * Evaluates every snippet of {@code source}.
     *
     * @param what names the source in failure messages
     * @return the value of the last snippet that has one (a String value in Java literal form), or null
     */
    String run(String source, String what) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String rest = source;
        String last = null;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(rest);
            if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) break;
            if (!info.completeness().isComplete()) {
                throw new AssertionError(what + ": incomplete snippet: " + rest);
            }
            String snippet = info.source();
            rest = info.remaining();
            for (SnippetEvent e : shell.eval(snippet)) {
                if (e.exception() != null) {
                    throw new AssertionError(what + ": '" + snippet.strip() + "' threw " + e.exception(), e.exception());
                }
                if (e.status() == Snippet.Status.REJECTED || e.status() == Snippet.Status.RECOVERABLE_NOT_DEFINED
                        || e.status() == Snippet.Status.RECOVERABLE_DEFINED) {
                    List<String> diags = new ArrayList<>();
                    for (Diag d : shell.diagnostics(e.snippet()).toList()) diags.add(d.getMessage(Locale.ROOT));
                    throw new AssertionError(what + ": '" + snippet.strip() + "' is " + e.status() + ": " + diags);
                }
                if (e.value() != null && e.causeSnippet() == null) last = e.value();
            }
        }
        return last;
    }

    @Override
    public void close() {
        try {
            shell.close();
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }
}
