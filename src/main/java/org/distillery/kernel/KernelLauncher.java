package org.distillery.kernel;

import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.core.RapaioKernel;

/**
 * The main class of the project's Jupyter kernel (the kernelspec {@code environment/make_kernelspec.py} writes):
 * rapaio-jupyter-kernel's {@link MainApp} with a {@link TemporaryVariableDropper} on its JShell.
 *
 * <p>It runs on the kernel JVM's own class path (copied to {@code target/kernel/launcher}), not on the notebook's
 * class path, which JShell loads in a class loader of its own. It uses only the kernel's public API: the kernel
 * instance {@link MainApp#kernel} (built when {@code MainApp} is initialised, before its {@code main} runs) and its
 * JShell, {@code kernel.javaEngine().getShell()}.
 */
public final class KernelLauncher {
    private KernelLauncher() {}

    /** Installs the dropper on {@code kernel}'s JShell; returns it. */
    static TemporaryVariableDropper prepare(RapaioKernel kernel) {
        return TemporaryVariableDropper.install(kernel.javaEngine().getShell());
    }

    /** Same arguments as {@link MainApp#main}: the Jupyter connection file. */
    public static void main(String[] args) throws Exception {
        prepare(MainApp.kernel);
        MainApp.main(args);
    }
}
