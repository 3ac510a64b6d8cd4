package org.distillery.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.junit.jupiter.api.Test;

/** {@link NmPattern} (parsing, selection, checks), {@link Ranking} ties and {@link PruningMask} bookkeeping. */
class NmPatternAndMaskTest {

    @Test
    void parsesAndValidatesPatterns() {
        assertEquals(new NmPattern(2, 4), NmPattern.parse("2:4"));
        assertEquals(new NmPattern(1, 8), NmPattern.parse(" 1 : 8 "));
        assertEquals(0.5, NmPattern.TWO_FOUR.sparsity(), 0.0);
        assertEquals(0.875, new NmPattern(1, 8).sparsity(), 0.0);
        assertEquals("2:4", NmPattern.TWO_FOUR.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NmPattern.parse("4:4"));
        assertEquals("pattern 4:4: N = 4 must be in [1, M = 4) (N weights kept of every M, e.g. 2:4)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NmPattern.parse("2-4"));
        assertEquals("pattern 2-4 is not N:M (e.g. 2:4)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NmPattern.TWO_FOUR.checkWidth(30, "h.0.mlp.c_fc.weight"));
        assertEquals("pattern 2:4: M = 4 does not divide the input width 30 of layer h.0.mlp.c_fc.weight; M must divide"
                + " every layer's input width", e.getMessage());
    }

    @Test
    void selectKeepsTheNLargestOfEveryMAlongTheInputDimension() {
        // 2 rows x 8 columns; groups of 4 along each row
        double[] s = {1, 5, 3, 2,   9, 8, 7, 6,
                      4, 4, 4, 4,   0, 1, 0, 2};
        boolean[] keep = NmPattern.TWO_FOUR.select(s, 2, 8);
        assertArrayEquals(new boolean[] {false, true, true, false,  true, true, false, false,
                                         false, false, true, true,  false, true, false, true}, keep,
                "ties: the lower columns are pruned first");
        float[] w = {0, 1, 1, 0, 1, 1, 0, 0,  0, 0, 1, 1, 0, 1, 0, 1};
        assertTrue(NmPattern.TWO_FOUR.holds(w, 2, 8));
        w[0] = 3;
        assertFalse(NmPattern.TWO_FOUR.holds(w, 2, 8));
    }

    @Test
    void rankingPrunesExactlyKWithTiesByIndex() {
        double[] s = {3, 1, 2, 1, 1, 5};
        boolean[] keep = new boolean[6];
        Arrays.fill(keep, true);
        Ranking.pruneSmallest(s, 0, 6, 2, keep);
        assertArrayEquals(new boolean[] {true, false, true, false, true, true}, keep);
        Arrays.fill(keep, true);
        Ranking.pruneSmallest(s, 1, 5, 3, keep);                  // range [1, 5): 1, 2, 1, 1 -> the three 1s
        assertArrayEquals(new boolean[] {true, false, true, false, false, true}, keep);
        Arrays.fill(keep, true);
        Ranking.pruneSmallest(s, 0, 6, 0, keep);
        assertArrayEquals(new boolean[] {true, true, true, true, true, true}, keep);
    }

    @Test
    void maskAppliesCountsAndMasksGradients() {
        FloatTensor w = FloatTensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        FloatTensor g = FloatTensor.of(new double[] {1, 1, 1, 1, 1, 1}, 2, 3);
        PruningMask m = new PruningMask().put("a.weight", 2, 3, new boolean[] {true, false, true, false, false, true});
        assertEquals(3, m.pruned());
        assertEquals(6, m.total());
        assertEquals(0.5, m.sparsity(), 0.0);
        assertEquals(Map.of("a.weight", 0.5), m.layerSparsity());
        assertFalse(m.holdsIn(Map.of("a.weight", w)));
        m.apply(Map.of("a.weight", w));
        m.maskGradients(Map.of("a.weight", g));
        assertArrayEquals(new float[] {1, 0, 3, 0, 0, 6}, w.toFloatArray());
        assertArrayEquals(new float[] {1, 0, 1, 0, 0, 1}, g.toFloatArray());
        assertTrue(m.holdsIn(Map.of("a.weight", w)));
        PruningMask z = PruningMask.ofNonzeros(Map.of("a.weight", w), List.of("a.weight"));
        assertArrayEquals(m.keep("a.weight"), z.keep("a.weight"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PruningMask().put("b", 2, 2, new boolean[3]));
        assertEquals("keep: need [2, 2] = 4 flags for b; got 3", e.getMessage());
    }
}
