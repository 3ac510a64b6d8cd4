package org.distillery.train;

import org.distillery.engine.kernels.AdamWKernel;
import org.distillery.engine.kernels.FloatTensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW (Loshchilov and Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2) with the
 * exact update of PyTorch's {@code torch.optim.AdamW} (see {@link AdamWKernel}), over named parameter
 * tensors and their gradients. Per step:
 * <ol>
 *   <li>global gradient norm ||g|| over the trainable (non-frozen) tensors, in double;</li>
 *   <li>if {@code maxGradNorm > 0} and ||g|| &gt; maxGradNorm, the gradients are scaled by
 *       maxGradNorm / (||g|| + 1e-6), as {@code torch.nn.utils.clip_grad_norm_} (folded into the update:
 *       the gradient tensors are not modified);</li>
 *   <li>t = t + 1, then every trainable tensor gets the AdamW update, with weight decay only for the
 *       names the decay predicate accepts.</li>
 * </ol>
 * Frozen tensors (by name predicate) are skipped entirely: no update, no moments, not in the norm.
 */
public final class AdamW {

    /**
     * Hyperparameters (PyTorch's AdamW defaults via {@link #defaults(double)}).
     *
     * @param lr          learning rate, &gt; 0
     * @param beta1       first-moment decay, in [0, 1)
     * @param beta2       second-moment decay, in [0, 1)
     * @param eps         denominator floor, &gt; 0
     * @param weightDecay decoupled weight decay, &gt;= 0
     * @param maxGradNorm clip the global gradient norm to this, &gt; 0; 0 for no clipping
     */
    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
        public Options {
            if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr: must be finite and > 0 but was " + lr);
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1: must be in [0, 1) but was " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2: must be in [0, 1) but was " + beta2);
            if (!(eps > 0)) throw new IllegalArgumentException("eps: must be > 0 but was " + eps);
            if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("weightDecay: must be finite and >= 0 but was " + weightDecay);
            }
            if (!(maxGradNorm >= 0) || Double.isInfinite(maxGradNorm)) {
                throw new IllegalArgumentException("maxGradNorm: must be finite and >= 0 (0 = no clipping) but was " + maxGradNorm);
            }
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01, no clipping. */
        public static Options defaults(double lr) {
            return new Options(lr, 0.9, 0.999, 1e-8, 0.01, 0);
        }

        public Options withWeightDecay(double wd) { return new Options(lr, beta1, beta2, eps, wd, maxGradNorm); }

        public Options withMaxGradNorm(double c) { return new Options(lr, beta1, beta2, eps, weightDecay, c); }

        public Options withBetas(double b1, double b2) { return new Options(lr, b1, b2, eps, weightDecay, maxGradNorm); }

        public Options withLr(double newLr) { return new Options(newLr, beta1, beta2, eps, weightDecay, maxGradNorm); }
    }

    /**
     * The usual decay rule: decay every tensor except biases ({@code *.bias}) and normalisation gains
     * (names containing {@code ln_} or {@code norm}, any case).
     */
    public static final Predicate<String> DECAY_EXCEPT_BIAS_AND_NORM = name -> {
        String lower = name.toLowerCase(Locale.ROOT);
        return !(lower.endsWith(".bias") || lower.contains("ln_") || lower.contains("norm"));
    };

    /** Freezes nothing. */
    public static final Predicate<String> NONE = name -> false;

    /** A predicate that accepts the names {@code pattern} matches ({@link NamePattern}, e.g. {@code "^h.0."} or {@code "ln_"}). */
    public static Predicate<String> matching(String pattern) {
        return NamePattern.parse(pattern, "freeze");
    }

    private static final class Slot {
        final String name;
        final FloatTensor param, grad, m, v;   // same shape each
        final boolean decay;

        Slot(String name, FloatTensor param, FloatTensor grad, boolean decay) {
            this.name = name;
            this.param = param;
            this.grad = grad;
            this.decay = decay;
            int[] shape = new int[param.rank()];
            for (int i = 0; i < shape.length; i++) shape[i] = param.dim(i);
            this.m = FloatTensor.zeros(shape);
            this.v = FloatTensor.zeros(shape);
        }
    }

    private final Slot[] slots;
    private final List<String> frozen = new ArrayList<>();
    private Options options;
    private int step;

    /**
     * @param params  parameters by name
     * @param grads   gradients, the same names and shapes
     * @param options hyperparameters
     * @param decay   which names get weight decay (e.g. {@link #DECAY_EXCEPT_BIAS_AND_NORM})
     * @param freeze  which names are frozen (not updated), e.g. {@link #NONE} or {@link #matching(String)}
     */
    public AdamW(Map<String, FloatTensor> params, Map<String, FloatTensor> grads, Options options,
                 Predicate<String> decay, Predicate<String> freeze) {
        if (params == null || grads == null) throw new IllegalArgumentException("params, grads: must not be null");
        if (options == null || decay == null || freeze == null) {
            throw new IllegalArgumentException("options, decay, freeze: must not be null");
        }
        List<Slot> s = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : params.entrySet()) {
            String name = e.getKey();
            FloatTensor g = grads.get(name);
            if (g == null) throw new IllegalArgumentException("grads: no gradient for parameter " + name);
            if (g.size() != e.getValue().size()) {
                throw new IllegalArgumentException("grads: gradient of " + name + " has shape " + g.shapeString()
                        + " but the parameter has " + e.getValue().shapeString());
            }
            if (freeze.test(name)) {
                frozen.add(name);
                continue;
            }
            s.add(new Slot(name, e.getValue(), g, decay.test(name)));
        }
        this.slots = s.toArray(new Slot[0]);
        this.options = options;
    }

    /** AdamW with the usual decay rule and nothing frozen. */
    public AdamW(Map<String, FloatTensor> params, Map<String, FloatTensor> grads, Options options) {
        this(params, grads, options, DECAY_EXCEPT_BIAS_AND_NORM, NONE);
    }

    /**
     * One optimisation step from the current gradients.
     *
     * @return the global L2 norm of the trainable gradients before clipping
     */
    public double step() {
        double sq = 0;
        for (Slot s : slots) sq += AdamWKernel.sumOfSquares(s.grad);
        double norm = Math.sqrt(sq);
        double scale = 1;
        if (options.maxGradNorm() > 0 && norm > options.maxGradNorm()) scale = options.maxGradNorm() / (norm + 1e-6);
        step++;
        float bc1 = (float) (1 - Math.pow(options.beta1(), step));
        float bc2 = (float) (1 - Math.pow(options.beta2(), step));
        float lr = (float) options.lr(), wd = (float) options.weightDecay();
        for (Slot s : slots) {
            AdamWKernel.update(s.param, s.grad, s.m, s.v, (float) scale, lr, s.decay ? wd : 0f,
                    (float) options.beta1(), (float) options.beta2(), (float) options.eps(), bc1, bc2);
        }
        return norm;
    }

    /** Number of steps taken. */
    public int stepCount() { return step; }

    public Options options() { return options; }

    /** Changes the hyperparameters (e.g. a learning-rate schedule); moments and step count are kept. */
    public void setOptions(Options newOptions) {
        if (newOptions == null) throw new IllegalArgumentException("newOptions: must not be null");
        this.options = newOptions;
    }

    /**
     * The first-moment tensors m of the trainable parameters by name (live: writing them restores
     * optimiser state, e.g. from a checkpoint), in map order.
     */
    public Map<String, FloatTensor> firstMoments() {
        Map<String, FloatTensor> m = new LinkedHashMap<>();
        for (Slot s : slots) m.put(s.name, s.m);
        return Collections.unmodifiableMap(m);
    }

    /** The second-moment tensors v of the trainable parameters by name (live, as {@link #firstMoments()}). */
    public Map<String, FloatTensor> secondMoments() {
        Map<String, FloatTensor> v = new LinkedHashMap<>();
        for (Slot s : slots) v.put(s.name, s.v);
        return Collections.unmodifiableMap(v);
    }

    /**
     * Sets the number of steps taken (which the bias corrections depend on), to restore a checkpoint.
     *
     * @param stepCount steps taken, &gt;= 0
     */
    public void setStepCount(int stepCount) {
        if (stepCount < 0) throw new IllegalArgumentException("stepCount: must be >= 0 but was " + stepCount);
        this.step = stepCount;
    }

    /** Names of the frozen parameters, in map order. */
    public List<String> frozen() { return List.copyOf(frozen); }

    /** Names of the parameters with weight decay, in map order. */
    public List<String> decayed() {
        List<String> d = new ArrayList<>();
        for (Slot s : slots) if (s.decay) d.add(s.name);
        return d;
    }
}
