package org.distillery.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.distillery.model.Bert;
import org.distillery.model.Gpt;

/**
 * Evaluation speed of GPT models (and BERT encoders, {@link #measureEncoders}), measured side by side: forward passes (logits only, evaluation mode) over
 * the same B x T token batches for every model. The models take turns within each repeat (model 1, model 2,
 * ..., then the next repeat), so that a slow period of a shared machine falls on all of them rather than on
 * one; each model's figure is the median over the repeats, with the min and max beside it. Untimed warm-up passes
 * come first, for each model at least one and at least {@link #WARM_UP_SECONDS} of them: in a JVM whose JIT compiler
 * is busy (a notebook kernel compiles every cell), C2 may not have compiled a model's kernels after a single short
 * pass, and the first repeats would time the C1 code (session 16: a W8A8 layer still ran its C1 code 2,000 calls
 * into the notebook's speed cell).
 */
public final class EvalThroughput {
    /** Seconds of untimed passes each model runs before the timed repeats (at least one pass). */
    public static final double WARM_UP_SECONDS = 0.3;

    private EvalThroughput() {}

    /**
     * One model's measurement.
     *
     * @param medianTokensPerSecond median over the repeats of (batches * B * T) / seconds
     * @param minTokensPerSecond    the slowest repeat
     * @param maxTokensPerSecond    the fastest repeat
     * @param tokensPerRepeat       batches * B * T
     * @param repeats               timed repeats
     */
    public record Result(double medianTokensPerSecond, double minTokensPerSecond, double maxTokensPerSecond,
                         long tokensPerRepeat, int repeats) {}

    /**
     * Measures every model on the same batches.
     *
     * @param models    the models (each with maxB &gt;= B and maxT &gt;= T, the same vocabulary)
     * @param batchSize B
     * @param seqLen    T
     * @param batches   forward passes per repeat, &gt;= 1
     * @param repeats   timed repeats, &gt;= 1
     * @param seed      seed of the random token ids
     * @return one result per model, in order
     */
    public static List<Result> measure(List<Gpt> models, int batchSize, int seqLen, int batches, int repeats, long seed) {
        if (models == null || models.isEmpty()) throw new IllegalArgumentException("models: need at least one model");
        List<Forward> forwards = new ArrayList<>();
        int vocab = models.get(0).config().vocabSize();
        for (Gpt m : models) {
            checkCapacity(m.maxBatch(), m.maxSequenceLength(), batchSize, seqLen);
            vocab = Math.min(vocab, m.config().vocabSize());
            forwards.add(ids -> m.inEvalMode(() -> pass(ids, x -> m.forward(x, null, batchSize, seqLen))));
        }
        return measureForwards(forwards, vocab, batchSize, seqLen, batches, repeats, seed);
    }

    /**
     * Measures any causal LMs (e.g. a float {@link Gpt} through {@link CausalLm#of} beside a packed quantized
     * model) on the same batches, exactly as {@link #measure}: each pass computes the logits of every batch.
     */
    public static List<Result> measureModels(List<? extends CausalLm> models, int batchSize, int seqLen, int batches,
                                             int repeats, long seed) {
        if (models == null || models.isEmpty()) throw new IllegalArgumentException("models: need at least one model");
        List<Forward> forwards = new ArrayList<>();
        int vocab = models.get(0).vocabSize();
        for (CausalLm m : models) {
            checkCapacity(m.maxBatch(), m.maxSequenceLength(), batchSize, seqLen);
            vocab = Math.min(vocab, m.vocabSize());
            forwards.add(ids -> pass(ids, x -> m.logits(x, batchSize, seqLen)));
        }
        return measureForwards(forwards, vocab, batchSize, seqLen, batches, repeats, seed);
    }

    /**
     * Measures BERT encoders (embeddings and layers, no MLM head: what a classifier or any task head runs on)
     * on the same batches of full-length rows; dropout must be off (a freshly loaded model has none).
     */
    public static List<Result> measureEncoders(List<Bert> models, int batchSize, int seqLen, int batches, int repeats,
                                               long seed) {
        if (models == null || models.isEmpty()) throw new IllegalArgumentException("models: need at least one model");
        List<Forward> forwards = new ArrayList<>();
        int vocab = models.get(0).config().vocabSize();
        for (Bert m : models) {
            checkCapacity(m.maxBatch(), m.maxSequenceLength(), batchSize, seqLen);
            vocab = Math.min(vocab, m.config().vocabSize());
            forwards.add(ids -> pass(ids, x -> m.forwardEncoder(x, null, null, batchSize, seqLen)));
        }
        return measureForwards(forwards, vocab, batchSize, seqLen, batches, repeats, seed);
    }

    /** One model's timed pass over every batch of token ids ([batches][B*T]); returns seconds. */
    private interface Forward {
        double time(int[][] ids);
    }

    private static void checkCapacity(int maxB, int maxT, int batchSize, int seqLen) {
        if (maxB < batchSize || maxT < seqLen) {
            throw new IllegalArgumentException("models: a model built for " + maxB + " x " + maxT
                    + " cannot run batches of " + batchSize + " x " + seqLen);
        }
    }

    private static List<Result> measureForwards(List<Forward> models, int vocab, int batchSize, int seqLen, int batches,
                                                int repeats, long seed) {
        if (batches < 1) throw new IllegalArgumentException("batches: must be >= 1 but was " + batches);
        if (repeats < 1) throw new IllegalArgumentException("repeats: must be >= 1 but was " + repeats);
        Random r = new Random(seed);
        int[][] ids = new int[batches][batchSize * seqLen];                   // [batches][B*T]
        for (int[] b : ids) for (int i = 0; i < b.length; i++) b[i] = r.nextInt(vocab);
        long tokens = (long) batches * batchSize * seqLen;
        double[][] rates = new double[models.size()][repeats];
        for (Forward m : models) {                                             // warm-up
            double spent = 0;
            do {
                spent += m.time(ids);
            } while (spent < WARM_UP_SECONDS);
        }
        for (int k = 0; k < repeats; k++) {
            for (int i = 0; i < models.size(); i++) {
                rates[i][k] = tokens / Math.max(models.get(i).time(ids), 1e-9);
            }
        }
        List<Result> out = new ArrayList<>();
        for (double[] x : rates) {
            double[] s = x.clone();
            Arrays.sort(s);
            double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
            out.add(new Result(median, s[0], s[s.length - 1], tokens, repeats));
        }
        return out;
    }

    /** Seconds for one forward over every batch. */
    private static double pass(int[][] ids, java.util.function.Consumer<int[]> forward) {
        long t0 = System.nanoTime();
        for (int[] batch : ids) forward.accept(batch);
        return (System.nanoTime() - t0) / 1e9;
    }
}
