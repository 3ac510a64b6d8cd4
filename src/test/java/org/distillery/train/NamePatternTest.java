package org.distillery.train;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** NamePattern against a regular-expression twin, the examples of its documentation, and every refusal. */
class NamePatternTest {
    private static final List<String> NAMES = List.of("wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias",
            "h.0.attn.c_attn.weight", "h.0.attn.c_proj.weight", "h.1.attn.c_proj.bias", "h.10.mlp.c_fc.weight",
            "h.1.mlp.c_proj.weight", "ln_f.weight", "ln_f.bias", "score.weight", "", "hh", "h..0");

    /** The same language written as a regex (the twin): literal parts quoted, '*' as '.*', find semantics. */
    private static boolean twin(String pattern, String name) {
        if (pattern.isEmpty()) return false;
        for (String alt : pattern.split("\\|", -1)) {
            boolean start = alt.startsWith("^"), end = alt.endsWith("$") && alt.length() > (start ? 1 : 0);
            String body = alt.substring(start ? 1 : 0, alt.length() - (end ? 1 : 0));
            StringBuilder re = new StringBuilder(start ? "^" : "");
            for (String part : body.split("\\*", -1)) re.append(Pattern.quote(part)).append(".*");
            re.setLength(re.length() - 2);
            if (end) re.append("$");
            if (Pattern.compile(re.toString(), Pattern.DOTALL).matcher(name).find()) return true;
        }
        return false;
    }

    @Test
    void theDocumentedExamples() {
        NamePattern ln = NamePattern.parse("ln_", "p");
        assertTrue(ln.test("h.0.ln_1.weight") && ln.test("ln_f.bias"));
        assertFalse(ln.test("h.0.attn.c_attn.weight"));
        NamePattern block0 = NamePattern.parse("^h.0.", "p");
        assertTrue(block0.test("h.0.ln_1.weight"));
        assertFalse(block0.test("h.10.mlp.c_fc.weight"), "'.' is a literal dot, not any character");
        assertFalse(block0.test("xh.0.ln_1.weight"));
        NamePattern mix = NamePattern.parse("^h.*.attn.c_proj.weight$|wte", "p");
        assertTrue(mix.test("h.0.attn.c_proj.weight") && mix.test("wte.weight"));
        assertFalse(mix.test("h.1.attn.c_proj.bias"));
        assertFalse(NamePattern.parse("", "p").test(""), "the empty pattern matches nothing");
        assertTrue(NamePattern.parse("*", "p").test(""));
    }

    @Test
    void agreesWithTheRegexTwinOnRandomPatterns() {
        Random r = new Random(7);
        String alphabet = "h.0_1wlnatcpr*";
        int checked = 0;
        for (int k = 0; k < 4000; k++) {
            StringBuilder p = new StringBuilder();
            int alts = 1 + r.nextInt(3);
            for (int a = 0; a < alts; a++) {
                if (a > 0) p.append('|');
                if (r.nextInt(3) == 0) p.append('^');
                int len = 1 + r.nextInt(6);
                for (int i = 0; i < len; i++) p.append(alphabet.charAt(r.nextInt(alphabet.length())));
                if (r.nextInt(3) == 0) p.append('$');
            }
            NamePattern np = NamePattern.parse(p.toString(), "p");
            for (String name : NAMES) {
                assertEquals(twin(p.toString(), name), np.test(name), () -> "pattern '" + p + "' on '" + name + "'");
                checked++;
            }
        }
        assertEquals(4000 * NAMES.size(), checked);
    }

    @Test
    void aPatternThatWouldBacktrackForEverAsARegexIsLinearHere() {
        // as a regex, (a*)*b style nesting is not expressible; many stars against a long non-matching name is the
        // matcher's worst case, which stays (name + 1) x (pattern + 1) steps: this returns at once
        String name = "a".repeat(5000);
        assertFalse(NamePattern.parse("^" + "a*".repeat(200) + "b$", "p").test(name));
        assertTrue(NamePattern.parse("^" + "a*".repeat(200) + "a$", "p").test(name));
    }

    @Test
    void refusesRegexSyntaxAndEmptyAlternativesNamingTheArgument() {
        String accepted = "; accepted: parameter names separated by '|', '*' for any characters, '^' / '$' to anchor at the"
                + " start / end (e.g. '^h.0.|ln_'), not a regular expression";
        assertEquals("freezePattern: 'h.(0' has '(' at 2" + accepted,
                assertThrows(IllegalArgumentException.class, () -> NamePattern.parse("h.(0", "freezePattern")).getMessage());
        assertEquals("freezePattern: '^wte\\.' has '\\' at 4" + accepted,
                assertThrows(IllegalArgumentException.class, () -> NamePattern.parse("^wte\\.", "freezePattern")).getMessage());
        assertEquals("p: 'a\\u0000' has '\\u0000' at 1" + accepted,
                assertThrows(IllegalArgumentException.class, () -> NamePattern.parse("a\0", "p")).getMessage());
        for (String bad : List.of("a||b", "|", "a|", "^", "$", "^$", "a^b", "a$b")) {
            String alt = bad.contains("||") ? "" : bad.equals("|") || bad.equals("a|") ? "" : bad;
            assertEquals("p: '" + bad + "' has the alternative '" + alt + "'; each alternative between '|' needs a name,"
                    + " with '^' only at its start and '$' only at its end",
                    assertThrows(IllegalArgumentException.class, () -> NamePattern.parse(bad, "p")).getMessage(), bad);
        }
        assertEquals("p: must not be null (\"\" matches nothing)",
                assertThrows(IllegalArgumentException.class, () -> NamePattern.parse(null, "p")).getMessage());
    }
}
