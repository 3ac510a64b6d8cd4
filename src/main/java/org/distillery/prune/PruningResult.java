package org.distillery.prune;

import java.util.List;

/**
 * What a whole-model unstructured or N:M pruning run did.
 *
 * @param mask   the mask it applied (true = kept), by weight name
 * @param layers one report row per pruned layer, in order
 */
public record PruningResult(PruningMask mask, List<PrunedLayer> layers) {
    public PruningResult {
        if (mask == null || layers == null) throw new IllegalArgumentException("mask, layers: must not be null");
        layers = List.copyOf(layers);
    }
}
