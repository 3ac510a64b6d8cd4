package org.distillery.workshop;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Reading a participant's answer as the kind an exercise expects (a number, n numbers, n flags, labels) and
 * comparing numbers with a tolerance. An answer of another kind raises {@link Mismatch}, which
 * {@link Exercise#check} turns into a "wrong" verdict saying what was expected.
 */
final class Answers {
    private Answers() {}

    /** The answer is not of the kind the exercise expects; the message says what it was. */
    static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message);
        }
    }

    /** The hint for a share of a small perplexity gap computed from rounded values. */
    static final String FULL_PRECISION = "compute it from the points' perplexities (p.perplexity()), not from values rounded for"
            + " display: the gap is small, so rounding moves the share.";

    /** A number (any boxed primitive number). */
    static double number(Object a) {
        if (a instanceof Number n) return n.doubleValue();
        throw new Mismatch("The answer is " + describe(a) + ", not a number.");
    }

    /** A whole number: an integer type, or a floating-point number with no fractional part. */
    static long whole(Object a) {
        double v = number(a);
        if (a instanceof Double || a instanceof Float) {
            if (v != Math.rint(v) || Math.abs(v) > 9.007199254740992E15) {
                throw new Mismatch("The answer is " + describe(a) + ", not a whole number.");
            }
        }
        return a instanceof Double || a instanceof Float ? (long) v : ((Number) a).longValue();
    }

    /** Exactly {@code n} numbers: a double[], float[], int[], long[], Number[] or a List of numbers. */
    static double[] numbers(Object a, int n) {
        double[] out;
        if (a instanceof Collection<?> c) {
            out = new double[c.size()];
            int i = 0;
            for (Object o : c) out[i++] = elementNumber(o, a);
        } else if (a != null && a.getClass().isArray() && !(a instanceof boolean[]) && !(a instanceof char[])) {
            out = new double[Array.getLength(a)];
            for (int i = 0; i < out.length; i++) out[i] = elementNumber(Array.get(a, i), a);
        } else {
            throw new Mismatch("The answer is " + describe(a) + ", not " + n + " numbers.");
        }
        if (out.length != n) throw new Mismatch("The answer has " + out.length + " numbers, not " + n + ".");
        return out;
    }

    /** Exactly {@code n} whole numbers (as {@link #numbers}, each without a fractional part). */
    static long[] wholes(Object a, int n) {
        double[] v = numbers(a, n);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            if (v[i] != Math.rint(v[i])) throw new Mismatch("Value " + i + " of the answer, " + v[i] + ", is not a whole number.");
            out[i] = (long) v[i];
        }
        return out;
    }

    /** Exactly {@code n} true/false flags: a boolean[], Boolean[] or a List of Booleans. */
    static boolean[] flags(Object a, int n) {
        boolean[] out;
        if (a instanceof boolean[] b) {
            out = b.clone();
        } else if (a instanceof Boolean[] || a instanceof Collection<?>) {
            List<?> list = a instanceof Collection<?> c ? new ArrayList<>(c) : Arrays.asList((Object[]) a);
            out = new boolean[list.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(list.get(i) instanceof Boolean f)) {
                    throw new Mismatch("Element " + i + " of the answer is " + describe(list.get(i)) + ", not true/false.");
                }
                out[i] = f;
            }
        } else {
            throw new Mismatch("The answer is " + describe(a) + ", not " + n + " true/false flags.");
        }
        if (out.length != n) throw new Mismatch("The answer has " + out.length + " flags, not " + n + ".");
        return out;
    }

    /** One or more labels: a String, a String[] or a collection of Strings, each trimmed. */
    static List<String> labels(Object a) {
        List<?> list;
        if (a instanceof String s) list = List.of(s);
        else if (a instanceof String[] s) list = Arrays.asList(s);
        else if (a instanceof Collection<?> c) list = new ArrayList<>(c);
        else throw new Mismatch("The answer is " + describe(a) + ", not a String or a list of Strings.");
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof String s)) throw new Mismatch("The answer holds " + describe(o) + ", not only Strings.");
            out.add(s.trim());
        }
        return out;
    }

    /**
     * The elements of a notebook variable that must be a list of {@code type} (the context of an exercise on the
     * notebook's results).
     *
     * @throws IllegalArgumentException naming {@code variable} when an element is of another class
     */
    static <T> List<T> listOf(Object context, Class<T> type, String variable) {
        if (!(context instanceof List<?> list)) {
            throw new IllegalArgumentException(variable + ": must be a List of " + type.getSimpleName() + " but was "
                    + describe(context));
        }
        List<T> out = new ArrayList<>();
        for (Object o : list) {
            if (!type.isInstance(o)) {
                throw new IllegalArgumentException(variable + ": must be a List of " + type.getSimpleName() + " but holds "
                        + describe(o));
            }
            out.add(type.cast(o));
        }
        return out;
    }

    /** Whether |a - ref| &lt;= max(abs, rel |ref|). */
    static boolean close(double a, double ref, double rel, double abs) {
        return Math.abs(a - ref) <= Math.max(abs, rel * Math.abs(ref));
    }

    /** Whether every element is {@link #close}. */
    static boolean close(double[] a, double[] ref, double rel, double abs) {
        if (a.length != ref.length) return false;
        for (int i = 0; i < a.length; i++) if (!close(a[i], ref[i], rel, abs)) return false;
        return true;
    }

    /** The first index where the two differ beyond the tolerance, or -1. */
    static int firstDifference(double[] a, double[] ref, double rel, double abs) {
        for (int i = 0; i < a.length; i++) if (!close(a[i], ref[i], rel, abs)) return i;
        return -1;
    }

    /** A number for messages: at most 12 significant digits, no trailing zeros. */
    static String show(double v) {
        if (v == 0 || !Double.isFinite(v)) return v == 0 ? "0" : Double.toString(v);
        if (Math.abs(v) < 1e-6 || Math.abs(v) >= 1e12) return String.format(Locale.ROOT, "%.6e", v);
        return new java.math.BigDecimal(v).round(new java.math.MathContext(12)).stripTrailingZeros().toPlainString();
    }

    /** A float for messages, as Java prints it (shortest digits that identify the float). */
    static String showFloat(double v) {
        return Float.toString((float) v);
    }

    /** Numbers for messages: {@code [0.25, 0.5]}. */
    static String show(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ", ").append(show(v[i]));
        return sb.append(']').toString();
    }

    /** Flags for messages: {@code [true, false]}. */
    static String show(boolean[] v) {
        return Arrays.toString(v);
    }

    /** "a String \"abc\"", "a double[3]", "an Integer 3", "null". */
    static String describe(Object a) {
        if (a == null) return "null";
        Class<?> c = a.getClass();
        if (c.isArray()) return article(c.getComponentType().getSimpleName()) + "[" + Array.getLength(a) + "]";
        if (a instanceof String s) return "a String \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        return article(c.getSimpleName()) + (a instanceof Number || a instanceof Boolean ? " " + a : "");
    }

    /** "an int", "a double", "an Integer". */
    private static String article(String name) {
        return ("aeiouAEIOU".indexOf(name.isEmpty() ? 'x' : name.charAt(0)) >= 0 ? "an " : "a ") + name;
    }

    private static double elementNumber(Object o, Object whole) {
        if (o instanceof Number n) return n.doubleValue();
        throw new Mismatch("The answer (" + describe(whole) + ") holds " + describe(o) + ", not only numbers.");
    }
}
