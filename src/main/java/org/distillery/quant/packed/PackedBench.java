package org.distillery.quant.packed;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Benchmark (not a test) of the batch-1 matrix-vector product y = W x on packed weights against float32:
 * <pre>
 *   java --add-modules jdk.incubator.vector -XX:PerMethodTrapLimit=100000 -cp target/classes:$(cat target/classpath.txt) \
 *        org.distillery.quant.packed.PackedBench [--rounds R] [--big-mib M] [--no-big] [--formats ID,ID,...]
 *        [--a8-first] [--a8-streams S,S,...]
 * </pre>
 * <ol>
 *   <li>Streaming read bandwidth of one core (a vector sum over a float array, four accumulators) at several
 *   working-set sizes, from cache-sized to {@code --big-mib} (default 1024 MiB, beyond the caches): median of
 *   the passes.</li>
 *   <li>For W [768, 3072] and [3072, 768] (in = 3072 and 768): float32 (our Java vector matvec,
 *   {@link FloatMatVec}; ND4J/OpenBLAS gemv into a preallocated output, one BLAS thread and default threads)
 *   and INT8 g128, INT8-asym g128, INT4 g128, INT4-asym g128, Q8_0, Q4_0 ({@link QuantizedLinear}, batch 1); the
 *   formats the integer kernels take also with int8 activations ("A8", {@link QuantizedLinear#withInt8Activations()}:
 *   W4A8 for 4-bit codes, W8A8 for 8-bit ones; not Q8_0 with 512-bit vectors, whose groups of 32 are below the W8A8
 *   kernel's step).
 *   Variants are timed in interleaved rounds (a loop of about 10 ms each), median over rounds; GB/s counts the
 *   weight bytes the kernel reads ({@link PackedWeights#kernelBytes()}, 4 * out * in for float32).</li>
 *   <li>Compute rates: the same on W [64, 3072], whose weights stay in L2, so the time per weight is the kernel's
 *   own: a ceiling for the in-cache ratios of item 2 (they cannot exceed float32's time per weight there over the
 *   kernel's here) for a kernel that does nothing per call. The A8 variants quantize x on every call, which on 64
 *   rows is a large part of their time, so for them it is no ceiling (README, "A second machine").</li>
 *   <li>Out of cache: the same formats on enough distinct copies of W [768, 3072], [3072, 768] and [4096, 4096] to
 *   fill {@code --big-mib} of weight bytes per format, cycled, so every product reads its weights from memory (the
 *   decode of a model whose layers do not stay in cache between tokens). Each variant's rounds alternate with
 *   float32 rounds, and its ratio is the median of the per-round ratios.</li>
 * </ol>
 * Single-threaded (the kernels are), so the fair ceiling is one core's streaming bandwidth. {@code --formats} times
 * only some formats (float32 is always timed). {@code --a8-first} runs each W4A8 kernel and the W8A8 one once before
 * any other vector code ({@link QuantizedLinear#warmUp()}): on JDK 17 with the default {@code -XX:PerMethodTrapLimit},
 * C2 compiled them into slow, allocating code otherwise (see {@link Int4A8MatVec}); run with the launchers' limit
 * ({@link org.distillery.util.JitSettings#TRAP_LIMIT_OPTION}) the order does not matter.
 * {@code --a8-streams} times the W4A8 kernels on each of the given layouts (1, 2, 4 or 8 streams, rows "A8 sN";
 * default: the kernel's own, {@link Int4A8MatVec#STREAMS}, row "A8"), to compare them on a new machine.
 */
public final class PackedBench {
    private PackedBench() {}

    /** Rows of the compute-rate shape [L2_ROWS, 3072]: float32 0.79 MB, int8 0.20 MB. */
    private static final int L2_ROWS = 64;

    /** The W4A8 layouts to time ({@code --a8-streams}), or null for the kernel's default only. */
    private static int[] a8Streams;

    /**
     * The int8-activation layouts to time for {@code w}: W4A8's from {@code --a8-streams}, or its default; W8A8 has one
     * ({@link Int8A8MatVec#STREAMS}).
     */
    private static int[] a8StreamCounts(PackedWeights w) {
        if (w.format().bits() == 8) return new int[] {Int8A8MatVec.STREAMS};
        return a8Streams == null ? new int[] {Int4A8MatVec.STREAMS} : a8Streams;
    }

    /** An int8-activation variant's name: "A8" for the default layout, "A8 sN" for those of {@code --a8-streams}. */
    private static String a8Name(String name, PackedWeights w, int streams) {
        return name + (a8Streams == null || w.format().bits() == 8 ? " A8" : " A8 s" + streams);
    }

    private static final PackedFormat[] FORMATS = {PackedFormat.INT8, PackedFormat.INT8_ASYM, PackedFormat.INT4,
            PackedFormat.INT4_ASYM, PackedFormat.Q8_0, PackedFormat.Q4_0};

    public static void main(String[] args) {
        int rounds = 15, bigMib = 1024;
        boolean big = true, a8First = false;
        PackedFormat[] formats = FORMATS;
        int[] streams = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--big-mib" -> bigMib = Integer.parseInt(args[++i]);
                case "--no-big" -> big = false;
                case "--a8-first" -> a8First = true;
                case "--a8-streams" -> {
                    streams = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                    for (int st : streams) Int4A8MatVec.perStream(st);                  // refuses other counts
                }
                case "--formats" -> formats = java.util.Arrays.stream(args[++i].split(",")).map(id -> PackedFormat.byId(id)
                        .orElseThrow(() -> new IllegalArgumentException("--formats: unknown format " + id + " (accepted: "
                                + PackedFormat.acceptedIds() + ")"))).toArray(PackedFormat[]::new);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (accepted: --rounds R, --big-mib M, --no-big, --formats ID,ID,..., --a8-first,"
                        + " --a8-streams S,S,...)");
            }
        }
        if (a8First) QuantizedLinear.warmUp();
        a8Streams = streams;
        System.out.printf("PackedBench: %d float lanes, Java %s, %d CPUs; rounds %d%s%n", PackedKernels.LANES,
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), rounds,
                a8First ? "; W4A8 and W8A8 kernels run once before any other vector code" : "");
        Map<Long, Double> bw = bandwidth(bigMib);
        double dram = bw.get((long) bigMib << 20);
        for (int[] shape : new int[][] {{768, 3072}, {3072, 768}}) {
            shapeTable(shape[0], shape[1], formats, rounds, bw);
        }
        System.out.printf("%nCompute rates: W [%d, 3072], small enough that every variant's weights stay in one core's"
                + " L2 (1 MiB or more on the machines measured), so memory costs little. A kernel's time per weight here"
                + " bounds its in-cache ratios above: (float32 time there) / (%d x its time here); not for the A8"
                + " variants, whose per-call quantization of x is a large part of their time on %d rows.%n", L2_ROWS,
                768 / L2_ROWS, L2_ROWS);
        shapeTable(L2_ROWS, 3072, formats, rounds, bw);
        if (big) {
            for (int[] shape : new int[][] {{768, 3072}, {3072, 768}, {4096, 4096}}) {
                bigTable(shape[0], shape[1], formats, bigMib, Math.max(7, rounds / 2), dram);
            }
        }
    }

    // ---------------------------------------------------------------- bandwidth

    /** Streaming read GB/s (1e9 bytes/s) of one core by working-set size in bytes, median of passes. */
    static Map<Long, Double> bandwidth(int bigMib) {
        long[] sizes = {1L << 20, 5L << 19, 10L << 20, 64L << 20, 256L << 20, (long) bigMib << 20};
        float[] a = new float[(int) (sizes[sizes.length - 1] / 4)];
        Arrays.fill(a, 1f);
        Map<Long, Double> out = new LinkedHashMap<>();
        float warm = 0;                // compile sum() first: on JDK 17 the 1 MiB size ran at 18 GB/s before C2 had
        for (int i = 0; i < 5000; i++) warm += sum(a, 4096);     // it, against 74-85 on JDK 25 (AMD EPYC)
        System.out.println("\nStreaming read bandwidth, one core (vector sum over a float[]; median of passes):");
        for (long bytes : sizes) {
            int n = (int) (bytes / 4);
            int passes = (int) Math.max(7, Math.min(2000, (400L << 20) / bytes));
            double[] t = new double[passes];
            float sink = 0;
            for (int p = -2; p < passes; p++) {
                long t0 = System.nanoTime();
                sink += sum(a, n);
                if (p >= 0) t[p] = (System.nanoTime() - t0) / 1e9;
            }
            double gbs = bytes / median(t) / 1e9;
            out.put(bytes, gbs);
            System.out.printf("  %8.1f MiB  %6.1f GB/s%s%n", bytes / 1048576.0, gbs, sink + warm == 42 ? " " : "");
        }
        return out;
    }

    private static float sum(float[] a, int n) {
        var F = PackedKernels.F;
        int l = PackedKernels.LANES, bound = n - n % (4 * l);
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < bound; i += 4 * l) {
            s0 = s0.add(FloatVector.fromArray(F, a, i));
            s1 = s1.add(FloatVector.fromArray(F, a, i + l));
            s2 = s2.add(FloatVector.fromArray(F, a, i + 2 * l));
            s3 = s3.add(FloatVector.fromArray(F, a, i + 3 * l));
        }
        float r = PackedKernels.sumLanes(s0.add(s1).add(s2.add(s3)));
        for (int i = bound; i < n; i++) r += a[i];
        return r;
    }

    /** The bandwidth measured at the working-set size closest (in log scale) to {@code bytes}. */
    private static double bandwidthAt(Map<Long, Double> bw, long bytes) {
        long best = -1;
        for (long s : bw.keySet()) {
            if (best < 0 || Math.abs(Math.log((double) s / bytes)) < Math.abs(Math.log((double) best / bytes))) best = s;
        }
        return bw.get(best);
    }

    // ---------------------------------------------------------------- cache-sized shapes

    private record Variant(String name, long bytes, Runnable call) {}

    private static void shapeTable(int out, int in, PackedFormat[] formats, int rounds, Map<Long, Double> bw) {
        Random rnd = new Random(1);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * 0.02);
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[out];
        List<Variant> vs = new ArrayList<>();
        vs.add(new Variant("float32 (Java vector)", 4L * out * in, () -> FloatMatVec.matvec(w, out, in, x, y)));
        INDArray wn = Nd4j.create(w, new long[] {out, in}, 'c');
        INDArray xn = Nd4j.create(x, new long[] {in, 1}, 'c');
        INDArray yn = Nd4j.create(DataType.FLOAT, out, 1);
        vs.add(new Variant("float32 (ND4J gemv)", 4L * out * in,
                () -> Nd4j.gemm(wn, xn, yn, false, false, 1.0, 0.0)));
        for (PackedFormat f : formats) {
            int g = f.isBlockFormat() ? 32 : 128;
            PackedWeights pw = PackedWeights.quantize(w, out, in, f, g);
            QuantizedLinear lin = new QuantizedLinear(pw, null);
            vs.add(new Variant(f.id() + " g" + g, pw.kernelBytes(), () -> lin.forward(x, 1, y)));
            if (QuantizedLinear.supportsInt8Activations(pw)) {
                for (int st : a8StreamCounts(pw)) {
                    QuantizedLinear a8 = lin.withInt8Activations(st);
                    vs.add(new Variant(a8Name(f.id() + " g" + g, pw, st), pw.kernelBytes(), () -> a8.forward(x, 1, y)));
                }
            }
        }
        Map<String, Long> alloc = new LinkedHashMap<>();
        Map<String, Double> sec = time(vs, rounds, alloc);
        double f32 = sec.get("float32 (Java vector)");
        System.out.printf("%nW [%d, %d] (out, in), batch 1; fp32 weights %.1f MB, L2 per core %s%n", out, in,
                4.0 * out * in / 1e6, "see lscpu");
        System.out.printf("  %-22s %9s %10s %8s %10s %13s%n", "variant", "MB read", "time (us)", "GB/s",
                "vs fp32", "of stream BW*");
        for (Variant v : vs) {
            double s = sec.get(v.name()), gbs = v.bytes() / s / 1e9;
            System.out.printf("  %-22s %9.2f %10.1f %8.1f %9.2fx %12.0f%%%n", v.name(), v.bytes() / 1e6, s * 1e6, gbs,
                    f32 / s, 100 * gbs / bandwidthAt(bw, v.bytes()));
        }
        System.out.println("  * streaming read bandwidth measured at the working-set size closest to the bytes read");
        alloc.forEach((name, bytes) -> {
            if (bytes > 0 && !name.contains("ND4J")) {
                System.out.printf("  ! %s allocated %d bytes per call while timed: C2 boxed vectors, so this is not the"
                        + " kernel's speed (does the JVM run with %s? see JitSettings)%n", name, bytes,
                        org.distillery.util.JitSettings.TRAP_LIMIT_OPTION);
            }
        });
    }

    /**
     * Median seconds per call of each variant, timed in interleaved rounds of about 10 ms each; {@code alloc} gets
     * the heap bytes each variant allocated per call over the timed rounds (0 for a kernel C2 compiled well).
     */
    private static Map<String, Double> time(List<Variant> vs, int rounds, Map<String, Long> alloc) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        Map<String, Integer> iters = new LinkedHashMap<>();
        for (Variant v : vs) {                       // warm-up (JIT) and calibration
            for (int i = 0; i < 3000; i++) v.call().run();
            long t0 = System.nanoTime();
            for (int i = 0; i < 100; i++) v.call().run();
            double per = (System.nanoTime() - t0) / 1e9 / 100;
            iters.put(v.name(), (int) Math.max(1, 0.01 / per));
        }
        Map<String, double[]> t = new LinkedHashMap<>();
        for (Variant v : vs) t.put(v.name(), new double[rounds]);
        Map<String, long[]> bytes = new LinkedHashMap<>();           // {bytes, calls}
        for (Variant v : vs) bytes.put(v.name(), new long[2]);
        for (int r = 0; r < rounds; r++) {
            for (Variant v : vs) {
                int n = iters.get(v.name());
                long b0 = threads.getCurrentThreadAllocatedBytes(), t0 = System.nanoTime();
                for (int i = 0; i < n; i++) v.call().run();
                t.get(v.name())[r] = (System.nanoTime() - t0) / 1e9 / n;
                long[] b = bytes.get(v.name());
                b[0] += threads.getCurrentThreadAllocatedBytes() - b0;
                b[1] += n;
            }
        }
        bytes.forEach((k, b) -> alloc.put(k, b[0] / b[1]));
        Map<String, Double> med = new LinkedHashMap<>();
        t.forEach((k, v) -> med.put(k, median(v)));
        return med;
    }

    // ---------------------------------------------------------------- out of cache

    private static void bigTable(int out, int in, PackedFormat[] formats, int bigMib, int rounds, double dram) {
        long budget = (long) bigMib << 20;
        Random rnd = new Random(2);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * 0.02);
        float[] x = new float[in];
        for (int i = 0; i < in; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[out];
        System.out.printf("%nOut of cache (the decode case of a model far larger than the caches): distinct W [%d, %d]"
                + " copies cycled, %d MiB of weight bytes per variant; "
                + "streaming bandwidth at %d MiB: %.1f GB/s%n", out, in, bigMib, bigMib, dram);
        System.out.printf("  %-22s %7s %10s %8s %10s %10s %12s%n", "variant", "copies", "time (us)", "GB/s", "fp32 (us)",
                "vs fp32", "of DRAM BW");
        int floatCopies = (int) Math.max(2, budget / (4L * out * in));
        float[][] ws = new float[floatCopies][];
        for (int c = 0; c < floatCopies; c++) ws[c] = w.clone();
        IntConsumer f32 = c -> FloatMatVec.matvec(ws[c], out, in, x, y);
        double[] alone = pairedCycle(floatCopies, f32, floatCopies, f32, rounds);
        print("float32 (Java vector)", floatCopies, alone[0], 4L * out * in, alone[0], 1, dram);
        for (PackedFormat f : formats) {
            int g = f.isBlockFormat() ? 32 : 128;
            PackedWeights pw = PackedWeights.quantize(w, out, in, f, g);
            int copies = (int) Math.max(2, budget / pw.kernelBytes());
            QuantizedLinear[] ls = new QuantizedLinear[copies];
            for (int c = 0; c < copies; c++) ls[c] = new QuantizedLinear(pw.copy(), null);
            double[] p = pairedCycle(floatCopies, f32, copies, c -> ls[c].forward(x, 1, y), rounds);
            print(f.id() + " g" + g, copies, p[1], pw.kernelBytes(), p[0], p[2], dram);
            if (QuantizedLinear.supportsInt8Activations(pw)) {
                for (int st : a8StreamCounts(pw)) {
                    QuantizedLinear[] a8 = new QuantizedLinear[copies];
                    for (int c = 0; c < copies; c++) a8[c] = ls[c].withInt8Activations(st);
                    double[] pa = pairedCycle(floatCopies, f32, copies, c -> a8[c].forward(x, 1, y), rounds);
                    print(a8Name(f.id() + " g" + g, pw, st), copies, pa[1], pw.kernelBytes(), pa[0], pa[2], dram);
                }
            }
        }
    }

    private static void print(String name, int copies, double s, long bytes, double f32, double ratio, double dram) {
        double gbs = bytes / s / 1e9;
        System.out.printf("  %-22s %7d %10.1f %8.1f %10.1f %9.2fx %11.0f%%%n", name, copies, s * 1e6, gbs, f32 * 1e6,
                ratio, 100 * gbs / dram);
    }

    /**
     * {median seconds per call of a, the same of b, median over rounds of (a's time / b's time)}, the rounds of a
     * and b interleaved (a, b, a, b, ...; each round calls every copy once, in order). On a machine whose memory
     * speed drifts during a run (a shared virtual machine: float32 out of cache took 340-580 us per call between
     * runs on the AMD EPYC one), a ratio of adjacent rounds moves less than a ratio of times taken minutes apart.
     */
    private static double[] pairedCycle(int copiesA, IntConsumer a, int copiesB, IntConsumer b, int rounds) {
        for (int r = 0; r < 2; r++) {                                                    // warm-up
            for (int c = 0; c < copiesA; c++) a.accept(c);
            for (int c = 0; c < copiesB; c++) b.accept(c);
        }
        double[] ta = new double[rounds], tb = new double[rounds], ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            ta[r] = cycleOnce(copiesA, a);
            tb[r] = cycleOnce(copiesB, b);
            ratio[r] = ta[r] / tb[r];
        }
        return new double[] {median(ta), median(tb), median(ratio)};
    }

    /** Seconds per call of one pass over the copies, in order. */
    private static double cycleOnce(int copies, IntConsumer call) {
        long t0 = System.nanoTime();
        for (int c = 0; c < copies; c++) call.accept(c);
        return (System.nanoTime() - t0) / 1e9 / copies;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
