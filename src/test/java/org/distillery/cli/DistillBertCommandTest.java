package org.distillery.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.distill.TeacherOutputCache;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.eval.MaskedLmEval;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.train.MaskedLmBatches;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./lab distill with a BERT teacher, end to end on {@link TinyBertTeacher}: the initialisation copies exactly the mapped
 * teacher layers (or is the seed's), summary.json holds what the run did and scores that an independent evaluation
 * reproduces, the loss curve and weights reproduce bit for bit. Bad input: {@link DistillBertBadInputTest}.
 */
class DistillBertCommandTest {
    static final int T = TinyBertTeacher.T, B = TinyBertTeacher.B, EVAL_TOKENS = 2000;
    @TempDir
    static Path shared;
    static TinyBertTeacher fixture;
    static Path teacherDir;
    static Bert teacher;
    static WordPieceTokenizer tokenizer;
    static int[] evalIds;

    @TempDir
    Path tmp;

    private final LabRun runner = new LabRun();

    @BeforeAll
    static void buildTeacher() {
        fixture = TinyBertTeacher.build(shared);
        teacherDir = fixture.dir();
        teacher = fixture.model();
        tokenizer = fixture.tokenizer();
        evalIds = fixture.evalIds();
    }

    private Path spec(String name, String json) throws IOException {
        return Files.writeString(tmp.resolve(name), json);
    }

    private int lab(Path teacher, Path spec, Path out, String... more) {
        return TinyBertTeacher.distill(runner, teacher, spec, out, more);
    }

    private static JsonNode summary(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    }

    /** The masked-LM scores computed here, independently of the command: the first n tokens, T, masking seed 2024. */
    private static MaskedLmEval.Result score(Bert model, int n) {
        return MaskedLmEval.evaluate(model, Arrays.copyOf(evalIds, n), T, MaskedLmBatches.Vocabulary.of(tokenizer), 0.15, 2024, B);
    }

    private static void assertScores(MaskedLmEval.Result expected, JsonNode mlm) {
        assertEquals(expected.maskedTokens(), mlm.get("masked_tokens").asLong());
        assertEquals(expected.accuracy(), mlm.get("accuracy").asDouble(), 1e-12);
        assertEquals(expected.meanNll(), mlm.get("mean_nll").asDouble(), 1e-9 * expected.meanNll());
        assertEquals(expected.perplexity(), mlm.get("perplexity").asDouble(), 1e-9 * expected.perplexity());
    }

    private static List<String> trainLosses(Path out) throws IOException {
        return Files.readAllLines(out.resolve("run/metrics.csv")).stream().filter(l -> l.contains(",train,loss,")).toList();
    }

    @Test
    void withoutTrainingTheStudentIsExactlyTheMappedTeacherLayers() throws Exception {
        Path out = tmp.resolve("student");
        assertEquals(0, lab(teacherDir, spec("s.json", """
                {"layers": 2, "layer_map": [3, 1], "steps": 0, "batch": 4, "seq_len": 16, "eval_tokens": 2000}"""), out,
                "--losses", "ce=5,mlm=2,cos=1"), runner.err::toString);
        Bert student = Bert.load(out, B, T);
        BertConfig c = student.config();
        assertEquals(List.of(2, 16, 2, 32, 16, tokenizer.vocabSize()), List.of(c.numHiddenLayers(), c.hiddenSize(),
                c.numAttentionHeads(), c.intermediateSize(), c.maxPositionEmbeddings(), c.vocabSize()));
        Map<String, FloatTensor> t = teacher.parameters();
        int layerTensors = 0;
        for (var e : student.parameters().entrySet()) {
            String name = e.getKey(), source = name.replace("layer.0.", "layer.3.");      // layer.1. stays layer.1.
            if (name.contains(".encoder.layer.")) layerTensors++;
            assertArrayEquals(t.get(source).toFloatArray(), e.getValue().toFloatArray(), 0f, name + " <- " + source);
        }
        assertEquals(32, layerTensors, "16 tensors in each of the student's 2 layers");
        assertArrayEquals(Files.readAllBytes(teacherDir.resolve("vocab.txt")), Files.readAllBytes(out.resolve("vocab.txt")));
        assertFalse(Files.exists(out.resolve("run")), "0 steps: nothing trained, no run folder");

        JsonNode s = summary(out);
        assertEquals("bert-distillation", s.get("kind").asText());
        assertEquals("[3,1]", s.get("layer_map").toString());
        assertEquals("[3,1]", s.at("/spec/layer_map").toString());
        assertEquals(0, s.get("steps").asInt());
        assertTrue(s.get("final_train_loss").isNull());
        String fingerprint = TeacherOutputCache.fingerprint(t);
        assertEquals(fingerprint, s.at("/teacher/fingerprint").asText());
        assertEquals(fingerprint, s.at("/objective/teacher").asText());
        assertEquals(4, s.at("/teacher/num_hidden_layers").asInt());
        assertEquals(5.0, s.at("/objective/options/soft/start").asDouble(), 0);
        assertEquals(2.0, s.at("/objective/options/task/start").asDouble(), 0);
        assertEquals(1.0, s.at("/objective/options/cos/start").asDouble(), 0);
        assertEquals(0.0, s.at("/objective/options/mse/start").asDouble(), 0);
        assertEquals(2.0, s.at("/objective/options/temperature/start").asDouble(), 0, "the default T");
        assertTrue(s.at("/objective/options/squared_temperature").asBoolean());
        assertEquals(EVAL_TOKENS, s.at("/mlm_eval/tokens").asInt());
        assertEquals(2024, s.at("/mlm_eval/masking_seed").asLong());
        assertEquals(student.parameterCount(), s.at("/student/parameters").asLong());
        assertScores(score(student, EVAL_TOKENS), s.at("/student/mlm"));
        assertScores(score(teacher, EVAL_TOKENS), s.at("/teacher/mlm"));
        assertTrue(s.at("/student/mlm/masked_tokens").asLong() > 200, "about 15 % of 2,000 tokens");
    }

    @Test
    void aRandomStudentIsTheSeedsInitialisation() throws Exception {
        Path random = tmp.resolve("random");
        assertEquals(0, lab(teacherDir, spec("b.json", """
                {"layers": 3, "init": "random", "steps": 0, "batch": 4, "seq_len": 16, "seed": 9, "eval_tokens": 500}"""),
                random, "--losses", "ce=1"), runner.err::toString);
        JsonNode s = summary(random);
        assertTrue(s.get("layer_map").isNull());
        assertEquals("random", s.at("/spec/init").asText());
        assertEquals(3, s.at("/student/num_hidden_layers").asInt());
        Bert fresh = new Bert(teacher.config().withNumHiddenLayers(3), B, T, 9);
        Bert got = Bert.load(random, B, T);
        for (var e : fresh.parameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), got.parameters().get(e.getKey()).toFloatArray(), 0f, e.getKey());
        }
        String word = "bert.embeddings.word_embeddings.weight";
        assertFalse(Arrays.equals(teacher.parameters().get(word).toFloatArray(), got.parameters().get(word).toFloatArray()),
                "nothing copied from the teacher");
    }

    @Test
    void distillationRecordsItsOptionsAndReproducesBitForBit() throws Exception {
        String json = """
                {"layers": 2, "steps": 5, "warmup": 1, "batch": 4, "seq_len": 16, "lr": 3e-3, "dropout": 0.1, "seed": %d,
                 "eval_tokens": 1000}""";
        Path specA = spec("a.json", json.formatted(3)), specB = spec("b.json", json.formatted(4));
        Path a = tmp.resolve("a"), again = tmp.resolve("again"), other = tmp.resolve("other");
        String[] args = {"--losses", "ce=0.5,mlm=1,cos=0.2,mse=0.1,attn=0.3", "--temperature", "3", "--no-squared-temperature"};
        assertEquals(0, lab(teacherDir, specA, a, args), runner.err::toString);
        assertEquals(0, lab(teacherDir, specA, again, args), runner.err::toString);
        assertEquals(0, lab(teacherDir, specB, other, args), runner.err::toString);

        List<String> losses = trainLosses(a);
        assertEquals(5, losses.size());
        assertEquals(losses, trainLosses(again), "same seed: the same loss curve, bit for bit");
        assertArrayEquals(Files.readAllBytes(a.resolve("model.safetensors")), Files.readAllBytes(again.resolve("model.safetensors")));
        assertNotEquals(losses, trainLosses(other), "another seed: other rows, masks and dropout");

        JsonNode s = summary(a);
        assertEquals(5, s.get("steps").asInt());
        String last = losses.get(4);
        assertEquals(Double.parseDouble(last.substring(last.lastIndexOf(',') + 1)), s.get("final_train_loss").asDouble(), 0);
        assertEquals(0.5, s.at("/objective/options/soft/start").asDouble(), 0);
        assertEquals(1.0, s.at("/objective/options/task/start").asDouble(), 0);
        assertEquals(0.2, s.at("/objective/options/cos/start").asDouble(), 0);
        assertEquals(0.1, s.at("/objective/options/mse/start").asDouble(), 0);
        assertEquals(0.3, s.at("/objective/options/attention/start").asDouble(), 0);
        assertEquals(3.0, s.at("/objective/options/temperature/start").asDouble(), 0);
        assertFalse(s.at("/objective/options/squared_temperature").asBoolean());
        assertEquals(3, s.at("/spec/seed").asLong());
        assertEquals(3e-3, s.at("/spec/lr").asDouble(), 0);
        assertEquals("[0,3]", s.get("layer_map").toString(), "no layer_map: StudentInitializer.spread(4, 2)");
        assertTrue(s.at("/spec/layer_map").isNull());
        assertScores(score(Bert.load(a, B, T), 1000), s.at("/student/mlm"));
        assertScores(score(teacher, 1000), s.at("/teacher/mlm"));
        assertTrue(Files.isDirectory(a.resolve("run")), "metrics and the last checkpoint");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.filter(p -> p.getFileName().toString().contains(".partial")).toList());
        }
    }
}
