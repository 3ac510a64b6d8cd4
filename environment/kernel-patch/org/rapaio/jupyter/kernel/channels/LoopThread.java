/*
 * Distillery's replacement for rapaio-jupyter-kernel 3.0.1's LoopThread (same package, name and public
 * API), placed before the kernel jar on the kernel's classpath by target/jupyter/kernels/distillery.
 *
 * Why: two start-up races in 3.0.1 leave the kernel silent, so that every client waits for ever:
 * 1. start() calls Thread.start() and only then sets the running flag. When the new thread reaches its
 *    loop condition first it sees running == false and exits at once; if that thread is the shell
 *    channel's, kernel_info_request is never answered. Here the flag is set before the thread starts.
 * 2. The channels are bound and their loops started before the kernel has registered its message
 *    handlers: a kernel_info_request arriving in that window throws a NullPointerException in the
 *    shell loop's body, which ended the thread. Here an exception in one pass of the body is reported
 *    and the loop goes on; the message is lost, and Jupyter clients re-send kernel_info_request every
 *    second until they get an answer.
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
            try {
                body.run();
            } catch (RuntimeException e) {
                System.err.println(getName() + ": message dropped (" + e + "); the loop goes on");
            }
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
