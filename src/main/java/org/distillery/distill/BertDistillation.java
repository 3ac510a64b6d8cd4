package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.data.BrownCorpus;
import org.distillery.data.GenrePassages;
import org.distillery.eval.ClassificationAccuracy;
import org.distillery.eval.MaskedLmEval;
import org.distillery.eval.UnigramBaseline;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.model.BertClassifier;
import org.distillery.model.NamedParameters;
import org.distillery.notebook.Profile;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.tokenize.WordPieceTrainer;
import org.distillery.train.LoopConfig;
import org.distillery.train.MaskedLmBatches;
import org.distillery.train.MaskedLmObjective;
import org.distillery.train.GenreTask;
import org.distillery.train.SequenceFraming;
import org.distillery.train.TrainingObjective;
import org.distillery.util.ArtifactCache;

/**
 * The DistilBERT experiment on the Brown corpus (notebook {@code 11-distilbert-students}): a BERT teacher
 * pre-trained with masked language modelling, half-depth students trained by each {@link BertStudentRecipe},
 * and every model fine-tuned on the downstream task of classifying Brown passages into the corpus' 15 genres
 * ({@link GenrePassages}).
 *
 * <ol>
 *   <li><b>Tokenizer</b>: WordPiece ({@link WordPieceTrainer}, uncased) learned on the training split's text;
 *       the training and validation splits are encoded whole.</li>
 *   <li><b>Teacher</b>: {@link Bert} with {@link Setup#teacherConfig}, trained by {@link MaskedLmObjective} on
 *       the training stream cut into {@code [CLS] 62 tokens [SEP]} rows (for T = 64), BERT's 15 % masking.</li>
 *   <li><b>Students</b>: half the layers, same width; trained on the same micro-batches (same rows, same
 *       masks) for {@link Setup#studentSteps} steps. Teacher-initialised students take teacher layers
 *       {@link StudentInitializer#spread} (the released DistilBERT map for 12 -&gt; 6) plus embeddings and MLM
 *       head; random students use the seed's initialisation (the same for every random recipe). The distilled
 *       recipes train with {@link Distiller}: L = a_ce T^2 KL(teacher/T || student/T) over non-padding positions +
 *       a_mlm L_mlm + a_cos (1 - cos(h_s, h_t)) on last hidden states, each term on as the recipe says, with
 *       {@link Setup#weights}.</li>
 *   <li><b>Scores</b>: masked-token perplexity and accuracy on the validation split ({@link MaskedLmEval},
 *       fixed masking seed, the same positions for every model; rows, training and scores are {@link BrownMaskedLm}'s,
 *       shared with {@code ./lab distill}); genre accuracy on the <em>test</em> split's
 *       passages after fine-tuning ({@link GenreTask#fineTune}; fixed hyperparameters, nothing is
 *       selected on the test split). Passages of one document are in one split only.</li>
 * </ol>
 *
 * <p><b>Caching.</b> Every trained model is an artifact folder ({@link ArtifactCache#write}) keyed by its
 * configuration, the data sums and the code, and, for students and fine-tuned models, the folder of the model
 * they start from: a notebook re-run loads them. A pre-trained folder holds {@code model/} (a Hugging Face BERT
 * directory with {@code vocab.txt}), {@code run/metrics.csv} and {@code summary.json}; a fine-tuned one
 * {@code model/} (encoder + {@code classifier.safetensors}) and {@code summary.json}.
 */
public final class BertDistillation {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Masking seed of every masked-LM evaluation (the same masked positions for every model): {@link BrownMaskedLm#EVAL_SEED}. */
    public static final long MLM_EVAL_SEED = BrownMaskedLm.EVAL_SEED;

    /**
     * DistilBERT's loss weights (a_ce, a_mlm, a_cos) and temperature.
     *
     * @param ce          weight of the soft-target KL (times T^2)
     * @param mlm         weight of the student's masked-LM loss
     * @param cos         weight of the cosine loss on last hidden states
     * @param temperature T &gt; 0
     */
    public record Weights(double ce, double mlm, double cos, double temperature) {
        public Weights {
            if (!(ce >= 0) || !(mlm >= 0) || !(cos >= 0) || Double.isInfinite(ce + mlm + cos)) {
                throw new IllegalArgumentException("ce, mlm, cos: weights must be finite and >= 0 but were " + ce + ", " + mlm
                        + ", " + cos);
            }
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature: must be finite and > 0 but was " + temperature);
            }
        }

        /** The released DistilBERT training command: a_ce 5, a_mlm 2, a_cos 1, T = 2. */
        public static Weights distilBert() { return new Weights(5, 2, 1, 2); }

        /** The distiller options of {@code recipe}: this recipe's terms at these weights, the others off. */
        public Distiller.Options options(BertStudentRecipe recipe) {
            return Distiller.Options.of(recipe.mlm() ? mlm : 0, recipe.ce() ? ce : 0, recipe.cos() ? cos : 0, 0, temperature);
        }
    }

    /**
     * The whole experiment's settings.
     *
     * @param vocabSize      WordPiece vocabulary size
     * @param hidden         width H of teacher and students
     * @param teacherLayers  teacher depth, even, &gt;= 2 (students have half)
     * @param heads          attention heads (H divisible by it); the MLP is 4H wide
     * @param seqLen         T, rows with [CLS] and [SEP]
     * @param batchSize      B of pre-training, distillation and fine-tuning
     * @param teacherSteps   teacher pre-training steps
     * @param studentSteps   steps of every student (with or without teacher)
     * @param lrMax          peak learning rate of pre-training and distillation (warm-up 5 %, cosine to lrMax / 10)
     * @param dropout        dropout in pre-training, distillation and fine-tuning
     * @param fineTuneSteps  fine-tuning steps on the genre task
     * @param fineTuneLr     fine-tuning peak learning rate (warm-up 10 %, cosine to a tenth)
     * @param mlmEvalTokens  validation tokens the masked-LM scores use (0 = all)
     * @param seed           initialisation, data order and masking seed of pre-training and distillation
     * @param weights        the distillation weights
     */
    public record Setup(int vocabSize, int hidden, int teacherLayers, int heads, int seqLen, int batchSize,
                        int teacherSteps, int studentSteps, double lrMax, double dropout, int fineTuneSteps,
                        double fineTuneLr, int mlmEvalTokens, long seed, Weights weights) {
        public Setup {
            if (teacherLayers < 2 || teacherLayers % 2 != 0) {
                throw new IllegalArgumentException("teacherLayers: must be even and >= 2 (students have half) but was "
                        + teacherLayers);
            }
            if (heads < 1 || hidden < 1 || hidden % heads != 0) {
                throw new IllegalArgumentException("hidden, heads: hidden must be a positive multiple of heads but were "
                        + hidden + ", " + heads);
            }
            if (seqLen < 4) throw new IllegalArgumentException("seqLen: must be >= 4 but was " + seqLen);
            if (batchSize < 1) throw new IllegalArgumentException("batchSize: must be >= 1 but was " + batchSize);
            if (teacherSteps < 1 || studentSteps < 1 || fineTuneSteps < 1) {
                throw new IllegalArgumentException("teacherSteps, studentSteps, fineTuneSteps: must be >= 1 but were "
                        + teacherSteps + ", " + studentSteps + ", " + fineTuneSteps);
            }
            if (mlmEvalTokens < 0) throw new IllegalArgumentException("mlmEvalTokens: must be >= 0 but was " + mlmEvalTokens);
            if (weights == null) throw new IllegalArgumentException("weights: must not be null");
        }

        /**
         * The notebook's settings. Quick: vocabulary 600, H 64, 2 -&gt; 1 layers, 2 heads, T 32, B 16, 400 / 250
         * steps, 400 fine-tuning steps, masked-LM scores on 20,000 validation tokens. Full: vocabulary 1,000, H 128,
         * 4 -&gt; 2 layers, 4 heads, T 64, B 16, 1,200 / 300 steps (the teacher trains longest, so that a student
         * starting from its layers does not simply continue its training), 250 fine-tuning steps, every validation
         * token. (The full profile used B 32 and 1,500 / 400 steps until the whole full profile had to fit in an
         * hour on two cores; smaller batches with more steps each keep more of the learning per second.) Both: lr 2e-3, dropout 0.1, fine-tuning lr 1e-3, seed 1, DistilBERT's weights.
         */
        public static Setup of(Profile profile) {
            return profile.pick(
                    new Setup(600, 64, 2, 2, 32, 16, 400, 250, 2e-3, 0.1, 400, 1e-3, 20_000, 1, Weights.distilBert()),
                    new Setup(1000, 128, 4, 4, 64, 16, 1200, 300, 2e-3, 0.1, 250, 1e-3, 0, 1, Weights.distilBert()));
        }

        public BertConfig teacherConfig(int vocab) { return config(vocab, teacherLayers); }

        public BertConfig studentConfig(int vocab) { return config(vocab, teacherLayers / 2); }

        private BertConfig config(int vocab, int layers) {
            return new BertConfig(vocab, hidden, layers, heads, 4 * hidden, "gelu", seqLen, 2, 1e-12,
                    Map.of("pad_token_id", 0));
        }

        /** Student layer i takes teacher layer map[i] ({@link StudentInitializer#spread}). */
        public int[] layerMap() { return StudentInitializer.spread(teacherLayers, teacherLayers / 2); }

        /** What decides the teacher: model, data order, optimisation and the masked-LM scoring. */
        ObjectNode teacherJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("vocab_size", vocabSize).put("hidden", hidden).put("teacher_layers", teacherLayers).put("heads", heads)
                    .put("seq_len", seqLen).put("batch_size", batchSize).put("teacher_steps", teacherSteps)
                    .put("lr_max", lrMax).put("dropout", dropout).put("mlm_eval_tokens", mlmEvalTokens).put("seed", seed);
            return o;
        }

        /** What decides a student besides its recipe and teacher. */
        ObjectNode studentJson() {
            ObjectNode o = teacherJson();
            o.remove("teacher_steps");
            o.put("student_steps", studentSteps);
            o.putObject("weights").put("ce", weights.ce()).put("mlm", weights.mlm()).put("cos", weights.cos())
                    .put("temperature", weights.temperature());
            return o;
        }

        /** What decides a fine-tuning besides the pre-trained model and the seed. */
        ObjectNode fineTuneJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("seq_len", seqLen).put("batch_size", batchSize).put("dropout", dropout).put("fine_tune_steps", fineTuneSteps)
                    .put("fine_tune_lr", fineTuneLr);
            return o;
        }
    }

    /**
     * A pre-trained model (the teacher or a student).
     *
     * @param name               "teacher" or the recipe's id
     * @param label              for tables
     * @param dir                its artifact folder ({@code model/} inside)
     * @param encoderParameters  parameters without the MLM head's own (transform, LayerNorm, output bias): what a
     *                           task head runs on
     * @param mlm                masked-LM scores on the validation tokens
     * @param finalTrainLoss     the last step's training loss (the weighted sum of the recipe's terms)
     * @param trainSeconds       wall-clock training time when it was trained
     * @param loaded             whether this call loaded it from the cache
     */
    public record Pretrained(String name, String label, Path dir, long encoderParameters, MaskedLmEval.Result mlm,
                             double finalTrainLoss, double trainSeconds, boolean loaded) {
        /** The model, for batches up to maxB x maxT. */
        public Bert model(int maxB, int maxT) { return Bert.load(dir.resolve("model"), maxB, maxT); }
    }

    /**
     * A pre-trained model fine-tuned on the genre task.
     *
     * @param test         accuracy and mean NLL on the test split's passages
     * @param trainSeconds wall-clock fine-tuning time when it was trained
     */
    public record FineTuned(Pretrained base, long seed, Path dir, ClassificationAccuracy.Result test, double trainSeconds,
                            boolean loaded) {}

    private final Setup setup;
    private final Path cacheRoot;
    private final Map<String, String> dataSums;
    private final WordPieceTokenizer tokenizer;
    private final MaskedLmBatches.Vocabulary vocab;
    private final BrownMaskedLm data;
    private final GenreTask genres;
    private Pretrained teacher;

    /**
     * Learns the tokenizer and encodes the data (a few seconds).
     *
     * @param cacheRoot where the artifact folders go ({@link ArtifactCache#root()} in the notebook)
     * @param dataSums  the sha256 sums of the data (part of every cache key)
     */
    public BertDistillation(Setup setup, BrownCorpus brown, Map<String, String> dataSums, Path cacheRoot) {
        if (setup == null) throw new IllegalArgumentException("setup: must not be null");
        if (brown == null) throw new IllegalArgumentException("brown: must not be null");
        if (dataSums == null) throw new IllegalArgumentException("dataSums: must not be null (an empty map is allowed)");
        if (cacheRoot == null) throw new IllegalArgumentException("cacheRoot: must not be null");
        this.setup = setup;
        this.cacheRoot = cacheRoot;
        this.dataSums = new TreeMap<>(dataSums);
        String trainText = brown.text(BrownCorpus.Split.TRAIN);
        this.tokenizer = new WordPieceTrainer(setup.vocabSize(), true).train(trainText);
        this.data = BrownMaskedLm.of(brown, tokenizer, setup.mlmEvalTokens());
        this.vocab = data.vocabulary();
        this.genres = new GenreTask(brown, tokenizer, setup.seqLen() - 2);
    }

    public Setup setup() { return setup; }

    public WordPieceTokenizer tokenizer() { return tokenizer; }

    /** Tokens of the training split (the pre-training stream). */
    public int trainTokens() { return data.trainTokens(); }

    /** Validation tokens the masked-LM scores use. */
    public int mlmEvalTokens() { return data.evalTokens(); }

    /**
     * The masked-LM reference a model has to beat: the perplexity of the add-one unigram model of the training
     * tokens ({@link UnigramBaseline}) on the validation tokens that can be masked (the special tokens excluded).
     */
    public double unigramPerplexity() { return data.unigramPerplexity(); }

    /** Genre labels of the training passages (the fine-tuning set), in order. */
    public int[] trainLabels() { return genres.trainLabels(); }

    /** Genre labels of the test passages, in order. */
    public int[] testLabels() { return genres.testLabels(); }

    /** The majority-class baseline ({@link GenreTask#majorityBaseline()}). */
    public ClassificationAccuracy.Result majorityBaseline() {
        return genres.majorityBaseline();
    }

    /** The teacher: loaded from its artifact folder, or pre-trained now. */
    public synchronized Pretrained teacher(boolean showProgress) {
        if (teacher == null) {
            ObjectNode key = JSON.createObjectNode().put("role", "teacher");
            key.set("setup", setup.teacherJson());
            Path dir = folder("bert-teacher", key);
            boolean loaded = Files.isRegularFile(dir.resolve(ArtifactCache.SUMMARY));
            if (!loaded) {
                ArtifactCache.write(dir, tmp -> {
                    Bert model = new Bert(setup.teacherConfig(tokenizer.vocabSize()), setup.batchSize(), setup.seqLen(), setup.seed());
                    return pretrain(model, mlmObjective(model), setup.teacherSteps(), tmp, showProgress);
                });
            }
            teacher = read("teacher", "teacher", dir, loaded);
        }
        return teacher;
    }

    /** A half-depth student trained by {@code recipe}: loaded from its artifact folder, or trained now. */
    public Pretrained student(BertStudentRecipe recipe, boolean showProgress) {
        if (recipe == null) throw new IllegalArgumentException("recipe: must not be null");
        Pretrained t = teacher(showProgress);
        ObjectNode key = JSON.createObjectNode().put("role", "student").put("recipe", recipe.id())
                .put("teacher", t.dir().getFileName().toString());
        key.set("setup", setup.studentJson());
        Path dir = folder("bert-student-" + recipe.id(), key);
        boolean loaded = Files.isRegularFile(dir.resolve(ArtifactCache.SUMMARY));
        if (!loaded) {
            ArtifactCache.write(dir, tmp -> {
                Bert student = initialStudent(recipe);
                MaskedLmObjective task = mlmObjective(student);
                TrainingObjective objective = task;
                if (recipe.needsTeacher()) {
                    objective = Distiller.of(t.model(setup.batchSize(), setup.seqLen()), task, setup.weights().options(recipe), null);
                }
                ObjectNode s = pretrain(student, objective, setup.studentSteps(), tmp, showProgress);
                s.put("layer_map", recipe.teacherInit() ? Arrays.toString(setup.layerMap()) : "none");
                return s;
            });
        }
        return read(recipe.id(), recipe.label(), dir, loaded);
    }

    /**
     * The student of {@code recipe} before training: the seed's random initialisation, with the teacher's layers
     * ({@link Setup#layerMap}), embeddings and MLM head copied in when the recipe initialises from the teacher.
     */
    public Bert initialStudent(BertStudentRecipe recipe) {
        Bert student = new Bert(setup.studentConfig(tokenizer.vocabSize()), setup.batchSize(), setup.seqLen(), setup.seed());
        if (recipe.teacherInit()) {
            Bert t = teacher(false).model(setup.batchSize(), setup.seqLen());
            StudentInitializer.initialize(t.parameters(), student.parameters(), setup.layerMap());
        }
        return student;
    }

    /** {@code base} fine-tuned on the genre task with {@code seed} (head initialisation, order, dropout). */
    public FineTuned fineTune(Pretrained base, long seed, boolean showProgress) {
        if (base == null) throw new IllegalArgumentException("base: must not be null");
        ObjectNode key = JSON.createObjectNode().put("role", "genre-classifier").put("base", base.dir().getFileName().toString())
                .put("seed", seed);
        key.set("setup", setup.fineTuneJson());
        Path dir = folder("bert-genre-" + base.name() + "-s" + seed, key);
        boolean loaded = Files.isRegularFile(dir.resolve(ArtifactCache.SUMMARY));
        if (!loaded) {
            ArtifactCache.write(dir, tmp -> {
                int b = setup.batchSize(), t = setup.seqLen();
                BertClassifier clf = new BertClassifier(base.model(b, t), GenreTask.classes(), seed);
                GenreTask.Result r = genres.fineTune(clf, SequenceFraming.bert(vocab),
                        new GenreTask.Recipe(b, t, setup.fineTuneSteps(), setup.fineTuneLr(), setup.dropout(), seed, ""), showProgress);
                ClassificationAccuracy.Result acc = r.test();
                clf.save(tmp.resolve("model"));
                ObjectNode s = JSON.createObjectNode();
                s.set("key", key);
                s.put("test_examples", acc.examples()).put("test_correct", acc.correct()).put("test_mean_nll", acc.meanNll());
                s.put("train_seconds", r.trainSeconds()).put("final_train_loss", r.finalTrainLoss());
                return s;
            });
        }
        JsonNode s = readJson(dir.resolve(ArtifactCache.SUMMARY));
        return new FineTuned(base, seed, dir, new ClassificationAccuracy.Result(s.get("test_examples").asLong(),
                s.get("test_correct").asLong(), s.get("test_mean_nll").asDouble()), s.get("train_seconds").asDouble(), loaded);
    }

    /** Encoder parameters of a BERT: all but the MLM head's own tensors (the decoder is tied to the embeddings). */
    public static long encoderParameters(Bert model) {
        Map<String, org.distillery.engine.kernels.FloatTensor> encoder = new LinkedHashMap<>();
        for (var e : model.parameters().entrySet()) {
            if (!e.getKey().startsWith("cls.predictions.")) encoder.put(e.getKey(), e.getValue());
        }
        return NamedParameters.count(encoder);
    }

    // ------------------------------------------------------------------------------------------------

    private MaskedLmObjective mlmObjective(Bert model) {
        return data.objective(model, setup.seqLen(), setup.batchSize(), setup.dropout(), setup.seed());
    }

    /** Trains {@code model} through {@code objective} into {@code tmp}; returns the summary (scores, timing). */
    private ObjectNode pretrain(Bert model, TrainingObjective objective, int steps, Path tmp, boolean showProgress)
            throws IOException {
        LoopConfig loop = LoopConfig.defaults().withSteps(steps, Math.max(1, steps / 20))
                .withLr(setup.lrMax(), setup.lrMax() / 10).withWeightDecay(0.01).withEvalInterval(0).withCheckpoints(0, 1);
        BrownMaskedLm.Trained r = data.train(model, objective, loop, tmp.resolve("run"), setup.seqLen(), setup.batchSize(),
                showProgress);
        data.save(model, tmp.resolve("model"));
        MaskedLmEval.Result mlm = r.mlm();
        ObjectNode s = JSON.createObjectNode();
        s.put("encoder_parameters", encoderParameters(model)).put("parameters", model.parameterCount());
        s.put("mlm_masked_tokens", mlm.maskedTokens()).put("mlm_accuracy", mlm.accuracy()).put("mlm_mean_nll", mlm.meanNll());
        s.put("steps", r.trainer().step()).put("train_seconds", r.seconds()).put("final_train_loss", r.finalTrainLoss());
        return s;
    }

    private Pretrained read(String name, String label, Path dir, boolean loaded) {
        JsonNode s = readJson(dir.resolve(ArtifactCache.SUMMARY));
        return new Pretrained(name, label, dir, s.get("encoder_parameters").asLong(),
                new MaskedLmEval.Result(s.get("mlm_masked_tokens").asLong(), s.get("mlm_accuracy").asDouble(),
                        s.get("mlm_mean_nll").asDouble()),
                s.get("final_train_loss").asDouble(), s.get("train_seconds").asDouble(), loaded);
    }

    private Path folder(String name, ObjectNode key) {
        return ArtifactCache.folder(cacheRoot, name, key.toString(), dataSums);
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(Files.readString(f));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
