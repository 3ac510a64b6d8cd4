// Reference solutions of the exercises of 11-distilbert-students.ipynb (see 00-number-formats.jsh for the format).

//// 11.1
int[] myLayerMap = IntStream.range(0, 4).map(i -> (int) Math.round(i * (12 - 1) / (4 - 1.0))).toArray();

//// 11.2
double wp = 61 / 80.0, wn = 80, wz = 1.96;
double centre = wp + wz * wz / (2 * wn), half = wz * Math.sqrt(wp * (1 - wp) / wn + wz * wz / (4 * wn * wn));
double[] myWilson = {(centre - half) / (1 + wz * wz / wn), (centre + half) / (1 + wz * wz / wn)};
