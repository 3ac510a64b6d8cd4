package org.distillery.prune;

/**
 * What pruning one linear layer did, a row of the per-layer reports.
 *
 * @param name        parameter name, e.g. {@code h.0.attn.c_attn.weight}
 * @param rows        output rows (out)
 * @param cols        input columns (in)
 * @param pruned      weights pruned by the mask
 * @param sparsity    pruned / (rows * cols)
 * @param outputError the relative layer-output error on the calibration inputs,
 *                    {@code ||X W^T - X W'^T||^2_F / ||X W^T||^2_F} = {@code tr(E H E^T) / tr(W H W^T)}, E = W - W';
 *                    NaN where the method keeps no Hessian (magnitude, Wanda)
 * @param seconds     wall time of this layer's pruning step (s)
 */
public record PrunedLayer(String name, int rows, int cols, long pruned, double sparsity, double outputError,
                          double seconds) {}
