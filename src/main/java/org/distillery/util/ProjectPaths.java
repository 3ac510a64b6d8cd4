package org.distillery.util;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the project lives on disk. The launcher and the notebook kernel set {@code DISTILLERY_HOME};
 * otherwise the root is found by walking up from the working directory to the folder holding
 * {@code datasets/} and {@code pom.xml} (so tests run from an IDE or Maven find it too).
 */
public final class ProjectPaths {
    /** Environment variable naming the project root. */
    public static final String HOME_ENV = "DISTILLERY_HOME";

    private ProjectPaths() {}

    /** The project root folder. */
    public static Path root() {
        String env = System.getenv(HOME_ENV);
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env).toAbsolutePath().normalize();
            if (!Files.isDirectory(p)) {
                throw new IllegalStateException(HOME_ENV + "=" + env + " is not a directory");
            }
            return p;
        }
        Path start = Path.of("").toAbsolutePath();
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("datasets"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the Distillery project root from " + start
                + ": set " + HOME_ENV + " to the folder holding pom.xml and datasets/");
    }

    /** The shipped datasets folder, {@code <root>/datasets}. */
    public static Path datasets() {
        return root().resolve("datasets");
    }
}
