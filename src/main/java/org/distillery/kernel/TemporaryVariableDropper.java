package org.distillery.kernel;

import java.util.function.Consumer;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;

/**
 * Drops each JShell temporary variable ({@code $1}, {@code $2}, ...) as soon as it is created, so that a long notebook
 * session does not carry every cell value it ever showed.
 *
 * <p>Why: JShell stores the value of every expression whose value is not assigned (a cell's last line, or a call like
 * {@code trainer.run();} that returns something) in a new temporary variable. Those names are never reused, so the
 * variables stay active for ever, and JShell puts one {@code import static REPL.$JShell$K.$N;} line per active
 * variable into the wrapper source of every later snippet, which it keeps (twice) with that snippet. The wrapper of
 * snippet {@code n} thus grows with {@code n} and the memory JShell keeps grows with the square of the snippets run:
 * 0.28 MB a pass, and rising, for the endurance notebook (README, Endurance). A dropped variable is no longer active:
 * it leaves the imports, so every wrapper stays the same size.
 *
 * <p>The value a cell shows is unaffected: the kernel takes it from the snippet's evaluation result, not from the
 * variable. What is lost is the JShell-only way to refer to an earlier value as {@code $N} (Jupyter does not show
 * these names). Variables the user declares, methods, classes and imports are never touched.
 *
 * <p>The drop happens in the snippet-event listener, which JShell calls after the evaluation that created the
 * variable has finished, on the evaluating thread.
 */
public final class TemporaryVariableDropper implements Consumer<SnippetEvent> {
    private final JShell shell;
    private long dropped;

    private TemporaryVariableDropper(JShell shell) {
        this.shell = shell;
    }

    /**
     * Registers a dropper on {@code shell}: from now on every temporary variable it creates is dropped.
     *
     * @return the registered listener (see {@link #dropped()})
     */
    public static TemporaryVariableDropper install(JShell shell) {
        if (shell == null) {
            throw new IllegalArgumentException("shell is null: a JShell instance is required");
        }
        TemporaryVariableDropper dropper = new TemporaryVariableDropper(shell);
        shell.onSnippetEvent(dropper);
        return dropper;
    }

    /** Whether {@code e} announces a newly created, active temporary variable. */
    static boolean createsTemporaryVariable(SnippetEvent e) {
        return e.snippet().subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND
                && e.causeSnippet() == null
                && e.status().isActive()
                && !e.previousStatus().isActive();
    }

    @Override
    public void accept(SnippetEvent e) {
        if (createsTemporaryVariable(e)) {
            shell.drop(e.snippet());    // notifies this listener again with status DROPPED, which is ignored
            dropped++;
        }
    }

    /** The number of temporary variables dropped so far. */
    public long dropped() {
        return dropped;
    }
}
