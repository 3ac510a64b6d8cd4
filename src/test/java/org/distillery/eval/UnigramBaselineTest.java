package org.distillery.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class UnigramBaselineTest {
    @Test
    void matchesTheClosedForm() {
        // counts 0:2, 1:1, 2:0; N = 3, V = 3: p(0) = 3/6, p(1) = 2/6; ppl of [0, 1] = (1/2 * 1/3)^(-1/2) = sqrt 6
        assertEquals(Math.sqrt(6), UnigramBaseline.perplexity(new int[] {0, 0, 1}, new int[] {0, 1}, 3), 1e-12);
        // no training data: uniform, ppl = V
        assertEquals(7.0, UnigramBaseline.perplexity(new int[0], new int[] {1, 2, 3}, 7), 1e-12);
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        assertEquals("eval token id 5 at position 1 is outside [0, 3)", assertThrows(IllegalArgumentException.class,
                () -> UnigramBaseline.perplexity(new int[] {0}, new int[] {0, 5}, 3)).getMessage());
    }
}
