// Reference solutions of the exercises of 10-hinton-distillation.ipynb (see 00-number-formats.jsh for the format).

//// 10.1
double[] mySoftmax(double[] logits, double T) {
    double max = Double.NEGATIVE_INFINITY;
    for (double z : logits) max = Math.max(max, z / T);
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] / T - max);
    for (int i = 0; i < p.length; i++) p[i] /= sum;
    return p;
}
double[] mySoftTargets = mySoftmax(new double[] {6, 2, -1, 3.5, 0}, 4);

//// 10.2
double[] teacherP = mySoftmax(new double[] {6, 2, -1, 3.5, 0}, 4), studentQ = mySoftmax(new double[] {4, 3, 0, 1, -1}, 4);
double kl = 0;
for (int i = 0; i < 5; i++) kl += teacherP[i] * Math.log(teacherP[i] / studentQ[i]);
Double mySoftLoss = 4 * 4 * kl;

//// 10.3
// d(T^2 KL)/dz_i = T^2 (q_i - p_i) / T = T (q_i - p_i)
double[] teacherP = mySoftmax(new double[] {6, 2, -1, 3.5, 0}, 4), studentQ = mySoftmax(new double[] {4, 3, 0, 1, -1}, 4);
double[] mySoftGradient = new double[5];
for (int i = 0; i < 5; i++) mySoftGradient[i] = 4 * (studentQ[i] - teacherP[i]);
