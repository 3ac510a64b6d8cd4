/*
 * Distillery's replacement for rapaio-jupyter-kernel 3.0.1's LoopThread (same package, name and public
 * API), placed before the kernel jar on the kernel's classpath by target/jupyter/kernels/distillery.
 *
 * Why: in 3.0.1, start() calls Thread.start() and only then sets the running flag. When the new thread
 * reaches its loop condition first it sees running == false and exits at once; if that thread is the
 * shell channel's, the kernel never answers kernel_info_request and every client waits for ever (about
 * one kernel start in ten on a 2-core machine). Here the flag is set before the thread starts.
 * Written for this project from the observed behaviour and the 3.0.1 bytecode's public signatures.
 */
package org.rapaio.jupyter.kernel.channels;

/** A thread that runs {@code body} repeatedly, sleeping {@code sleepMillis} between runs, until shut down. */
public final class LoopThread extends Thread {
    private volatile boolean running;
    private final long sleepMillis;
    private final Runnable body;

    public LoopThread(String name, long sleepMillis, Runnable body) {
        super(name);
        this.sleepMillis = sleepMillis;
        this.body = body;
    }

    @Override
    public void run() {
        while (running) {
            body.run();
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                running = false;
                return;
            }
        }
    }

    @Override
    public synchronized void start() {
        running = true; // before the thread exists, so its first loop test cannot miss it
        super.start();
    }

    public void shutdown() {
        running = false;
    }
}
