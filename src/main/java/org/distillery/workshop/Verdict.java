package org.distillery.workshop;

/**
 * What the checker says about one answer.
 *
 * @param exercise the exercise id, e.g. {@code "20.2"}
 * @param status   correct, wrong or not attempted
 * @param message  what was checked and, when wrong, why and a hint
 */
public record Verdict(String exercise, Status status, String message) {
    /** The three outcomes. */
    public enum Status {
        CORRECT("correct"),
        WRONG("wrong"),
        /** The answer is still {@code null}: the attempt cell has not been filled in. */
        NOT_ATTEMPTED("not attempted yet");

        private final String label;

        Status(String label) {
            this.label = label;
        }

        /** "correct", "wrong", "not attempted yet". */
        public String label() {
            return label;
        }
    }

    public Verdict {
        if (exercise == null || status == null || message == null) {
            throw new IllegalArgumentException("exercise, status, message: must not be null");
        }
    }

    /** One line for the notebook: {@code Exercise 20.2: correct. ...}. */
    public String line() {
        return "Exercise " + exercise + ": " + status.label() + ". " + message;
    }

    @Override
    public String toString() {
        return line();
    }
}
