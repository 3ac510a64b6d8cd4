// Reference solutions of the exercises of 00-number-formats.ipynb. Each block, from its "//// NN.k" line to the
// next, replaces that exercise's attempt cell; then run the check cell. ExercisesTest runs every block through
// the checker (and the notebook's own attempt cells, which must say "not attempted yet").

//// 00.1
// 0 | 1010 | 011: positive; exponent field 10, minus the bias 7; mantissa 0.011 (binary) = 0/2 + 1/4 + 1/8
Double myE4m3Value = (1 + 0 / 2.0 + 1 / 4.0 + 1 / 8.0) * Math.pow(2, 0b1010 - 7);

//// 00.2
// 1 | 0000 | 101: negative, subnormal: 0.101 (binary) = 1/2 + 0/4 + 1/8, exponent 1 - bias = -6
Double mySubnormalValue = -(1 / 2.0 + 0 / 4.0 + 1 / 8.0) * Math.pow(2, 1 - 7);

//// 00.3
int bits = Float.floatToIntBits(0.1f);
int roundedBits = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;   // round to nearest, ties to even; then truncate
Float myBf16Value = Float.intBitsToFloat(roundedBits);

//// 00.4
double lo = Math.min(0, -3.5), hi = Math.max(0, 0.1);                // the range of {0.1, -3.5, 0.001}, widened to contain 0
double int4Scale = (hi - lo) / 15;                                  // 2^4 - 1 steps
double int4Zero = Math.rint(-lo / int4Scale);
double q35 = Math.min(15, Math.max(0, Math.rint(-3.5 / int4Scale) + int4Zero));
double q01 = Math.min(15, Math.max(0, Math.rint(0.1 / int4Scale) + int4Zero));
double[] myInt4Asym = {int4Scale, int4Zero, int4Scale * (q35 - int4Zero), int4Scale * (q01 - int4Zero)};
