package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distillery.data.BrownCorpus;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.model.Bert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BertDistillation} at a tiny size (H 16, 2 -> 1 layers, T 16, a few steps): the layer-initialised student
 * copies exactly the mapped teacher tensors, the recipes switch exactly their loss terms, runs are cached and
 * reproduce bit for bit, the majority baseline is a count, bad settings are refused.
 */
class BertDistillationTest {
    static final BertDistillation.Setup TINY = new BertDistillation.Setup(400, 16, 2, 2, 16, 16, 6, 4, 2e-3, 0.1, 3, 1e-3,
            2_000, 1, BertDistillation.Weights.distilBert());
    @TempDir
    static Path rootA, rootB;
    static BrownCorpus brown;
    static BertDistillation labA;             // one tokenizer and encoding for the class (a few seconds each)

    @BeforeAll
    static void load() {
        brown = BrownCorpus.load();
        labA = new BertDistillation(TINY, brown, Map.of(), rootA);
    }

    @Test
    void layerInitialisedStudentCopiesExactlyTheMappedTeacherTensors() {
        BertDistillation lab = labA;
        Bert teacher = lab.teacher(false).model(16, 16);
        assertArrayEquals(new int[] {0}, TINY.layerMap());       // spread(2, 1)
        Map<String, FloatTensor> t = teacher.parameters();
        Bert student = lab.initialStudent(BertStudentRecipe.LAYER_INIT_TRIPLE);
        assertEquals(1, student.config().numHiddenLayers());
        int layerTensors = 0;
        for (var e : student.parameters().entrySet()) {
            String name = e.getKey(), source = name.replace("layer.0.", "layer." + TINY.layerMap()[0] + ".");
            if (name.contains("layer.0.")) layerTensors++;
            assertArrayEquals(t.get(source).toFloatArray(), e.getValue().toFloatArray(), 0f, name);
        }
        assertEquals(16, layerTensors, "every tensor of the student's one layer");
        String q = "bert.encoder.layer.0.attention.self.query.weight";
        assertFalse(java.util.Arrays.equals(t.get(q.replace("layer.0.", "layer.1.")).toFloatArray(),
                student.parameters().get(q).toFloatArray()), "teacher layer 1 is not the one copied");
        // a random student is the seed's initialisation, not the teacher's
        Bert random = lab.initialStudent(BertStudentRecipe.RANDOM_INIT_TRIPLE);
        Bert fresh = new Bert(TINY.studentConfig(lab.tokenizer().vocabSize()), 16, 16, TINY.seed());
        for (var e : random.parameters().entrySet()) {
            assertArrayEquals(fresh.parameters().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), 0f, e.getKey());
        }
        String word = "bert.embeddings.word_embeddings.weight";
        assertFalse(java.util.Arrays.equals(t.get(word).toFloatArray(), random.parameters().get(word).toFloatArray()));
    }

    @Test
    void aDeeperTeacherMapsItsLayersAsDistilBertsScript() {
        var six = new BertDistillation.Setup(400, 16, 12, 2, 16, 4, 1, 1, 1e-3, 0, 1, 1e-3, 0, 1,
                BertDistillation.Weights.distilBert());
        assertArrayEquals(new int[] {0, 2, 4, 7, 9, 11}, six.layerMap());
        assertEquals(6, six.studentConfig(100).numHiddenLayers());
    }

    @Test
    void recipesSwitchExactlyTheirLossTerms() {
        BertDistillation.Weights w = BertDistillation.Weights.distilBert();
        double[][] expected = {   // soft (a_ce), task (a_mlm), cos
            {5, 2, 1}, {5, 2, 1}, {0, 2, 1}, {5, 0, 1}, {5, 2, 0}, {0, 2, 0}};
        BertStudentRecipe[] recipes = BertStudentRecipe.values();
        for (int i = 0; i < recipes.length; i++) {
            Distiller.Options o = w.options(recipes[i]);
            assertEquals(expected[i][0], o.soft().max(), 0, recipes[i] + " soft");
            assertEquals(expected[i][1], o.task().max(), 0, recipes[i] + " task");
            assertEquals(expected[i][2], o.cos().max(), 0, recipes[i] + " cos");
            assertEquals(0, o.mse().max(), 0);
            assertEquals(2, o.temperature().max(), 0);
            assertTrue(o.squaredTemperature(), "L_ce is multiplied by T^2 as in DistilBERT");
        }
        assertFalse(BertStudentRecipe.SCRATCH.needsTeacher());
        assertTrue(BertStudentRecipe.WITHOUT_CE.needsTeacher(), "the cosine term still needs the teacher");
        assertEquals(-3.69, BertStudentRecipe.RANDOM_INIT_TRIPLE.publishedGluePointsLost(), 0);
        assertTrue(Double.isNaN(BertStudentRecipe.SCRATCH.publishedGluePointsLost()));
    }

    @Test
    void runsAreCachedAndReproduceBitForBit() throws IOException {
        BertDistillation.Pretrained s1 = labA.student(BertStudentRecipe.LAYER_INIT_TRIPLE, false);
        assertFalse(s1.loaded());
        for (String f : List.of("model/config.json", "model/model.safetensors", "model/vocab.txt", "run/metrics.csv", "summary.json")) {
            assertTrue(Files.isRegularFile(s1.dir().resolve(f)), f);
        }
        // the same settings again: loaded, same numbers
        BertDistillation.Pretrained again = labA.student(BertStudentRecipe.LAYER_INIT_TRIPLE, false);
        assertTrue(again.loaded());
        assertEquals(s1.mlm(), again.mlm());
        assertEquals(s1.dir(), again.dir());
        // trained again elsewhere: the same loss curve and scores, bit for bit
        BertDistillation.Pretrained s2 = new BertDistillation(TINY, brown, Map.of(), rootB).student(BertStudentRecipe.LAYER_INIT_TRIPLE, false);
        assertFalse(s2.loaded());
        assertEquals(losses(s1.dir()), losses(s2.dir()));
        assertEquals(TINY.studentSteps(), losses(s1.dir()).size());
        assertEquals(s1.mlm(), s2.mlm());
        assertEquals(BertDistillation.encoderParameters(s1.model(16, 16)), s1.encoderParameters());
        // fine-tuning: cached by base and seed; another seed is another run
        BertDistillation.FineTuned f1 = labA.fineTune(s1, 1, false);
        assertFalse(f1.loaded());
        assertEquals(labA.testLabels().length, f1.test().examples());
        BertDistillation.FineTuned f1again = labA.fineTune(s1, 1, false);
        assertTrue(f1again.loaded());
        assertEquals(f1.test(), f1again.test());
        assertNotEquals(f1.dir(), labA.fineTune(s1, 2, false).dir());
        assertTrue(Files.isRegularFile(f1.dir().resolve("model/classifier.safetensors")));
    }

    private static List<String> losses(Path dir) throws IOException {
        return Files.readAllLines(dir.resolve("run/metrics.csv")).stream().filter(l -> l.contains(",train,loss,")).toList();
    }

    @Test
    void majorityBaselineIsTheMostFrequentTrainingGenreOnTheTestPassages() {
        BertDistillation lab = labA;
        int[] counts = new int[BrownCorpus.CATEGORIES.size()];
        for (int y : lab.trainLabels()) counts[y]++;
        int best = 0;
        for (int c = 0; c < counts.length; c++) if (counts[c] > counts[best]) best = c;
        assertEquals("learned", BrownCorpus.CATEGORIES.get(best), "the largest genre of Brown");
        long hits = 0;
        for (int y : lab.testLabels()) if (y == best) hits++;
        var m = lab.majorityBaseline();
        // the unigram reference: the specials (ids 0-4 in WordPiece) are never masked, so never scored
        int[] ids = lab.tokenizer().encode(brown.text(BrownCorpus.Split.VALIDATION));
        int[] scored = java.util.Arrays.stream(java.util.Arrays.copyOf(ids, TINY.mlmEvalTokens())).filter(id -> id > 4).toArray();
        double expected = org.distillery.eval.UnigramBaseline.perplexity(
                lab.tokenizer().encode(brown.text(BrownCorpus.Split.TRAIN)), scored, lab.tokenizer().vocabSize());
        assertEquals(expected, lab.unigramPerplexity(), 1e-9 * expected);
        assertEquals(lab.testLabels().length, m.examples());
        assertEquals(hits, m.correct());
    }

    @Test
    void badSettingsAreRefusedWithTheirName() {
        var w = BertDistillation.Weights.distilBert();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new BertDistillation.Setup(400, 16, 3, 2, 16, 4, 1, 1, 1e-3, 0, 1, 1e-3, 0, 1, w));
        assertEquals("teacherLayers: must be even and >= 2 (students have half) but was 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BertDistillation.Setup(400, 16, 2, 3, 16, 4, 1, 1, 1e-3, 0, 1, 1e-3, 0, 1, w));
        assertEquals("hidden, heads: hidden must be a positive multiple of heads but were 16, 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BertDistillation.Setup(400, 16, 2, 2, 16, 4, 0, 1, 1e-3, 0, 1, 1e-3, 0, 1, w));
        assertEquals("teacherSteps, studentSteps, fineTuneSteps: must be >= 1 but were 0, 1, 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BertDistillation.Weights(5, 2, 1, 0));
        assertEquals("temperature: must be finite and > 0 but was 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BertDistillation.Weights(-1, 2, 1, 2));
        assertEquals("ce, mlm, cos: weights must be finite and >= 0 but were -1.0, 2.0, 1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BertDistillation(TINY, null, Map.of(), Path.of("x")));
        assertEquals("brown: must not be null", e.getMessage());
    }
}
