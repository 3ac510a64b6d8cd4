package org.distillery.data;

/**
 * The one exception the dataset loaders throw: a shipped file is missing, fails its checksum, or
 * is malformed. Messages are single lines that name the file and say what to do about it.
 */
public class DatasetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error with a one-line message. */
    public DatasetException(String message) {
        super(message);
    }

    /** An error with a one-line message and the underlying cause. */
    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
