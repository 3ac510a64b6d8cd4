package org.distillery.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.distillery.data.BrownCorpus;
import org.distillery.data.GenrePassages;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.model.BertClassifier;
import org.distillery.model.Gpt;
import org.distillery.model.GptClassifier;
import org.distillery.io.Gpt2Config;
import org.distillery.testing.ResumeSupport;
import org.distillery.tokenize.ByteTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning a BertClassifier: learns a task that needs attention from [CLS], resumes exactly; Brown genre passages. */
class SequenceClassificationObjectiveTest {
    static final MaskedLmBatches.Vocabulary VOCAB = new MaskedLmBatches.Vocabulary(40, 0, 2, 3, 4, List.of(0, 1, 2, 3, 4));
    static final int T = 12;

    /** Label 1 when the first content token is below 22: [CLS] must look at position 1. */
    static List<int[]> sequences(long seed, int n, int[] labelsOut) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] q = new int[3 + r.nextInt(T - 5)];
            for (int k = 0; k < q.length; k++) q[k] = 5 + r.nextInt(35);
            labelsOut[i] = q[0] < 22 ? 1 : 0;
            out.add(q);
        }
        return out;
    }

    static BertClassifier model(long seed) {
        Bert bert = new Bert(new BertConfig(40, 32, 2, 2, 64, "gelu", T, 1, 1e-12, Map.of("pad_token_id", 0)), 16, T, seed);
        return new BertClassifier(bert, 2, seed + 1);
    }

    @Test
    void learnsATaskThatNeedsAttentionFromCls() {
        int[] y = new int[800], vy = new int[200];
        List<int[]> x = sequences(1, 800, y), vx = sequences(2, 200, vy);
        SequenceClassificationObjective obj = new SequenceClassificationObjective(model(5), x, y, vx, vy, VOCAB,
                new SequenceClassificationObjective.Options(16, T, 0.1, 3));
        double before = obj.validationAccuracy().accuracy();
        new Trainer(LoopConfig.defaults().withSteps(300, 30).withLr(3e-3, 1e-4).withWeightDecay(0.01).withEvalInterval(0), obj)
                .showProgress(false).run();
        org.distillery.eval.ClassificationAccuracy.Result after = obj.validationAccuracy();
        System.out.printf("validation accuracy %.3f -> %.3f (mean NLL %.3f)%n", before, after.accuracy(), after.meanNll());
        assertTrue(after.accuracy() > 0.9, "accuracy " + after.accuracy());
    }

    @Test
    void resumeIsExact(@TempDir Path dir) {
        int[] y = new int[100], vy = new int[20];
        List<int[]> x = sequences(3, 100, y), vx = sequences(4, 20, vy);
        var opt = new SequenceClassificationObjective.Options(8, T, 0.1, 9);
        LoopConfig loop = LoopConfig.defaults().withSteps(8, 2).withLr(3e-3, 3e-4).withGradAccumSteps(2).withEvalInterval(3)
                .withCheckpoints(4, 2);
        ResumeSupport.assertExactResume(loop, () -> new SequenceClassificationObjective(model(7), x, y, vx, vy, VOCAB, opt),
                SequenceClassificationObjective.restorer(x, y, vx, vy, VOCAB), dir);
    }

    static GptClassifier gptModel(long seed) {
        Gpt gpt = new Gpt(Gpt2Config.of(40, T, 32, 2, 2), 16, T, seed);
        return new GptClassifier(gpt, 2, seed + 1);
    }

    /** A GPT classifier (plain rows, the last real token's score) learns the same task: it must attend back to token 0. */
    @Test
    void gptClassifierLearnsATaskThatNeedsAttentionFromTheLastToken() {
        int[] y = new int[800], vy = new int[200];
        List<int[]> x = sequences(1, 800, y), vx = sequences(2, 200, vy);
        SequenceClassificationObjective obj = new SequenceClassificationObjective(gptModel(5), x, y, vx, vy,
                SequenceFraming.plain(), new SequenceClassificationObjective.Options(16, T, 0.1, 3));
        double before = obj.validationAccuracy().accuracy();
        new Trainer(LoopConfig.defaults().withSteps(300, 30).withLr(3e-3, 1e-4).withWeightDecay(0.01).withEvalInterval(0), obj)
                .showProgress(false).run();
        org.distillery.eval.ClassificationAccuracy.Result after = obj.validationAccuracy();
        System.out.printf("GPT: validation accuracy %.3f -> %.3f (mean NLL %.3f)%n", before, after.accuracy(), after.meanNll());
        assertTrue(after.accuracy() > 0.9, "accuracy " + after.accuracy());
        assertEquals("plain", obj.state().path("framing").asText());
    }

    @Test
    void gptResumeIsExact(@TempDir Path dir) {
        int[] y = new int[100], vy = new int[20];
        List<int[]> x = sequences(3, 100, y), vx = sequences(4, 20, vy);
        var opt = new SequenceClassificationObjective.Options(8, T, 0.1, 9);
        LoopConfig loop = LoopConfig.defaults().withSteps(8, 2).withLr(3e-3, 3e-4).withGradAccumSteps(2).withEvalInterval(3)
                .withCheckpoints(4, 2);
        ResumeSupport.assertExactResume(loop, () -> new SequenceClassificationObjective(gptModel(7), x, y, vx, vy,
                        SequenceFraming.plain(), opt),
                SequenceClassificationObjective.restorer(x, y, vx, vy, SequenceFraming.plain(), GptClassifier::load), dir);
    }

    @Test
    void framingsWriteTheirRowsAndRefuseShortSequences() {
        int[] ids = new int[6];
        assertEquals(4, SequenceFraming.bert(VOCAB).write(new int[] {7, 8}, ids, 0, 6));
        assertArrayEquals(new int[] {2, 7, 8, 3, 0, 0}, ids);
        assertEquals(6, SequenceFraming.bert(VOCAB).write(new int[] {7, 8, 9, 10, 11}, ids, 0, 6));
        assertArrayEquals(new int[] {2, 7, 8, 9, 10, 3}, ids);
        assertEquals(2, SequenceFraming.plain().write(new int[] {7, 8}, ids, 0, 6));
        assertArrayEquals(new int[] {7, 8, 0, 0, 0, 0}, ids);
        assertEquals(6, SequenceFraming.plain().write(new int[] {1, 2, 3, 4, 5, 6, 7}, ids, 0, 6));
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6}, ids);
        int[] y = new int[4];
        List<int[]> x = sequences(3, 4, y);
        assertEquals("options: seqLen 2 is shorter than the bert framing's rows need (3)",
                assertThrows(IllegalArgumentException.class, () -> new SequenceClassificationObjective(model(1), x, y, null,
                        null, VOCAB, new SequenceClassificationObjective.Options(4, 2, 0, 1))).getMessage());
    }

    @Test
    void brownGenrePassagesKeepTheirDocumentsSplitAndLabel() {
        BrownCorpus brown = BrownCorpus.load();
        List<BrownCorpus.Document> docs = brown.documents(BrownCorpus.Split.TEST);
        List<GenrePassages.Passage> ps = GenrePassages.of(docs, new ByteTokenizer(), 256);
        assertFalse(ps.isEmpty());
        java.util.Set<String> testIds = new java.util.HashSet<>();
        for (BrownCorpus.Document d : docs) testIds.add(d.id());
        for (GenrePassages.Passage p : ps) {
            assertTrue(testIds.contains(p.document()));
            assertTrue(p.tokens().length >= 128 && p.tokens().length <= 256, "length " + p.tokens().length);
            BrownCorpus.Document d = docs.stream().filter(q -> q.id().equals(p.document())).findFirst().orElseThrow();
            assertEquals(d.categoryIndex(), p.label());
        }
        BrownCorpus.Document first = docs.get(0);
        int bytes = new ByteTokenizer().encode(first.text()).length;
        long fromFirst = ps.stream().filter(p -> p.document().equals(first.id())).count();
        assertEquals(bytes / 256 + (bytes % 256 >= 128 ? 1 : 0), fromFirst, "full passages + a last piece of at least half");
        assertEquals(ps.size(), GenrePassages.labels(ps).length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GenrePassages.of(docs, new ByteTokenizer(), 1));
        assertEquals("length: must be >= 2 tokens but was 1", e.getMessage());
    }
}
