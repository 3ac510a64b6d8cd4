package org.distillery.report;

/**
 * A failure the command line reports as one clear line. {@link #exitCode()} is 2 for a usage error (a bad
 * argument) and 1 for a failure of the work itself (a notebook that fails, a kernel that never starts).
 */
public class LabException extends RuntimeException {
    private final int exitCode;

    public LabException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    /** A bad argument: exit code 2. */
    public static LabException usage(String message) {
        return new LabException(2, message);
    }

    /** The work failed: exit code 1. */
    public static LabException failure(String message) {
        return new LabException(1, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
