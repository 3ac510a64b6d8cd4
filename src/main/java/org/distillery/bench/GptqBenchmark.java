package org.distillery.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.quant.Gptq;
import org.distillery.quant.GptqHessian;
import org.distillery.quant.Quantizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * One timed GPTQ run for {@code ./lab bench gptq}, in its own process: a random layer W [out, in] and
 * {@code sequences} calibration sequences of {@code tokens} rows each, streamed into a {@link GptqHessian}
 * (timed: the Hessian), then {@link Gptq#quantizeLayer} (timed: the quantization: dead columns, dampening,
 * the inverse Cholesky factor and the blocked sweep), 4-bit asymmetric per-channel, block 128, percdamp 0.01,
 * no act-order: the reference code's defaults. The PyTorch twin is {@code src/bench/python/torch_gptq_bench.py}.
 *
 * <p>Data (the same distribution in both scripts, from their own generators; timing does not depend on the
 * values): W ~ N(0, 1/in); a pool of 8 distinct batches [tokens, in] of correlated features
 * x = (z M + 0.1 e) * s_j with 32 latent factors z, M ~ N(0, 1), per-feature scales s_j = exp(N(0, 0.5)),
 * made before the clock starts; sequence k adds pool batch k mod 8. Prints one JSON line with the seconds
 * of both phases, their sum and the relative output error ||X W^T - X Q^T|| / ||X W^T|| on pool batch 0.
 * With a data directory the PyTorch run reads this run's W and pool, so the two errors are comparable.
 */
public final class GptqBenchmark {
    private GptqBenchmark() {}

    /**
     * Runs once and returns the JSON fields; with {@code dataDir} non-null, first writes the layer and the
     * calibration pool there for the PyTorch run (raw little-endian fp32: {@code w.f32} [out, in],
     * {@code x0.f32} .. [tokens, in]).
     */
    public static Map<String, Object> run(int out, int in, int sequences, int tokens, int bits, long seed, Path dataDir)
            throws IOException {
        Random rnd = new Random(seed);
        float[] w = new float[out * in];                                     // [out, in]
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() / Math.sqrt(in));
        int pool = Math.min(8, sequences), k = 32;
        double[] m = new double[k * in], s = new double[in];
        for (int i = 0; i < m.length; i++) m[i] = rnd.nextGaussian();
        for (int j = 0; j < in; j++) s[j] = Math.exp(0.5 * rnd.nextGaussian());
        FloatTensor[] batches = new FloatTensor[pool];                       // each [tokens, in]
        for (int p = 0; p < pool; p++) {
            float[] x = new float[tokens * in];
            double[] z = new double[k];
            for (int t = 0; t < tokens; t++) {
                for (int a = 0; a < k; a++) z[a] = rnd.nextGaussian();
                for (int j = 0; j < in; j++) {
                    double v = 0.1 * rnd.nextGaussian();
                    for (int a = 0; a < k; a++) v += z[a] * m[a * in + j];
                    x[t * in + j] = (float) (s[j] * v / Math.sqrt(k));
                }
            }
            batches[p] = FloatTensor.zeros(tokens, in).copyFrom(x);
        }
        if (dataDir != null) {
            Files.createDirectories(dataDir);
            write(dataDir.resolve("w.f32"), w);
            for (int p = 0; p < pool; p++) write(dataDir.resolve("x" + p + ".f32"), batches[p].toFloatArray());
        }
        warmUp(bits, out, in);
        long t0 = System.nanoTime();
        GptqHessian h = new GptqHessian(in);
        for (int q = 0; q < sequences; q++) h.add(batches[q % pool]);
        double[] hessian = h.hessian();
        long t1 = System.nanoTime();
        Gptq.LayerResult r = Gptq.quantizeLayer(w, out, in, hessian, Gptq.Options.defaults(Quantizer.perChannel(bits, false)));
        long t2 = System.nanoTime();
        float[] q = r.quantized().dequantize();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("engine", "distillery");
        o.put("out", out);
        o.put("in", in);
        o.put("calibration_tokens", (long) sequences * tokens);
        o.put("hessian_s", (t1 - t0) / 1e9);
        o.put("quantize_s", (t2 - t1) / 1e9);
        o.put("total_s", (t2 - t0) / 1e9);
        o.put("relative_output_error", outputError(w, q, batches[0].toFloatArray(), out, in, tokens));
        o.put("peak_rss_mb", GptBenchmark.peakRssMb());
        o.put("version", "java " + System.getProperty("java.version"));
        return o;
    }

    /**
     * Untimed GPTQ runs on a layer of the benchmark's own shape [out, in] first (random weights, a Hessian from one
     * batch of random rows), so that the timed run measures compiled code, as in a model's quantization, where every
     * layer after the first few runs compiled; the Vector API is slow until C2 compiles it. The PyTorch side gets the
     * same untimed run ({@code torch_gptq_bench.py}), so both sides are timed in their steady state.
     */
    private static void warmUp(int bits, int out, int in) {
        Random r = new Random(1);
        float[] w = new float[out * in];                                     // [out, in]
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        FloatTensor x = FloatTensor.zeros(2 * in, in);                       // [2 in, in]
        for (int i = 0; i < x.size(); i++) x.set(i, (float) r.nextGaussian());
        for (int rep = 0; rep < 3; rep++) {
            GptqHessian h = new GptqHessian(in);
            h.add(x);
            Gptq.quantizeLayer(w, out, in, h.hessian(), Gptq.Options.defaults(Quantizer.perChannel(bits, false)));
        }
    }

    private static void write(Path file, float[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Files.write(file, b.array());
    }

    /** ||X W^T - X Q^T||_F / ||X W^T||_F on X [n, in]. */
    static double outputError(float[] w, float[] q, float[] x, int out, int in, int n) {
        double num = 0, den = 0;
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < out; o++) {
                double a = 0, b = 0;
                for (int j = 0; j < in; j++) {
                    a += x[t * in + j] * w[o * in + j];
                    b += x[t * in + j] * q[o * in + j];
                }
                num += (a - b) * (a - b);
                den += a * a;
            }
        }
        return Math.sqrt(num / den);
    }

    /** {@code GptqBenchmark OUT IN SEQUENCES TOKENS BITS [DATA_DIR]}: prints one JSON line. */
    public static void main(String[] args) throws IOException {
        if (args.length < 5 || args.length > 6) {
            System.err.println("usage: GptqBenchmark OUT IN SEQUENCES TOKENS BITS [DATA_DIR]");
            System.exit(2);
        }
        Map<String, Object> r = run(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                Integer.parseInt(args[3]), Integer.parseInt(args[4]), 0, args.length == 6 ? Path.of(args[5]) : null);
        System.out.println(new ObjectMapper().writeValueAsString(r));
    }
}
