// Reference solutions of the exercises of 20-quantization-sweep.ipynb (see 00-number-formats.jsh for the format).

//// 20.1
double[] group = {0.12, -0.40, 0.05, 0.31, -0.07, 0.22, -0.18, 0.02};
double gmin = Math.min(0, Arrays.stream(group).min().getAsDouble()), gmax = Math.max(0, Arrays.stream(group).max().getAsDouble());
double gscale = (gmax - gmin) / 7;                                            // 2^3 - 1 steps
double gzero = Math.rint(-gmin / gscale);
double[] myRoundedGroup = Arrays.stream(group).map(w -> gscale * (Math.min(7, Math.max(0, Math.rint(w / gscale) + gzero)) - gzero)).toArray();

//// 20.2
// the definition: no other model is no larger and no worse, and better in one of the two
boolean dominated(QuantizationSweep.Point p) {
    return points.stream().anyMatch(o -> o.totalBytes() <= p.totalBytes() && o.perplexity() <= p.perplexity()
            && (o.totalBytes() < p.totalBytes() || o.perplexity() < p.perplexity()));
}
Object myFrontier2Bit = points.stream().filter(p -> p.bits() == 2 && !dominated(p)).map(p -> p.label()).toList();

//// 20.3
QuantizationSweep.Point rtn3(boolean nt) {
    return points.stream().filter(p -> p.scheme() == QuantizationSweep.Scheme.RTN_CHANNEL && p.bits() == 3 && p.normTweak() == nt
            && p.seed() == 0).findFirst().orElseThrow();
}
Double myRecoveredPercent = 100 * (rtn3(false).perplexity() - rtn3(true).perplexity()) / (rtn3(false).perplexity() - rtn3(false).floatPerplexity());
