package org.distillery.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.Collectors;
import jdk.jshell.JShell;
import jdk.jshell.VarSnippet;
import org.junit.jupiter.api.Test;
import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.core.RapaioKernel;

/**
 * The launcher against the real rapaio-jupyter-kernel (the version the pom names): its kernel instance exposes the
 * JShell it evaluates cells with, and cells evaluated by the kernel leave no temporary variable behind while their
 * values are still returned. Fails when a kernel version stops exposing the JShell or evaluates elsewhere.
 */
class KernelLauncherTest {
    @Test
    void theKernelsOwnJShellGetsTheDropperAndCellValuesAreStillReturned() throws Exception {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try {
            RapaioKernel kernel = MainApp.kernel;
            JShell shell = kernel.javaEngine().getShell();
            TemporaryVariableDropper dropper = KernelLauncher.prepare(kernel);
            long before = dropper.dropped();
            assertEquals(3, kernel.javaEngine().eval(kernel.executionContext(), "1 + 2"));
            assertEquals("ab", kernel.javaEngine().eval(kernel.executionContext(), "int n = 2;\n\"a\" + \"b\""));
            assertEquals(2, dropper.dropped() - before);
            List<String> active = shell.variables().map(VarSnippet::name).collect(Collectors.toList());
            assertEquals(List.of("n"), active);
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }
}
