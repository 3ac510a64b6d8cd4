package org.distillery.distill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.distillery.data.BrownCorpus;
import org.distillery.eval.MaskedLmEval;
import org.distillery.io.BertConfig;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.model.Bert;
import org.distillery.report.Provenance;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.train.LoopConfig;
import org.distillery.train.MaskedLmBatches;
import org.distillery.train.MaskedLmObjective;
import org.distillery.util.AtomicFiles;
import org.distillery.util.FileTrees;
import org.distillery.util.ProjectPaths;

/**
 * {@code ./lab distill} with a BERT teacher: one DistilBERT-style student distilled from a Hugging Face BERT directory
 * and written as a new one.
 *
 * <ol>
 *   <li><b>Teacher</b> ({@link Teacher#of}): {@code config.json} with {@code model_type bert},
 *       {@code model.safetensors} with the MLM head, and the WordPiece {@code vocab.txt} (one token per line, as many
 *       as {@code vocab_size}); lower-casing as {@code tokenizer_config.json}'s {@code do_lower_case}, true when
 *       absent (Hugging Face's {@code BertTokenizer} default).</li>
 *   <li><b>Student</b>: the teacher's configuration with {@link Spec#layers} layers (same width, heads, MLP width,
 *       vocabulary, positions), the seed's BERT initialisation; with {@code init "teacher"} student layer i is a copy
 *       of teacher layer {@code layer_map[i]} (default {@link StudentInitializer#spread}: [0, 2, 4, 7, 9, 11] for
 *       12 -&gt; 6, DistilBERT's released map) and the embeddings and MLM head are the teacher's
 *       ({@link StudentInitializer#initialize}).</li>
 *   <li><b>Data</b> ({@link BrownMaskedLm}, as notebook 11): Brown's training split tokenized with the teacher's
 *       vocabulary, rows {@code [CLS] seq_len - 2 tokens [SEP]}, BERT's 15 % masking (80/10/10), order and masks
 *       from the seed.</li>
 *   <li><b>Training</b>: {@link Distiller} (the teacher's options: ce, mlm = the task term, cos, mse, attn, T) by a
 *       {@link org.distillery.train.Trainer} with {@link Spec#loop}: AdamW, linear warm-up, cosine from lr to lr / 10,
 *       weight decay 0.01, gradient clipping at 1.0 (notebook 11's), {@code run/metrics.csv} and one checkpoint at
 *       the last step in {@code run/}. {@code steps 0} trains nothing: the output is the initialised student.</li>
 *   <li><b>Scores</b>: masked-token accuracy and perplexity of the student and of the teacher on the first
 *       {@code eval_tokens} tokens of the validation split (masking seed {@link BrownMaskedLm#EVAL_SEED}).</li>
 *   <li><b>Output</b> (written under a temporary name beside it and renamed when complete; it must not exist):
 *       the student as a Hugging Face BERT directory ({@code config.json}, {@code model.safetensors}), the teacher's
 *       {@code vocab.txt} (and {@code tokenizer_config.json}, {@code special_tokens_map.json} when it has them),
 *       {@code run/}, and {@code summary.json}: the spec, the layer map used, the distillation ({@code objective}:
 *       options, teacher fingerprint, task), the teacher (folder, fingerprint, layers, scores), the student's
 *       parameters and scores, steps, final training loss, provenance.</li>
 * </ol>
 */
public final class BertStudentRun {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The tokenizer files copied from the teacher when present ({@code vocab.txt} is always written). */
    static final List<String> TOKENIZER_FILES = List.of("tokenizer_config.json", "special_tokens_map.json");

    /** How the student's weights start. */
    public enum Init {
        /** Teacher layers through the layer map, teacher embeddings and MLM head. */
        TEACHER,
        /** The seed's BERT initialisation. */
        RANDOM;

        /** The spec's spelling: {@code teacher}, {@code random}. */
        public String id() { return name().toLowerCase(Locale.ROOT); }
    }

    /**
     * The student spec file ({@code --student-config}), a JSON object; every key but {@code layers} is optional:
     * <pre>
     * {"layers": 6, "init": "teacher", "layer_map": [0, 2, 4, 7, 9, 11], "batch": 32, "seq_len": 64, "steps": 400,
     *  "lr": 2e-3, "warmup": 20, "dropout": 0.1, "seed": 1, "eval_tokens": 20000}
     * </pre>
     *
     * @param layers     the student's encoder layers, in [1, teacher layers]
     * @param init       {@code teacher} (default) or {@code random}
     * @param layerMap   student layer i takes teacher layer layerMap[i] (init teacher only; null: {@link StudentInitializer#spread})
     * @param batch      B, rows per step, &gt;= 1 (default 32)
     * @param seqLen     T, rows with [CLS] and [SEP], in [3, teacher max_position_embeddings] (default 64)
     * @param steps      optimiser steps, &gt;= 0 (default 400; 0 = the initialised student)
     * @param lr         peak learning rate, finite and &gt; 0 (default 2e-3); the cosine ends at lr / 10
     * @param warmup     linear warm-up steps, in [0, steps] (default steps / 20, rounded down)
     * @param dropout    the student's dropout while training, in [0, 1) (default 0.1)
     * @param seed       initialisation, row order, masking and dropout seed (default 1)
     * @param evalTokens validation tokens of the masked-LM scores, &gt;= 0 (default 20,000; 0 = all)
     */
    public record Spec(int layers, Init init, int[] layerMap, int batch, int seqLen, int steps, double lr, int warmup,
                       double dropout, long seed, int evalTokens) {
        /** The keys of the file, in order. */
        public static final List<String> KEYS = List.of("layers", "init", "layer_map", "batch", "seq_len", "steps", "lr",
                "warmup", "dropout", "seed", "eval_tokens");

        public Spec {
            if (layers < 1) throw new IllegalArgumentException("layers: must be >= 1 but was " + layers);
            if (init == null) throw new IllegalArgumentException("init: must be \"teacher\" or \"random\" but was null");
            if (layerMap != null) {
                layerMap = layerMap.clone();
                if (init != Init.TEACHER) {
                    throw new IllegalArgumentException("layer_map: " + Arrays.toString(layerMap) + " is only used with init"
                            + " \"teacher\", but init is \"" + init.id() + "\"");
                }
                if (layerMap.length != layers) {
                    throw new IllegalArgumentException("layer_map: " + Arrays.toString(layerMap) + " has " + layerMap.length
                            + " entries but layers is " + layers + "; give one teacher layer per student layer");
                }
                for (int i = 0; i < layerMap.length; i++) {
                    if (layerMap[i] < 0) {
                        throw new IllegalArgumentException("layer_map: entry " + i + " is " + layerMap[i]
                                + "; teacher layers are numbered from 0");
                    }
                }
            }
            if (batch < 1) throw new IllegalArgumentException("batch: must be >= 1 but was " + batch);
            if (seqLen < 3) throw new IllegalArgumentException("seq_len: must be >= 3 ([CLS], a token, [SEP]) but was " + seqLen);
            if (steps < 0) throw new IllegalArgumentException("steps: must be >= 0 (0 = no training) but was " + steps);
            if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr: must be finite and > 0 but was " + lr);
            if (warmup < 0 || warmup > steps) {
                throw new IllegalArgumentException("warmup: must be in [0, steps = " + steps + "] but was " + warmup);
            }
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout: must be in [0, 1) but was " + dropout);
            if (evalTokens < 0) throw new IllegalArgumentException("eval_tokens: must be >= 0 (0 = all) but was " + evalTokens);
        }

        /** {@code layers} and the defaults for the rest. */
        public static Spec of(int layers) {
            return new Spec(layers, Init.TEACHER, null, 32, 64, 400, 2e-3, 20, 0.1, 1, 20_000);
        }

        @Override
        public int[] layerMap() { return layerMap == null ? null : layerMap.clone(); }

        @Override
        public boolean equals(Object o) { return o instanceof Spec s && toJson().equals(s.toJson()); }

        @Override
        public int hashCode() { return toJson().hashCode(); }

        @Override
        public String toString() { return toJson().toString(); }

        /** Reads a spec file; errors name the key, its value and what is accepted. */
        public static Spec read(Path file) {
            JsonNode root;
            try {
                root = JSON.readTree(Files.readString(file));
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new IllegalArgumentException("not UTF-8 text (" + e + ")", e);
            } catch (IOException e) {
                throw new IllegalArgumentException("not readable as JSON: "
                        + (e.getMessage() == null ? e : e.getMessage().lines().findFirst().orElse("")), e);
            }
            return fromJson(root);
        }

        /** The spec of a JSON object with the keys of {@link #KEYS}. */
        public static Spec fromJson(JsonNode o) {
            if (o == null || !o.isObject()) {
                throw new IllegalArgumentException("must be a JSON object such as {\"layers\": 6, \"steps\": 400}");
            }
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!KEYS.contains(k)) {
                    throw new IllegalArgumentException("unknown key '" + k + "'; accepted: " + String.join(", ", KEYS));
                }
            }
            if (!o.has("layers")) throw new IllegalArgumentException("layers: missing; the student's number of layers is required");
            Spec d = of(1);
            int steps = integer(o, "steps", d.steps());
            String init = o.has("init") ? o.get("init").isTextual() ? o.get("init").asText() : o.get("init").toString() : "teacher";
            Init in = switch (init) {
                case "teacher" -> Init.TEACHER;
                case "random" -> Init.RANDOM;
                default -> throw new IllegalArgumentException("init: must be \"teacher\" or \"random\" but was " + o.get("init"));
            };
            return new Spec(integer(o, "layers", 0), in, layerMap(o.get("layer_map")), integer(o, "batch", d.batch()),
                    integer(o, "seq_len", d.seqLen()), steps, number(o, "lr", d.lr()), integer(o, "warmup", steps / 20),
                    number(o, "dropout", d.dropout()), o.has("seed") ? longInteger(o, "seed") : d.seed(),
                    integer(o, "eval_tokens", d.evalTokens()));
        }

        /** The spec as its file content (layer_map null when the default is used). */
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("layers", layers).put("init", init.id());
            if (layerMap == null) o.putNull("layer_map");
            else o.set("layer_map", intArray(layerMap));
            o.put("batch", batch).put("seq_len", seqLen).put("steps", steps).put("lr", lr).put("warmup", warmup)
                    .put("dropout", dropout).put("seed", seed).put("eval_tokens", evalTokens);
            return o;
        }

        /**
         * Checks the spec against the teacher and returns the layer map the student is initialised with (null for a
         * random student): {@code layer_map}, or {@link StudentInitializer#spread} when absent.
         */
        public int[] layerMapFor(BertConfig teacher) {
            if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
            int lt = teacher.numHiddenLayers();
            if (layers > lt) {
                throw new IllegalArgumentException("layers: must be in [1, " + lt + "] (the teacher's num_hidden_layers) but"
                        + " was " + layers);
            }
            if (seqLen > teacher.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("seq_len: must be in [3, " + teacher.maxPositionEmbeddings()
                        + "] (the teacher's max_position_embeddings) but was " + seqLen);
            }
            if (init == Init.RANDOM) return null;
            if (layerMap == null) return StudentInitializer.spread(lt, layers);
            for (int i = 0; i < layerMap.length; i++) {
                if (layerMap[i] >= lt) {
                    throw new IllegalArgumentException("layer_map: " + Arrays.toString(layerMap) + " names teacher layer "
                            + layerMap[i] + " (entry " + i + "), but the teacher has layers 0.." + (lt - 1));
                }
            }
            return layerMap.clone();
        }

        /** The optimisation of {@code steps} &gt;= 1 steps (see the class comment). */
        public LoopConfig loop() {
            if (steps < 1) throw new IllegalStateException("loop: a spec of 0 steps trains nothing");
            return LoopConfig.defaults().withSteps(steps, warmup).withLr(lr, lr / 10).withWeightDecay(0.01)
                    .withEvalInterval(0).withCheckpoints(0, 1);
        }

        private static int integer(JsonNode o, String key, int dflt) {
            JsonNode v = o.get(key);
            if (v == null) return dflt;
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new IllegalArgumentException(key + ": must be an integer but was " + v);
            }
            return v.intValue();
        }

        private static long longInteger(JsonNode o, String key) {
            JsonNode v = o.get(key);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new IllegalArgumentException(key + ": must be an integer but was " + v);
            }
            return v.longValue();
        }

        private static double number(JsonNode o, String key, double dflt) {
            JsonNode v = o.get(key);
            if (v == null) return dflt;
            if (!v.isNumber()) throw new IllegalArgumentException(key + ": must be a number but was " + v);
            return v.doubleValue();
        }

        private static int[] layerMap(JsonNode v) {
            if (v == null || v.isNull()) return null;
            boolean ok = v.isArray();
            for (int i = 0; ok && i < v.size(); i++) ok = v.get(i).isIntegralNumber() && v.get(i).canConvertToInt();
            if (!ok) throw new IllegalArgumentException("layer_map: must be a list of teacher layer numbers but was " + v);
            int[] m = new int[v.size()];
            for (int i = 0; i < m.length; i++) m[i] = v.get(i).intValue();
            return m;
        }
    }

    /**
     * A BERT teacher directory.
     *
     * @param dir       the folder
     * @param config    its {@code config.json}
     * @param tokenizer its {@code vocab.txt}
     */
    public record Teacher(Path dir, BertConfig config, WordPieceTokenizer tokenizer) {
        /**
         * Reads and checks the teacher's configuration and vocabulary (the weights are read by {@link #load}); error
         * messages describe what is wrong with the folder without repeating its name.
         */
        public static Teacher of(Path dir) {
            if (dir == null) throw new IllegalArgumentException("dir: must not be null");
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException("no such folder");
            Path config = dir.resolve(HfCheckpoint.CONFIG_FILE);
            if (!Files.isRegularFile(config)) throw new IllegalArgumentException("no " + HfCheckpoint.CONFIG_FILE + " there");
            HfConfig hc = HfConfig.read(config);
            if (!(hc instanceof BertConfig cfg)) {
                throw new IllegalArgumentException(HfCheckpoint.CONFIG_FILE + " has model_type " + hc.modelType()
                        + "; a BERT teacher needs model_type " + BertConfig.MODEL_TYPE);
            }
            if (!Files.isRegularFile(dir.resolve(HfCheckpoint.WEIGHTS_FILE))) {
                throw new IllegalArgumentException("no " + HfCheckpoint.WEIGHTS_FILE + " there");
            }
            Path vocab = dir.resolve("vocab.txt");
            if (!Files.isRegularFile(vocab)) {
                throw new IllegalArgumentException("no vocab.txt there; a BERT teacher needs its WordPiece vocabulary"
                        + " (vocab.txt, one token per line)");
            }
            WordPieceTokenizer tok = WordPieceTokenizer.load(vocab, lowercase(dir));
            if (tok.vocabSize() != cfg.vocabSize()) {
                throw new IllegalArgumentException("vocab.txt has " + tok.vocabSize() + " tokens but config.json's vocab_size is "
                        + cfg.vocabSize() + "; they must match");
            }
            return new Teacher(dir, cfg, tok);
        }

        /** The teacher's weights, for batches up to maxB x maxT. */
        public Bert load(int maxB, int maxT) { return Bert.load(dir, maxB, maxT); }

        /** {@code do_lower_case} of {@code tokenizer_config.json}; true when the file or the field is absent. */
        static boolean lowercase(Path dir) {
            Path f = dir.resolve("tokenizer_config.json");
            if (!Files.isRegularFile(f)) return true;
            try {
                JsonNode v = JSON.readTree(Files.readString(f)).path("do_lower_case");
                return !v.isBoolean() || v.booleanValue();
            } catch (IOException e) {
                throw new IllegalArgumentException("tokenizer_config.json is not readable as JSON: "
                        + (e.getMessage() == null ? e : e.getMessage().lines().findFirst().orElse("")), e);
            }
        }
    }

    /**
     * What a finished run gives back.
     *
     * @param dir            the student's model directory
     * @param student        the student (dropout off)
     * @param layerMap       the teacher layers the student started from, null for a random start
     * @param steps          optimiser steps run
     * @param finalTrainLoss the last step's loss (the weighted sum of the terms), NaN for 0 steps
     * @param studentMlm     the student's masked-LM scores on the validation tokens
     * @param teacherMlm     the teacher's, on the same masked positions
     */
    public record Result(Path dir, Bert student, int[] layerMap, int steps, double finalTrainLoss,
                         MaskedLmEval.Result studentMlm, MaskedLmEval.Result teacherMlm) {}

    private final Teacher teacher;
    private final Spec spec;
    private final Distiller.Options options;
    private final int[] layerMap;

    /**
     * Checks the spec against the teacher (errors name the spec's key); nothing is loaded or written yet.
     *
     * @param options the distillation's weights (task = the student's masked-LM loss) and temperature
     */
    public BertStudentRun(Teacher teacher, Spec spec, Distiller.Options options) {
        if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
        if (spec == null) throw new IllegalArgumentException("spec: must not be null");
        if (options == null) throw new IllegalArgumentException("options: must not be null");
        this.teacher = teacher;
        this.spec = spec;
        this.options = options;
        this.layerMap = spec.layerMapFor(teacher.config());
    }

    /** The teacher layers the student starts from, null for a random student. */
    public int[] layerMap() { return layerMap == null ? null : layerMap.clone(); }

    /** The student's configuration: the teacher's with the spec's layers. */
    public BertConfig studentConfig() { return teacher.config().withNumHiddenLayers(spec.layers()); }

    /** The student before training: the seed's initialisation with the mapped teacher tensors copied in (init teacher). */
    public Bert initialStudent(Bert teacherModel) {
        Bert student = new Bert(studentConfig(), spec.batch(), spec.seqLen(), spec.seed());
        if (layerMap != null) StudentInitializer.initialize(teacherModel.parameters(), student.parameters(), layerMap);
        return student;
    }

    /**
     * Distils the student and writes its model directory {@code out} (see the class comment).
     *
     * @throws IllegalArgumentException when {@code out} exists or its folder does not (checked before any work)
     */
    public Result run(Path out, boolean showProgress) {
        FileTrees.requireNew(out);
        int b = spec.batch(), t = spec.seqLen();
        Bert teacherModel = teacher.load(b, t);
        Bert student = initialStudent(teacherModel);
        BrownMaskedLm data = BrownMaskedLm.of(BrownCorpus.load(), teacher.tokenizer(), spec.evalTokens());
        MaskedLmObjective task = data.objective(student, t, b, spec.dropout(), spec.seed());
        Distiller distiller = Distiller.of(teacherModel, task, options, null);      // the teacher's dropout goes off
        Result[] result = new Result[1];
        FileTrees.createAtomically(out, tmp -> {
            MaskedLmEval.Result studentMlm;
            double finalLoss = Double.NaN;
            int steps = 0;
            if (spec.steps() > 0) {
                BrownMaskedLm.Trained r = data.train(student, distiller, spec.loop(), tmp.resolve("run"), t, b, showProgress);
                studentMlm = r.mlm();
                finalLoss = r.finalTrainLoss();
                steps = r.trainer().step();
            } else {
                student.setDropout(0, 0);
                studentMlm = data.evaluate(student, t, b);
            }
            MaskedLmEval.Result teacherMlm = data.evaluate(teacherModel, t, b);
            data.save(student, tmp);
            for (String f : TOKENIZER_FILES) {
                if (Files.isRegularFile(teacher.dir().resolve(f))) Files.copy(teacher.dir().resolve(f), tmp.resolve(f));
            }
            ObjectNode s = summary(distiller, teacherModel, student, data, steps, finalLoss, studentMlm, teacherMlm);
            AtomicFiles.writeString(tmp.resolve("summary.json"),
                    JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(s) + "\n");
            result[0] = new Result(out, student, layerMap(), steps, finalLoss, studentMlm, teacherMlm);
        });
        return result[0];
    }

    /** One line for logs: layers, steps, the scores. */
    public static String describe(Result r) {
        return String.format(Locale.ROOT, "%d layers%s, %,d parameters, %d steps; masked-LM perplexity %.3f (teacher %.3f),"
                        + " accuracy %.4f (teacher %.4f) over %,d masked tokens",
                r.student().config().numHiddenLayers(), r.layerMap() == null ? " (random init)" : " from teacher layers "
                        + Arrays.toString(r.layerMap()), r.student().parameterCount(), r.steps(), r.studentMlm().perplexity(),
                r.teacherMlm().perplexity(), r.studentMlm().accuracy(), r.teacherMlm().accuracy(), r.studentMlm().maskedTokens());
    }

    // ------------------------------------------------------------------------------------------------

    private ObjectNode summary(Distiller distiller, Bert teacherModel, Bert student, BrownMaskedLm data, int steps,
                               double finalLoss, MaskedLmEval.Result studentMlm, MaskedLmEval.Result teacherMlm) {
        ObjectNode s = JSON.createObjectNode();
        s.put("kind", "bert-distillation");
        s.set("spec", spec.toJson());
        if (layerMap == null) s.putNull("layer_map");
        else s.set("layer_map", intArray(layerMap));
        s.set("objective", distiller.state());
        ObjectNode tj = s.putObject("teacher");
        tj.put("dir", teacher.dir().toAbsolutePath().toString())
                .put("fingerprint", TeacherOutputCache.fingerprint(teacherModel.parameters()))
                .put("num_hidden_layers", teacher.config().numHiddenLayers())
                .put("parameters", teacherModel.parameterCount())
                .put("lowercase", teacher.tokenizer().lowercase());
        tj.set("mlm", mlmJson(teacherMlm));
        ObjectNode sj = s.putObject("student");
        sj.put("num_hidden_layers", student.config().numHiddenLayers()).put("parameters", student.parameterCount())
                .put("encoder_parameters", BertDistillation.encoderParameters(student));
        sj.set("mlm", mlmJson(studentMlm));
        s.put("steps", steps);
        if (Double.isNaN(finalLoss)) s.putNull("final_train_loss");
        else s.put("final_train_loss", finalLoss);
        s.putObject("mlm_eval").put("split", "validation").put("tokens", data.evalTokens()).put("seq_len", spec.seqLen())
                .put("mask_prob", MaskedLmBatches.BERT_MASK_PROB).put("masking_seed", BrownMaskedLm.EVAL_SEED);
        s.put("train_tokens", data.trainTokens());
        s.set("provenance", JSON.valueToTree(Provenance.capture(ProjectPaths.root()).asMap()));
        return s;
    }

    private static ObjectNode mlmJson(MaskedLmEval.Result r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("masked_tokens", r.maskedTokens()).put("accuracy", r.accuracy()).put("mean_nll", r.meanNll())
                .put("perplexity", r.perplexity());
        return o;
    }

    private static ArrayNode intArray(int[] a) {
        ArrayNode n = JSON.createArrayNode();
        for (int v : a) n.add(v);
        return n;
    }
}
