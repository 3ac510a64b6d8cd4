package org.distillery.train;

import static org.junit.jupiter.api.Assertions.*;

import org.distillery.notebook.Profile;
import org.junit.jupiter.api.Test;

/** {@link TeacherRuns}: the teacher of notebook 01, field by field (a change here retrains every notebook's teacher). */
class TeacherRunsTest {
    @Test
    void theNotebookTeacherRuns() {
        LanguageModelRun q = TeacherRuns.brownBytes(Profile.QUICK), f = TeacherRuns.brownBytes(Profile.FULL);
        assertEquals("brown", f.dataset());
        assertEquals("byte", f.tokenizer());
        assertEquals(32_768, q.validationTokens());
        assertEquals(0, f.validationTokens());
        TrainConfig t = f.train();
        assertEquals(org.distillery.io.Gpt2Config.of(256, 128, 128, 4, 4), t.model());
        assertEquals(16, t.batchSize());
        assertEquals(128, t.seqLen());
        assertEquals(600, t.steps());
        assertEquals(50, t.warmupSteps());
        assertEquals(2e-3, t.lrMax(), 0);
        assertEquals(2e-4, t.lrMin(), 0);
        assertEquals(100, t.evalInterval());
        assertEquals(8, t.evalBatches());
        assertEquals(300, t.checkpointInterval());
        assertEquals(1, t.keepCheckpoints());
        assertEquals(1, t.seed());
        TrainConfig u = q.train();
        assertEquals(org.distillery.io.Gpt2Config.of(256, 64, 64, 2, 4), u.model());
        assertEquals(8, u.batchSize());
        assertEquals(64, u.seqLen());
        assertEquals(150, u.steps());
        assertEquals(20, u.warmupSteps());
        assertEquals("teacher-quick", TeacherRuns.cacheName(Profile.QUICK));
    }
}
