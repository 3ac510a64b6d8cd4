package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.distillery.engine.kernels.AttentionKlKernel;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Bert;
import org.distillery.model.Gpt;
import org.distillery.model.Mlp;
import org.distillery.model.TrainableModel;
import org.distillery.train.CausalLmObjective;
import org.distillery.train.ClassificationObjective;
import org.distillery.train.MaskedLmObjective;
import org.distillery.train.Trainer;
import org.distillery.train.TrainingObjective;
import org.distillery.train.WrappingObjective;
import org.distillery.util.Seeds;

/**
 * Knowledge distillation as a {@link TrainingObjective} for the generic {@link Trainer}: a fixed teacher
 * and a student of the same family (MLP classifiers, GPT-2 or BERT models), trained on the micro-batches of
 * the student's own task objective ({@link ClassificationObjective}, {@link CausalLmObjective},
 * {@link MaskedLmObjective}) with a weighted sum of
 * <pre>
 *   task * CE(task labels, student)                                    hard labels / next token / masked tokens
 * + soft * f * KL(softmax(teacher / T) || softmax(student / T))          f = T^2 or 1       ({@link HintonLoss})
 * + cos  * (1 - cos(h_student, h_teacher))                             last hidden states ({@link HiddenStateLoss})
 * + mse  * |P h_student - h_teacher|^2 / H                             last hidden states, P learned if widths differ
 * + attn * KL(A_teacher || A_student)                                  last layer's attention maps (MiniLM), GPT/BERT
 * </pre>
 * Each term is on when its weight is &gt; 0 (as the reference scripts do); weights and T are
 * {@link Schedule}s over the optimiser step. Hinton et al.: task = alpha, soft = 1 - alpha. DistilBERT:
 * soft (their alpha_ce) 5, task (alpha_mlm) 2, cos 1, T = 2.
 *
 * <p>Rows: the soft and hidden terms count every row of an MLP batch, every position of a GPT window,
 * and every non-padding position of a BERT batch (DistilBERT's default); the task term counts the rows
 * with a label (BERT: the masked positions).
 *
 * <p>The teacher runs forward only (GPT and MLP in evaluation mode; a BERT teacher's dropout is switched
 * off). With a {@link TeacherOutputCache} its logits (and hidden states when a hidden term is on) of
 * micro-batch i are stored under {@code mb-<i>} and read back in later runs, so repeated student runs
 * against one teacher do not recompute them; the result is the same bit for bit.
 *
 * <p>{@link #model()} is the student plus the learned projections of the hidden terms
 * ({@link DistillationStudent}): the optimiser trains both, checkpoints keep both.
 */
public final class Distiller implements WrappingObjective {
    /** {@link #kind()}. */
    public static final String KIND = "distillation";

    /**
     * Loss weights and temperature.
     *
     * @param task               weight of the task loss on hard labels
     * @param soft               weight of the soft-target KL (Hinton's 1 - alpha, DistilBERT's alpha_ce)
     * @param cos                weight of the cosine loss on the last hidden states
     * @param mse                weight of the MSE on the last hidden states
     * @param attention          weight of the KL between the last layer's attention maps (same head count needed)
     * @param temperature        T &gt; 0
     * @param squaredTemperature whether the soft term is multiplied by T^2 (Hinton et al.)
     */
    public record Options(Schedule task, Schedule soft, Schedule cos, Schedule mse, Schedule attention,
                          Schedule temperature, boolean squaredTemperature) {
        public Options {
            if (task == null || soft == null || cos == null || mse == null || attention == null || temperature == null) {
                throw new IllegalArgumentException("task, soft, cos, mse, attention, temperature: schedules must not be"
                        + " null (use Schedule.constant(0) for a term that is off)");
            }
            checkWeight("task", task);
            checkWeight("soft", soft);
            checkWeight("cos", cos);
            checkWeight("mse", mse);
            checkWeight("attention", attention);
            if (task.max() == 0 && soft.max() == 0 && cos.max() == 0 && mse.max() == 0 && attention.max() == 0) {
                throw new IllegalArgumentException("task, soft, cos, mse, attention: every weight is 0 at every step; at"
                        + " least one loss term must be on");
            }
            if (!(temperature.min() > 0)) {
                throw new IllegalArgumentException("temperature: must be > 0 at every step but is " + temperature);
            }
        }

        /** Options without the attention term. */
        public Options(Schedule task, Schedule soft, Schedule cos, Schedule mse, Schedule temperature,
                       boolean squaredTemperature) {
            this(task, soft, cos, mse, Schedule.constant(0), temperature, squaredTemperature);
        }

        private static void checkWeight(String name, Schedule w) {
            if (w.min() < 0) throw new IllegalArgumentException(name + ": weight must be >= 0 but is " + w);
        }

        /** Hinton et al.: alpha * CE + (1 - alpha) T^2 KL, constant T. */
        public static Options hinton(double alpha, double temperature) {
            if (!(alpha >= 0 && alpha <= 1)) {
                throw new IllegalArgumentException("alpha: the hard-label weight must be in [0, 1] but was " + alpha);
            }
            return new Options(Schedule.constant(alpha), Schedule.constant(1 - alpha), Schedule.constant(0),
                    Schedule.constant(0), Schedule.constant(temperature), true);
        }

        /** Constant weights and temperature, soft term scaled by T^2. */
        public static Options of(double task, double soft, double cos, double mse, double temperature) {
            return new Options(Schedule.constant(task), Schedule.constant(soft), Schedule.constant(cos),
                    Schedule.constant(mse), Schedule.constant(temperature), true);
        }

        /** The same options with the T^2 factor switched. */
        public Options withSquaredTemperature(boolean on) {
            return new Options(task, soft, cos, mse, attention, temperature, on);
        }

        /** The same options with the attention-map term weighted by {@code weight}. */
        public Options withAttention(Schedule weight) {
            return new Options(task, soft, cos, mse, weight, temperature, squaredTemperature);
        }

        boolean needsHidden() { return cos.max() > 0 || mse.max() > 0; }

        boolean needsAttention() { return attention.max() > 0; }

        ObjectNode toJson() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.set("task", task.toJson());
            o.set("soft", soft.toJson());
            o.set("cos", cos.toJson());
            o.set("mse", mse.toJson());
            o.set("attention", attention.toJson());
            o.set("temperature", temperature.toJson());
            o.put("squared_temperature", squaredTemperature);
            return o;
        }

        static Options fromJson(JsonNode o) {
            return new Options(Schedule.fromJson(o.path("task")), Schedule.fromJson(o.path("soft")),
                    Schedule.fromJson(o.path("cos")), Schedule.fromJson(o.path("mse")),
                    o.has("attention") ? Schedule.fromJson(o.path("attention")) : Schedule.constant(0),
                    Schedule.fromJson(o.path("temperature")), o.path("squared_temperature").asBoolean(true));
        }
    }

    /** The last micro-batch's loss terms before weighting (NaN where a term is not computed). */
    public record Terms(double total, double task, double soft, double cos, double mse, double attention,
                        double temperature) {}

    private final Pair pair;
    private final TrainingObjective task;
    private final Options options;
    private final TeacherOutputCache cache;
    private final String teacherFingerprint;
    private final DistillationStudent student;
    private final HiddenStateLoss cosLoss, mseLoss;     // null when the term is never on
    private final FloatTensor dlogits, dhidden;         // [N, V], [N, Hs] (null without hidden terms)
    private final FloatTensor cachedLogits, cachedHidden;  // [N, V], [N, Ht] (null without a cache)
    private final FloatTensor dattention, cachedAttention; // [B, nh, T, T] (null without the attention term / cache)
    private final FloatTensor scratch;                  // [3, V]
    private final double[] parts = new double[2];
    private Terms last;

    private Distiller(Pair pair, TrainingObjective task, Options options, TeacherOutputCache cache, long seed) {
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        this.pair = pair;
        this.task = task;
        this.options = options;
        this.teacherFingerprint = TeacherOutputCache.fingerprint(pair.teacher().parameters());
        if (cache != null && !cache.fingerprint().equals(teacherFingerprint)) {
            throw new IllegalArgumentException("cache: " + cache.dir() + " belongs to teacher " + cache.fingerprint()
                    + ", not to this teacher (" + teacherFingerprint + ")");
        }
        this.cache = cache;
        int n = pair.rows(), v = pair.vocab();
        if (options.needsAttention()) {
            if (pair.attentionShape() == null) {
                throw new IllegalArgumentException("options: the attention term needs attention maps, which an MLP pair"
                        + " does not have; set its weight to 0");
            }
            if (pair.teacherHeads() != pair.attentionShape()[1]) {
                throw new IllegalArgumentException("options: the attention term needs the same number of heads, but the"
                        + " teacher has " + pair.teacherHeads() + " and the student " + pair.attentionShape()[1]);
            }
        }
        if (options.needsHidden() && pair.studentWidth() < 0) {
            throw new IllegalArgumentException("options: the cos/mse terms need hidden states, which an MLP pair does not"
                    + " expose; set their weights to 0");
        }
        this.cosLoss = options.cos().max() > 0
                ? new HiddenStateLoss(HiddenStateLoss.Kind.COSINE, pair.studentWidth(), pair.teacherWidth(), seed) : null;
        this.mseLoss = options.mse().max() > 0
                ? new HiddenStateLoss(HiddenStateLoss.Kind.MSE, pair.studentWidth(), pair.teacherWidth(), seed + 1) : null;
        this.student = new DistillationStudent(pair.student(), cosLoss, mseLoss);
        this.dlogits = FloatTensor.zeros(n, v);
        this.dhidden = options.needsHidden() ? FloatTensor.zeros(n, pair.studentWidth()) : null;
        this.cachedLogits = cache != null ? FloatTensor.zeros(n, v) : null;
        this.cachedHidden = cache != null && options.needsHidden() ? FloatTensor.zeros(n, pair.teacherWidth()) : null;
        if (options.needsAttention()) {
            int[] shape = pair.attentionShape();
            this.dattention = FloatTensor.zeros(shape);
            this.cachedAttention = cache != null ? FloatTensor.zeros(shape) : null;
        } else {
            this.dattention = this.cachedAttention = null;
        }
        this.scratch = FloatTensor.zeros(3, v);
    }

    // ------------------------------------------------------------------------------------------------
    // the three families

    /**
     * MLP classifiers (Hinton et al.'s MNIST nets): the student trains on {@code task}'s examples (its
     * jitter and dropout); the teacher sees the same, jittered inputs, in evaluation mode.
     *
     * @param cache where teacher outputs are kept between runs, or null
     */
    public static Distiller of(Mlp teacher, ClassificationObjective task, Options options, TeacherOutputCache cache) {
        return new Distiller(new MlpPair(teacher, task), task, options, cache, 0);
    }

    /** GPT-2 models on {@code task}'s windows; every position counts in the soft and hidden terms. */
    public static Distiller of(Gpt teacher, CausalLmObjective task, Options options, TeacherOutputCache cache) {
        return new Distiller(new GptPair(teacher, task), task, options, cache, task.config().seed());
    }

    /** BERT models on {@code task}'s masked batches; non-padding positions count in the soft and hidden terms. */
    public static Distiller of(Bert teacher, MaskedLmObjective task, Options options, TeacherOutputCache cache) {
        return new Distiller(new BertPair(teacher, task), task, options, cache, task.options().seed());
    }

    /**
     * The restorer of a checkpoint of a distillation run: the task objective from {@code taskRestorer}
     * (which loads the student), the options and hidden-loss projections from the checkpoint; the
     * teacher must be the run's (checked by fingerprint).
     */
    public static Restorer restorer(TrainableModel teacher, Restorer taskRestorer, TeacherOutputCache cache) {
        return (modelDir, stored) -> {
            String fp = TeacherOutputCache.fingerprint(teacher.parameters());
            String was = stored.path("teacher").asText();
            if (!fp.equals(was)) {
                throw new IllegalArgumentException("teacher: the checkpoint was distilled from teacher " + was
                        + ", not from this one (" + fp + ")");
            }
            TrainingObjective t = taskRestorer.restore(modelDir, stored.path("task"));
            Options o = Options.fromJson(stored.path("options"));
            Distiller d;
            if (teacher instanceof Mlp m && t instanceof ClassificationObjective c) d = of(m, c, o, cache);
            else if (teacher instanceof Gpt g && t instanceof CausalLmObjective c) d = of(g, c, o, cache);
            else if (teacher instanceof Bert b && t instanceof MaskedLmObjective c) d = of(b, c, o, cache);
            else throw new IllegalArgumentException("teacher: a " + teacher.getClass().getSimpleName()
                        + " cannot teach the restored " + t.kind() + " task");
            d.student.loadProjections(modelDir);
            return d;
        };
    }

    // ------------------------------------------------------------------------------------------------
    // TrainingObjective

    @Override
    public double forwardBackward(MicroBatch batch) {
        int step = batch.step();
        double wTask = options.task().at(step), wSoft = options.soft().at(step);
        double wCos = options.cos().at(step), wMse = options.mse().at(step), temp = options.temperature().at(step);
        double wAttn = options.attention().at(step);
        pair.prepare(batch);
        FloatTensor sLogits = pair.forwardStudent();
        FloatTensor tLogits, tHidden = null, tAttention = null;
        boolean hidden = dhidden != null, attention = dattention != null;
        String key = "mb-" + batch.index();
        String inputs = cache == null ? null : pair.inputFingerprint();
        if (cache != null && cache.load(key + "-logits", cachedLogits, inputs)
                && (!hidden || cache.load(key + "-hidden", cachedHidden, inputs))
                && (!attention || cache.load(key + "-attention", cachedAttention, inputs))) {
            tLogits = cachedLogits;
            tHidden = cachedHidden;
            tAttention = cachedAttention;
        } else {
            tLogits = pair.forwardTeacher();
            if (hidden) tHidden = pair.teacherHidden();
            if (attention) tAttention = pair.teacherAttention();
            if (cache != null) {
                cache.store(key + "-logits", tLogits, inputs);
                if (hidden) cache.store(key + "-hidden", tHidden, inputs);
                if (attention) cache.store(key + "-attention", tAttention, inputs);
            }
        }
        double softFactor = options.squaredTemperature() ? temp * temp : 1.0;
        double total = HintonLoss.weighted(sLogits, tLogits, pair.labels(), pair.softRows(), wTask, wSoft * softFactor, temp, dlogits, scratch, parts);
        double cos = Double.NaN, mse = Double.NaN;
        if (hidden) {
            dhidden.fill(0f);
            FloatTensor sHidden = pair.studentHidden();
            if (cosLoss != null) {
                cos = cosLoss.forwardBackward(sHidden, tHidden, pair.softRows(), wCos, dhidden);
                total += wCos * cos;
            }
            if (mseLoss != null) {
                mse = mseLoss.forwardBackward(sHidden, tHidden, pair.softRows(), wMse, dhidden);
                total += wMse * mse;
            }
        }
        double attn = Double.NaN;
        if (attention) {
            attn = AttentionKlKernel.forwardBackward(pair.studentAttention(), tAttention, pair.attentionShape()[0],
                    pair.lengths(), wAttn, dattention);
            total += wAttn * attn;
        }
        last = new Terms(total, parts[0], wSoft > 0 ? parts[1] : Double.NaN, cos, mse, attn, temp);
        if (Double.isFinite(total)) {
            if (attention) pair.addStudentAttentionGradient(dattention);
            pair.backwardStudent(dlogits, dhidden);
        }
        return total;
    }

    /** The loss terms of the last micro-batch (before weighting), or null before the first. */
    public Terms lastTerms() { return last; }

    @Override
    public DistillationStudent model() { return student; }

    /** The student model itself (without the projections). */
    public TrainableModel studentModel() { return pair.student(); }

    public TrainableModel teacher() { return pair.teacher(); }

    public TrainingObjective task() { return task; }

    /** The task objective: its batches, and its validation loss is the student's validation loss. */
    @Override
    public TrainingObjective inner() { return task; }

    public Options options() { return options; }

    @Override
    public String kind() { return KIND; }

    @Override
    public ObjectNode state() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("kind", KIND);
        o.put("teacher", teacherFingerprint);
        o.set("options", options.toJson());
        o.set("task", task.state());
        return o;
    }

    // ------------------------------------------------------------------------------------------------
    // pairs

    /** What the loss needs of a teacher/student pair on one prepared micro-batch of N rows. */
    private interface Pair {
        TrainableModel teacher();

        TrainableModel student();

        int rows();

        int vocab();

        /** Hidden widths, -1 when the family exposes no hidden state. */
        int studentWidth();

        int teacherWidth();

        void prepare(MicroBatch batch);

        /** A fingerprint of the prepared batch's teacher inputs (what the teacher's outputs depend on). */
        String inputFingerprint();

        FloatTensor forwardStudent();

        FloatTensor forwardTeacher();

        FloatTensor studentHidden();

        FloatTensor teacherHidden();

        int[] labels();

        boolean[] softRows();

        /** The student's attention-map shape [B, nh, T, T], null when the family has none. */
        int[] attentionShape();

        int teacherHeads();

        /** Real sequence lengths of the prepared batch [B], or null when every row is real. */
        int[] lengths();

        FloatTensor studentAttention();

        FloatTensor teacherAttention();

        void addStudentAttentionGradient(FloatTensor g);

        void backwardStudent(FloatTensor dlogits, FloatTensor dhidden);
    }

    private static void sameWidth(String what, int teacher, int student) {
        if (teacher != student) {
            throw new IllegalArgumentException("teacher: " + what + " " + teacher + " differs from the student's " + student
                    + "; teacher and student must share it");
        }
    }

    /** The shape and 64-bit hashes ({@link Seeds#hash}) of a token batch's ids and lengths. */
    private static String fingerprint(int[] ids, int[] lengths, int b, int t) {
        return b + "x" + t + ":" + Long.toHexString(Seeds.hash(ids))
                + (lengths == null ? "" : ":" + Long.toHexString(Seeds.hash(lengths)));
    }

    private static void checkCapacity(int maxB, int maxT, int b, int t) {
        if (maxB < b || maxT < t) {
            throw new IllegalArgumentException("teacher: built for batches up to " + maxB + " x " + maxT
                    + " but the task needs " + b + " x " + t);
        }
    }

    private static final class MlpPair implements Pair {
        final Mlp teacher, student;
        final ClassificationObjective task;
        final int b;

        MlpPair(Mlp teacher, ClassificationObjective task) {
            if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
            if (task == null) throw new IllegalArgumentException("task: must not be null");
            this.teacher = teacher;
            this.student = task.model();
            this.task = task;
            this.b = task.options().batchSize();
            sameWidth("input width", teacher.inputWidth(), student.inputWidth());
            sameWidth("number of classes", teacher.classes(), student.classes());
            if (teacher.maxBatch() < b) {
                throw new IllegalArgumentException("teacher: built for batches up to " + teacher.maxBatch()
                        + " but the task's batch size is " + b);
            }
        }

        public TrainableModel teacher() { return teacher; }
        public TrainableModel student() { return student; }
        public int rows() { return b; }
        public int vocab() { return student.classes(); }
        public int studentWidth() { return -1; }
        public int teacherWidth() { return -1; }
        public void prepare(MicroBatch batch) { task.prepare(batch); }

        public String inputFingerprint() { return b + ":" + Long.toHexString(Seeds.hash(task.inputs())); }

        public FloatTensor forwardStudent() {
            student.forward(task.inputs(), null, b);
            return student.logits();
        }

        public FloatTensor forwardTeacher() {
            boolean was = teacher.isTraining();
            teacher.eval();
            teacher.forward(task.inputs(), null, b);
            if (was) teacher.train();
            return teacher.logits();
        }

        public FloatTensor studentHidden() { throw new UnsupportedOperationException("an MLP exposes no hidden state"); }
        public FloatTensor teacherHidden() { throw new UnsupportedOperationException("an MLP exposes no hidden state"); }
        public int[] labels() { return task.labels(); }
        public boolean[] softRows() { return null; }
        public int[] attentionShape() { return null; }
        public int teacherHeads() { return 0; }
        public int[] lengths() { return null; }
        public FloatTensor studentAttention() { throw new UnsupportedOperationException("an MLP has no attention"); }
        public FloatTensor teacherAttention() { throw new UnsupportedOperationException("an MLP has no attention"); }
        public void addStudentAttentionGradient(FloatTensor g) { throw new UnsupportedOperationException("an MLP has no attention"); }
        public void backwardStudent(FloatTensor dlogits, FloatTensor dhidden) { student.backwardFromLogits(dlogits); }
    }

    private static final class GptPair implements Pair {
        final Gpt teacher, student;
        final CausalLmObjective task;
        final int b, t;

        GptPair(Gpt teacher, CausalLmObjective task) {
            if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
            if (task == null) throw new IllegalArgumentException("task: must not be null");
            this.teacher = teacher;
            this.student = task.model();
            this.task = task;
            this.b = task.config().batchSize();
            this.t = task.config().seqLen();
            sameWidth("vocab_size", teacher.config().vocabSize(), student.config().vocabSize());
            checkCapacity(teacher.maxBatch(), teacher.maxSequenceLength(), b, t);
        }

        public TrainableModel teacher() { return teacher; }
        public TrainableModel student() { return student; }
        public int rows() { return b * t; }
        public int vocab() { return student.config().vocabSize(); }
        public int studentWidth() { return student.config().nEmbd(); }
        public int teacherWidth() { return teacher.config().nEmbd(); }
        public void prepare(MicroBatch batch) { task.prepare(batch); }

        public String inputFingerprint() { return fingerprint(task.inputIds(), null, b, t); }

        public FloatTensor forwardStudent() {
            student.forward(task.inputIds(), null, b, t);
            return student.logits();
        }

        public FloatTensor forwardTeacher() {
            return teacher.inEvalMode(() -> {
                teacher.forward(task.inputIds(), null, b, t);
                return teacher.logits();
            });
        }

        public FloatTensor studentHidden() { return student.lastHiddenState(); }
        public FloatTensor teacherHidden() { return teacher.lastHiddenState(); }
        public int[] labels() { return task.targets(); }
        public boolean[] softRows() { return null; }
        public int[] attentionShape() { return new int[] {b, student.config().nHead(), t, t}; }
        public int teacherHeads() { return teacher.config().nHead(); }
        public int[] lengths() { return null; }
        public FloatTensor studentAttention() { return student.lastLayerAttention(); }
        public FloatTensor teacherAttention() { return teacher.lastLayerAttention(); }
        public void addStudentAttentionGradient(FloatTensor g) { student.addLastLayerAttentionGradient(g); }
        public void backwardStudent(FloatTensor dlogits, FloatTensor dhidden) { student.backward(dlogits, dhidden); }
    }

    private static final class BertPair implements Pair {
        final Bert teacher, student;
        final MaskedLmObjective task;
        final int b, t;
        final boolean[] rows;        // [B*T] non-padding positions of the prepared batch

        BertPair(Bert teacher, MaskedLmObjective task) {
            if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
            if (task == null) throw new IllegalArgumentException("task: must not be null");
            this.teacher = teacher;
            this.student = task.model();
            this.task = task;
            this.b = task.options().batchSize();
            this.t = task.seqLen();
            sameWidth("vocab_size", teacher.config().vocabSize(), student.config().vocabSize());
            checkCapacity(teacher.maxBatch(), teacher.maxSequenceLength(), b, t);
            teacher.setDropout(0, 0);
            this.rows = new boolean[b * t];
        }

        public TrainableModel teacher() { return teacher; }
        public TrainableModel student() { return student; }
        public int rows() { return b * t; }
        public int vocab() { return student.config().vocabSize(); }
        public int studentWidth() { return student.config().hiddenSize(); }
        public int teacherWidth() { return teacher.config().hiddenSize(); }

        public void prepare(MicroBatch batch) {
            task.prepare(batch);
            int[] len = task.lengths();
            for (int r = 0; r < b; r++) {
                for (int p = 0; p < t; p++) rows[r * t + p] = p < len[r];
            }
        }

        public String inputFingerprint() { return fingerprint(task.inputIds(), task.lengths(), b, t); }

        public FloatTensor forwardStudent() {
            student.forward(task.inputIds(), null, task.lengths(), null, b, t);
            return student.logits();
        }

        public FloatTensor forwardTeacher() {
            teacher.forward(task.inputIds(), null, task.lengths(), null, b, t);
            return teacher.logits();
        }

        public FloatTensor studentHidden() { return student.lastHiddenState(); }
        public FloatTensor teacherHidden() { return teacher.lastHiddenState(); }
        public int[] labels() { return task.labels(); }
        public boolean[] softRows() { return rows; }
        public int[] attentionShape() { return new int[] {b, student.config().numAttentionHeads(), t, t}; }
        public int teacherHeads() { return teacher.config().numAttentionHeads(); }
        public int[] lengths() { return task.lengths(); }
        public FloatTensor studentAttention() { return student.lastLayerAttention(); }
        public FloatTensor teacherAttention() { return teacher.lastLayerAttention(); }
        public void addStudentAttentionGradient(FloatTensor g) { student.addLastLayerAttentionGradient(g); }
        public void backwardStudent(FloatTensor dlogits, FloatTensor dhidden) { student.backward(dlogits, dhidden); }
    }
}
