package org.distillery.workshop;

import java.util.HashMap;
import java.util.Map;

/**
 * The objects a test hands to the notebook code it runs in {@link JShellSession}: a snippet reads one with
 * {@code (Type) org.distillery.workshop.NotebookContext.get("points")}. Public, because JShell's snippets live
 * outside this package.
 */
public final class NotebookContext {
    private static final Map<String, Object> VALUES = new HashMap<>();

    private NotebookContext() {}

    static synchronized void put(String name, Object value) {
        VALUES.put(name, value);
    }

    /** The object put under {@code name}; an error when there is none. */
    public static synchronized Object get(String name) {
        if (!VALUES.containsKey(name)) throw new IllegalArgumentException("no notebook context '" + name + "'");
        return VALUES.get(name);
    }
}
