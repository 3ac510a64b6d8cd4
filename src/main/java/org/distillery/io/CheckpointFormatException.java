package org.distillery.io;

/**
 * The one exception the checkpoint readers and checks in this package throw for bad input: a malformed
 * safetensors file, a {@code config.json} with a missing or invalid field, or a checkpoint whose tensors do
 * not match its configuration. Messages are single lines that start with the file they are about and name
 * the tensor or field at fault.
 */
public class CheckpointFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a one-line message. */
    public CheckpointFormatException(String message) {
        super(message);
    }

    /** An error with a one-line message and the underlying cause. */
    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
