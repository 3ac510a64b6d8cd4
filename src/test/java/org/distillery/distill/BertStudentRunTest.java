package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.train.LoopConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BertStudentRun}'s student spec (the JSON of {@code ./lab distill --student-config} for a BERT teacher): defaults,
 * round trip, the optimisation it stands for, the checks against the teacher, and its teacher-folder checks. The
 * distillation itself is tested end to end through the command ({@code cli.DistillBertCommandTest}).
 */
class BertStudentRunTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final BertConfig TWELVE = new BertConfig(100, 16, 12, 2, 32, "gelu", 64, 2, 1e-12, Map.of("pad_token_id", 0));

    @TempDir
    Path dir;

    private static BertStudentRun.Spec parse(String json) throws Exception {
        return BertStudentRun.Spec.fromJson(JSON.readTree(json));
    }

    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    @Test
    void onlyLayersIsRequiredAndTheRestHasDefaults() throws Exception {
        BertStudentRun.Spec s = parse("{\"layers\": 6}");
        assertEquals(BertStudentRun.Spec.of(6), s);
        assertEquals(List.of(6, 32, 64, 400, 20, 20_000), List.of(s.layers(), s.batch(), s.seqLen(), s.steps(), s.warmup(),
                s.evalTokens()));
        assertEquals(BertStudentRun.Init.TEACHER, s.init());
        assertNull(s.layerMap());
        assertEquals(2e-3, s.lr(), 0);
        assertEquals(0.1, s.dropout(), 0);
        assertEquals(1, s.seed());
        assertEquals(5, parse("{\"layers\": 6, \"steps\": 100}").warmup(), "warm-up defaults to steps / 20");
        assertArrayEquals(new int[] {0, 2, 4, 7, 9, 11}, s.layerMapFor(TWELVE), "DistilBERT's released map for 12 -> 6");
    }

    @Test
    void theStudentKeepsEverythingOfTheTeacherButTheDepth() {
        assertEquals(new BertConfig(100, 16, 6, 2, 32, "gelu", 64, 2, 1e-12, Map.of("pad_token_id", 0)),
                TWELVE.withNumHiddenLayers(6));
        assertEquals("field \"num_hidden_layers\" = 0 is not positive (accepted: >= 1)",
                assertThrows(IllegalArgumentException.class, () -> TWELVE.withNumHiddenLayers(0)).getMessage());
    }

    @Test
    void aSpecRoundTripsThroughItsJson() throws Exception {
        String json = "{\"layers\":3,\"init\":\"teacher\",\"layer_map\":[11,5,0],\"batch\":8,\"seq_len\":32,\"steps\":7,"
                + "\"lr\":0.001,\"warmup\":2,\"dropout\":0.0,\"seed\":-4,\"eval_tokens\":0}";
        BertStudentRun.Spec s = parse(json);
        assertEquals(json, s.toJson().toString());
        assertArrayEquals(new int[] {11, 5, 0}, s.layerMapFor(TWELVE));
        assertNull(parse("{\"layers\": 3, \"init\": \"random\"}").layerMapFor(TWELVE), "a random student copies nothing");
    }

    @Test
    void theLoopIsNotebookElevensWithTheSpecsStepsAndRate() throws Exception {
        LoopConfig loop = parse("{\"layers\": 2, \"steps\": 50, \"warmup\": 4, \"lr\": 5e-3}").loop();
        assertEquals(List.of(50, 4, 0, 0, 1, 1), List.of(loop.steps(), loop.warmupSteps(), loop.evalInterval(),
                loop.checkpointInterval(), loop.keepCheckpoints(), loop.gradAccumSteps()));
        assertEquals(5e-3, loop.lrMax(), 0);
        assertEquals(5e-4, loop.lrMin(), 1e-18);
        assertEquals(0.01, loop.weightDecay(), 0);
        assertEquals(1.0, loop.gradClip(), 0);
        assertEquals("loop: a spec of 0 steps trains nothing",
                assertThrows(IllegalStateException.class, () -> parse("{\"layers\": 2, \"steps\": 0}").loop()).getMessage());
    }

    @Test
    void badSpecsNameTheKeyTheValueAndWhatIsAccepted() throws Exception {
        assertEquals("batch: must be an integer but was \"32\"", error("{\"layers\": 2, \"batch\": \"32\"}"));
        assertEquals("steps: must be an integer but was 2.5", error("{\"layers\": 2, \"steps\": 2.5}"));
        assertEquals("lr: must be a number but was \"fast\"", error("{\"layers\": 2, \"lr\": \"fast\"}"));
        assertEquals("lr: must be finite and > 0 but was 0.0", error("{\"layers\": 2, \"lr\": 0}"));
        assertEquals("warmup: must be in [0, steps = 10] but was 11", error("{\"layers\": 2, \"steps\": 10, \"warmup\": 11}"));
        assertEquals("dropout: must be in [0, 1) but was 1.0", error("{\"layers\": 2, \"dropout\": 1}"));
        assertEquals("steps: must be >= 0 (0 = no training) but was -1", error("{\"layers\": 2, \"steps\": -1}"));
        assertEquals("seq_len: must be >= 3 ([CLS], a token, [SEP]) but was 2", error("{\"layers\": 2, \"seq_len\": 2}"));
        assertEquals("eval_tokens: must be >= 0 (0 = all) but was -5", error("{\"layers\": 2, \"eval_tokens\": -5}"));
        assertEquals("layer_map: must be a list of teacher layer numbers but was \"0,1\"",
                error("{\"layers\": 2, \"layer_map\": \"0,1\"}"));
        assertEquals("layer_map: entry 1 is -1; teacher layers are numbered from 0", error("{\"layers\": 2, \"layer_map\": [0, -1]}"));
        assertEquals("must be a JSON object such as {\"layers\": 6, \"steps\": 400}", error("[6]"));
        BertStudentRun.Spec s = parse("{\"layers\": 13}");
        assertEquals("layers: must be in [1, 12] (the teacher's num_hidden_layers) but was 13",
                assertThrows(IllegalArgumentException.class, () -> s.layerMapFor(TWELVE)).getMessage());
        assertEquals("seq_len: must be in [3, 64] (the teacher's max_position_embeddings) but was 65",
                assertThrows(IllegalArgumentException.class, () -> parse("{\"layers\": 2, \"seq_len\": 65}").layerMapFor(TWELVE))
                        .getMessage());
    }

    @Test
    void aTeacherFolderNeedsABertConfigWeightsAndAMatchingVocabulary() throws Exception {
        Path t = dir.resolve("t");
        assertEquals("no such folder", teacherError(t));
        Files.createDirectories(t);
        assertEquals("no config.json there", teacherError(t));
        BertConfig cfg = new BertConfig(7, 8, 1, 2, 16, "gelu", 8, 2, 1e-12, Map.of("pad_token_id", 0));
        cfg.write(t.resolve("config.json"));
        assertEquals("no model.safetensors there", teacherError(t));
        new Bert(cfg, 1, 8, 1).save(t);
        assertEquals("no vocab.txt there; a BERT teacher needs its WordPiece vocabulary (vocab.txt, one token per line)",
                teacherError(t));
        Files.writeString(t.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n");
        assertEquals("vocab.txt has 6 tokens but config.json's vocab_size is 7; they must match", teacherError(t));
        Files.writeString(t.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n");
        BertStudentRun.Teacher teacher = BertStudentRun.Teacher.of(t);
        assertEquals(7, teacher.tokenizer().vocabSize());
        assertEquals(true, teacher.tokenizer().lowercase(), "no tokenizer_config.json: lower-cased, as BertTokenizer");
        Files.writeString(t.resolve("tokenizer_config.json"), "{\"do_lower_case\": false}");
        assertEquals(false, BertStudentRun.Teacher.of(t).tokenizer().lowercase());
    }

    private static String teacherError(Path t) {
        return assertThrows(IllegalArgumentException.class, () -> BertStudentRun.Teacher.of(t)).getMessage();
    }
}
