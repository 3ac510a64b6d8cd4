// Reference solutions of the exercises of 12-distilgpt2-students.ipynb (see 00-number-formats.jsh for the format).

//// 12.1
double cosine(double[] a, double[] b) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < a.length; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return ab / Math.sqrt(aa * bb);
}
double[][] hs = {{1, 2, 0, -1}, {0.5, -1, 2, 1}}, ht = {{2, 1, 0, -2}, {1, 1, 1, 1}};
Double myCosineLoss = ((1 - cosine(hs[0], ht[0])) + (1 - cosine(hs[1], ht[1]))) / 2;

//// 12.2
// exercise 01.1's formula
long gpt2Parameters(long vocab, long positions, long width, long layers) {
    return vocab * width + positions * width + layers * (12 * width * width + 13 * width) + 2 * width;
}
Double myQuarterWidthFraction = (double) gpt2Parameters(tc.vocabSize(), tc.nPositions(), tc.nEmbd() / 4, tc.nLayer())
        / gpt2Parameters(tc.vocabSize(), tc.nPositions(), tc.nEmbd(), tc.nLayer());

//// 12.3
long rowsPerMicroBatch = 2L * base.batchSize() * base.seqLen();               // B*T with B doubled
Long myCacheBytes = 4L * rowsPerMicroBatch * (base.model().vocabSize() + base.model().nEmbd())
        * base.steps() * base.gradAccumSteps();
