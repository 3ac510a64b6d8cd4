package org.distillery.quant;

import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Gpt;

import java.util.Arrays;

/**
 * Fake quantization of the inputs of a {@link Gpt}'s linear layers to a symmetric b-bit integer grid (the "A8"
 * of W8A8, SmoothQuant; {@code shared/notes/methods.md}, "Quantizer basics", symmetric signed grid), installed
 * as the model's {@link Gpt.LinearInputHook} ({@link #install}). With qmax = 2^(b-1) - 1 (127 for 8 bits):
 * <pre>
 *   per-token (dynamic):   for each row n of X [N, in]:  scale_n = max_j |X[n, j]| / qmax
 *   per-tensor (static):   scale   = m / qmax,   m = max |X| over calibration tokens ({@link ActivationStatistics})
 *   X'[n, j] = scale * clamp(rint(X[n, j] / scale), -qmax, qmax)       (x / scale in double, round half to even)
 * </pre>
 * A row (or a calibrated tensor) whose maximum is 0 is left as it is. The static scale clips inputs beyond the
 * calibrated range. Every block's four linear layers are quantized ({@code attn.c_attn}, {@code attn.c_proj},
 * {@code mlp.c_fc}, {@code mlp.c_proj}); the tied LM head's input is not (as SmoothQuant's reference keeps
 * {@code lm_head} in float). In training mode the backward is the straight-through estimator (see
 * {@link Gpt#setLinearInputHook}). Quantization can be switched off per block ({@link #setActive}) for
 * block-wise drivers that quantize one block at a time.
 *
 * <p>After warm-up the hook allocates nothing: it reads and writes the input buffer in place.
 */
public final class ActivationQuantizer implements Gpt.LinearInputHook {

    /** Where one scale applies. */
    public enum Granularity {
        /** One dynamic scale per token (row of X), computed at run time. */
        PER_TOKEN,
        /** One static scale per layer input, calibrated beforehand. */
        PER_TENSOR;

        /** {@code per-token} or {@code per-tensor}. */
        public String label() {
            return this == PER_TOKEN ? "per-token" : "per-tensor";
        }

        /** The granularity of a {@link #label()}, or an error naming the accepted values. */
        public static Granularity ofLabel(String s) {
            for (Granularity g : values()) if (g.label().equals(s)) return g;
            throw new IllegalArgumentException("activation granularity " + s + " is not accepted: use per-token or per-tensor");
        }
    }

    private final int bits;
    private final Granularity granularity;
    private final float[][] scales;          // [L][4] static scales (PER_TENSOR), null for PER_TOKEN
    private final float[][] ranges;          // [L][4] the calibrated max |X| the scales came from, null for PER_TOKEN
    private final boolean[] active;          // [L]

    private ActivationQuantizer(int bits, Granularity granularity, int layers, float[][] ranges) {
        checkBits(bits);
        if (layers < 1) throw new IllegalArgumentException("layers = " + layers + " must be >= 1");
        this.bits = bits;
        this.granularity = granularity;
        this.active = new boolean[layers];
        Arrays.fill(active, true);
        if (ranges == null) {
            this.scales = null;
            this.ranges = null;
        } else {
            this.ranges = new float[layers][];
            this.scales = new float[layers][4];
            for (int l = 0; l < layers; l++) {
                if (ranges[l] == null || ranges[l].length != 4) {
                    throw new IllegalArgumentException("ranges[" + l + "]: need 4 values (c_attn, attn.c_proj, c_fc, mlp.c_proj)");
                }
                this.ranges[l] = ranges[l].clone();
                for (int k = 0; k < 4; k++) {
                    float m = ranges[l][k];
                    if (!(m >= 0) || Float.isInfinite(m)) {
                        throw new IllegalArgumentException("ranges[" + l + "][" + k + "] = " + m + " must be finite and >= 0");
                    }
                    scales[l][k] = scale(m, bits);
                }
            }
        }
    }

    private static void checkBits(int bits) {
        if (bits < 2 || bits > 8) throw new IllegalArgumentException("bits = " + bits + " is out of range: accepted 2 to 8");
    }

    /** Dynamic per-token quantization to {@code bits} bits for a model of {@code layers} blocks. */
    public static ActivationQuantizer perToken(int bits, int layers) {
        return new ActivationQuantizer(bits, Granularity.PER_TOKEN, layers, null);
    }

    /**
     * Static per-tensor quantization with calibrated ranges.
     *
     * @param ranges [L][4] max |X| of each block's linear inputs (e.g. {@link ActivationStatistics#tensorMax()})
     */
    public static ActivationQuantizer perTensor(int bits, float[][] ranges) {
        if (ranges == null || ranges.length == 0) throw new IllegalArgumentException("ranges: need one row of 4 per block");
        return new ActivationQuantizer(bits, Granularity.PER_TENSOR, ranges.length, ranges);
    }

    /**
     * Static per-tensor quantization calibrated on {@code model} as it is now (max |X| over the windows,
     * {@link ActivationStatistics#collect}).
     */
    public static ActivationQuantizer calibrate(Gpt model, java.util.List<int[]> windows, int bits, int batchSize) {
        checkBits(bits);
        return perTensor(bits, ActivationStatistics.collect(model, windows, batchSize).tensorMax());
    }

    /** The scale of a symmetric {@code bits}-bit grid for the range max |x| = m: m / (2^(bits-1) - 1). */
    public static float scale(float m, int bits) {
        return m / qmax(bits);
    }

    private static int qmax(int bits) {
        return (1 << (bits - 1)) - 1;
    }

    public int bits() { return bits; }

    public Granularity granularity() { return granularity; }

    /** Number of blocks. */
    public int layers() { return active.length; }

    /** The calibrated max |X| of linear {@code linear} of block {@code block} (PER_TENSOR only). */
    public float range(int block, int linear) {
        if (ranges == null) throw new IllegalStateException("range: a per-token quantizer has no calibrated ranges");
        checkBlock(block);
        if (linear < 0 || linear > 3) {
            throw new IllegalArgumentException("linear " + linear + " is outside [0, 4) (c_attn, attn.c_proj, c_fc, mlp.c_proj)");
        }
        return ranges[block][linear];
    }

    /** Whether block {@code block}'s inputs are quantized. */
    public boolean isActive(int block) {
        checkBlock(block);
        return active[block];
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= active.length) {
            throw new IllegalArgumentException("block " + block + " is outside [0, " + active.length + ")");
        }
    }

    /** Switches quantization of block {@code block}'s linear inputs on or off (all on at construction). */
    public ActivationQuantizer setActive(int block, boolean on) {
        checkBlock(block);
        active[block] = on;
        return this;
    }

    /** Switches every block on or off. */
    public ActivationQuantizer setAllActive(boolean on) {
        Arrays.fill(active, on);
        return this;
    }

    /** Installs this quantizer as {@code model}'s linear-input hook (replacing any other). */
    public ActivationQuantizer install(Gpt model) {
        if (model == null) throw new IllegalArgumentException("model: must not be null");
        if (model.config().nLayer() != active.length) {
            throw new IllegalArgumentException("model: has " + model.config().nLayer() + " blocks but this quantizer was made for "
                    + active.length);
        }
        model.setLinearInputHook(this);
        return this;
    }

    /** A short name, e.g. {@code A8 per-token} or {@code A8 per-tensor static}. */
    public String name() {
        return "A" + bits + " " + (granularity == Granularity.PER_TOKEN ? "per-token" : "per-tensor static");
    }

    @Override
    public void apply(int block, int linear, FloatTensor x) {
        if (!active[block]) return;
        if (granularity == Granularity.PER_TOKEN) quantizePerToken(x, bits);
        else quantizePerTensor(x, scales[block][linear], bits);
    }

    // ------------------------------------------------------------------------------------------------
    // kernels (naive twins in the tests)

    /** Per-token symmetric fake quantization of x [N, in] in place: one scale max_j |x[n, j]| / qmax per row. */
    public static void quantizePerToken(FloatTensor x, int bits) {
        int rows = x.rows(), in = x.cols(), q = qmax(bits);
        for (int r = 0; r < rows; r++) {
            int off = r * in;
            float m = 0;
            for (int j = 0; j < in; j++) m = Math.max(m, Math.abs(x.get(off + j)));
            if (m == 0) continue;
            roundRow(x, off, in, m / q, q);
        }
    }

    /** Per-tensor symmetric fake quantization of x [N, in] in place with a fixed {@code scale} (0: unchanged). */
    public static void quantizePerTensor(FloatTensor x, float scale, int bits) {
        if (scale == 0) return;
        roundRow(x, 0, x.size(), scale, qmax(bits));
    }

    /** x[off .. off + n) = scale * clamp(rint(x / scale), -q, q). */
    private static void roundRow(FloatTensor x, int off, int n, float scale, int q) {
        for (int j = off; j < off + n; j++) {
            double c = Math.rint((double) x.get(j) / scale);
            c = Math.min(Math.max(c, -q), q);
            x.set(j, scale * (float) c);
        }
    }
}
