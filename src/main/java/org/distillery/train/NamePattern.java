package org.distillery.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Which parameters a training run freezes, by name: alternatives separated by {@code |}, each a name in which
 * {@code *} stands for any run of characters (also none) and every other character for itself ({@code .} included);
 * an alternative is found anywhere in a name unless it starts with {@code ^} (then at the name's start) or ends with
 * {@code $} (then at its end). Examples: {@code ln_} (every LayerNorm), {@code ^h.0.} (block 0),
 * {@code ^h.*.attn.c_proj.weight$|wte} (every attention output weight and the token embedding). The empty pattern
 * matches nothing.
 *
 * <p>Not a regular expression on purpose: a run file may come from anywhere, and a regex can take exponential time
 * to match (catastrophic backtracking) or fail to compile; this matcher takes at most (name length + 1) x
 * (alternative length + 1) steps per alternative. Regex syntax ({@code ( ) [ ] { } + ? \}) is refused with a message
 * saying what is accepted.
 */
public final class NamePattern implements Predicate<String> {
    private static final String REGEX_ONLY = "()[]{}+?\\";

    private final String text;
    private final List<String> globs;              // each anchored at both ends ("*" added where the text was not)

    private NamePattern(String text, List<String> globs) {
        this.text = text;
        this.globs = globs;
    }

    /**
     * Parses a pattern.
     *
     * @param argument the name of the argument, for messages (e.g. {@code "freezePattern"})
     * @throws IllegalArgumentException naming the argument, the pattern and what is accepted
     */
    public static NamePattern parse(String pattern, String argument) {
        if (pattern == null) throw new IllegalArgumentException(argument + ": must not be null (\"\" matches nothing)");
        List<String> globs = new ArrayList<>();
        if (pattern.isEmpty()) return new NamePattern(pattern, globs);
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (REGEX_ONLY.indexOf(c) >= 0 || Character.isISOControl(c)) {
                throw new IllegalArgumentException(argument + ": '" + printable(pattern) + "' has '" + printable(String.valueOf(c))
                        + "' at " + i + "; accepted: parameter names separated by '|', '*' for any characters, '^' / '$' to"
                        + " anchor at the start / end (e.g. '^h.0.|ln_'), not a regular expression");
            }
        }
        for (String alt : pattern.split("\\|", -1)) {
            boolean start = alt.startsWith("^");
            String body = start ? alt.substring(1) : alt;
            boolean end = body.endsWith("$");
            if (end) body = body.substring(0, body.length() - 1);
            if (body.isEmpty() || body.indexOf('^') >= 0 || body.indexOf('$') >= 0) {
                throw new IllegalArgumentException(argument + ": '" + printable(pattern) + "' has the alternative '"
                        + printable(alt) + "'; each alternative between '|' needs a name, with '^' only at its start and '$'"
                        + " only at its end");
            }
            globs.add((start ? "" : "*") + body + (end ? "" : "*"));
        }
        return new NamePattern(pattern, List.copyOf(globs));
    }

    /** Whether some alternative matches {@code name}. */
    @Override
    public boolean test(String name) {
        for (String g : globs) if (matchesWhole(g, name)) return true;
        return false;
    }

    /** The pattern as given. */
    public String text() { return text; }

    @Override
    public String toString() { return text; }

    /**
     * Whether {@code glob} ({@code *} = any run) matches all of {@code s}: the greedy two-pointer wildcard match,
     * going back only to the last {@code *} seen, so it is linear in each pointer's moves.
     */
    static boolean matchesWhole(String glob, String s) {
        int g = 0, i = 0, star = -1, resume = 0;
        while (i < s.length()) {
            if (g < glob.length() && glob.charAt(g) != '*' && glob.charAt(g) == s.charAt(i)) {
                g++;
                i++;
            } else if (g < glob.length() && glob.charAt(g) == '*') {
                star = g++;
                resume = i;
            } else if (star >= 0) {
                g = star + 1;
                i = ++resume;
            } else {
                return false;
            }
        }
        while (g < glob.length() && glob.charAt(g) == '*') g++;
        return g == glob.length();
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (Character.isISOControl(c)) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.length() > 200 ? b.substring(0, 200) + "..." : b.toString();
    }
}
