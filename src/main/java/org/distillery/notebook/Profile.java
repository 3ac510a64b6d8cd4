package org.distillery.notebook;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How much work a notebook or experiment does. {@code QUICK} keeps CI and a laptop workshop fast;
 * {@code FULL} is what the committed reports are made with.
 */
public enum Profile {
    QUICK,
    FULL;

    /** Environment variable the launcher sets for every notebook it executes. */
    public static final String ENV = "DISTILLERY_PROFILE";

    /** Parses {@code quick} or {@code full} (any case); anything else is a clear error. */
    public static Profile parse(String name) {
        if (name != null) {
            for (Profile p : values()) {
                if (p.name().equalsIgnoreCase(name.trim())) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException("unknown profile '" + name + "': expected one of "
                + Arrays.stream(values()).map(Profile::id).collect(Collectors.joining(", ")));
    }

    /** The profile named by {@code DISTILLERY_PROFILE}, or {@code QUICK} when it is not set. */
    public static Profile fromEnvironment() {
        String v = System.getenv(ENV);
        return v == null || v.isBlank() ? QUICK : parse(v);
    }

    /** The lower-case name used on the command line and in reports. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code quick} when this profile is QUICK, else {@code full}: for sizing work in one expression. */
    public <T> T pick(T quick, T full) {
        return this == QUICK ? quick : full;
    }

    public boolean isQuick() {
        return this == QUICK;
    }
}
