package org.distillery.util;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The reason of an I/O error for a one-line message that already names the file ({@code "cannot read FILE: " +
 * reason(e)}): {@code no such file}, {@code permission denied}, or the system's reason ({@code Is a directory}).
 * {@link FileSystemException#getMessage()} repeats the path, which the message has already given.
 */
public final class IoErrors {
    private IoErrors() {}

    /** The reason of {@code e}, without the path. */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof DirectoryNotEmptyException) return "a folder that is not empty is in the way";
        if (e instanceof FileAlreadyExistsException) return "already exists";
        if (e instanceof NotDirectoryException) return "not a folder";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
