// Reference solutions of the exercises of 40-compression-pipeline.ipynb (see 00-number-formats.jsh for the format).

//// 40.1
double[] myStageFactors = new double[rows.size() - 1];
for (int k = 1; k < rows.size(); k++) myStageFactors[k - 1] = (double) rows.get(k - 1).bytes() / rows.get(k).bytes();

//// 40.2
List<ParetoChart.Point> single = points.stream().filter(p -> p.kind().equals("pruned") || p.kind().equals("quantized")).toList();
// the definition: no other single-technique run is no larger and no worse, and better in one of the two
boolean dominated(ParetoChart.Point p) {
    return single.stream().anyMatch(o -> o.bytes() <= p.bytes() && o.perplexity() <= p.perplexity()
            && (o.bytes() < p.bytes() || o.perplexity() < p.perplexity()));
}
List<String> mySingleTechniqueFrontier = single.stream().filter(p -> !dominated(p)).map(p -> p.run()).toList();

//// 40.3
StageCost quantized = rows.stream().filter(r -> r.stage().equals("quantized")).findFirst().orElseThrow();
Double myBitsPerWeight = 8.0 * quantized.bytes() / quantized.nonzeroParameters();
