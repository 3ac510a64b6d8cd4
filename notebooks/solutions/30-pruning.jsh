// Reference solutions of the exercises of 30-pruning.ipynb (see 00-number-formats.jsh for the format).

//// 30.1
double[] row = {0.9, -0.8, 0.7, 0.1, -0.2, 0.05, 0.3, -0.15};
boolean[] myTwoFourMask = new boolean[8];
for (int g = 0; g < 8; g += 4) {
    Integer[] order = {g, g + 1, g + 2, g + 3};
    Arrays.sort(order, (a, b) -> Double.compare(Math.abs(row[b]), Math.abs(row[a])));    // largest |w| first
    myTwoFourMask[order[0]] = true;
    myTwoFourMask[order[1]] = true;
}

//// 30.2
double[] wandaW = {0.5, -0.1, 0.3, 0.2, -0.4, 0.6, 0.05, -0.3}, inputNorms = {1, 8, 0.5, 2};
boolean[] myWandaMask = new boolean[8];
for (int r = 0; r < 2; r++) {
    final int o = 4 * r;
    Integer[] order = {0, 1, 2, 3};
    Arrays.sort(order, (a, b) -> Double.compare(Math.abs(wandaW[o + b]) * inputNorms[b], Math.abs(wandaW[o + a]) * inputNorms[a]));
    myWandaMask[o + order[0]] = true;                                           // the 2 highest scores of the row
    myWandaMask[o + order[1]] = true;
}

//// 30.3
Double myAgpSparsity = 0.8 * (1 - Math.pow(1 - 2 / 5.0, 3));

//// 30.4
double meanPerplexity(PruningSweep.Method m) {
    return points.stream().filter(p -> p.method() == m && p.pattern() == null && Math.abs(p.target() - 0.7) < 1e-9)
            .mapToDouble(p -> p.perplexity()).average().orElseThrow();
}
double densePerplexity = points.get(0).densePerplexity();
Double myGapClosedPercent = 100 * (meanPerplexity(PruningSweep.Method.MAGNITUDE) - meanPerplexity(PruningSweep.Method.SPARSEGPT))
        / (meanPerplexity(PruningSweep.Method.MAGNITUDE) - densePerplexity);
