package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.distillery.train.TrainConfig;
import org.distillery.util.FileTrees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LanguageModelDistillation}: tiny runs are deterministic, the teacher-output cache changes nothing and
 * holds what {@link LanguageModelDistillation#teacherOutputBytes} says, teacher initialisation copies the teacher,
 * finished runs are reused from the artifact cache.
 */
class LanguageModelDistillationTest {
    static final Gpt2Config TEACHER = Gpt2Config.of(32, 16, 16, 2, 2);

    static LanguageModelDistillation lab(Path dir, Path outputs) {
        Path teacherDir = dir.resolve("teacher");
        if (!Files.exists(teacherDir)) new Gpt(TEACHER, 4, 16, 77).save(teacherDir);
        int[] train = DistillerTest.tokens(1, 3000, 32), val = DistillerTest.tokens(2, 400, 32);
        return new LanguageModelDistillation(teacherDir, train, val, DistillerTest.tokens(3, 300, 32), Map.of("x", "1"), outputs);
    }

    static TrainConfig base() {
        return TrainConfig.defaults(TEACHER).withBatch(4, 16).withSteps(4, 1).withLr(3e-3, 3e-4).withEval(2, 1).withSeed(5);
    }

    @Test
    void aTinyDistillationRunIsDeterministicAndTheTeacherCacheChangesNothing(@TempDir Path dir) throws IOException {
        LanguageModelDistillation plain = lab(dir, null), cached = lab(dir, dir.resolve("outputs"));
        var w = LanguageModelDistillation.Weights.defaults();
        var spec = plain.spec(StudentShape.NARROW, StudentRecipe.SOFT_HIDDEN, base(), w);
        var a = plain.run(spec, dir.resolve("a"), false);
        var b = plain.run(spec, dir.resolve("b"), false);
        var c = cached.run(spec, dir.resolve("c"), false);                       // computes and stores
        var d = cached.run(spec, dir.resolve("d"), false);                       // reads back
        for (var r : List.of(b, c, d)) {
            assertEquals(a.validationPerplexity(), r.validationPerplexity(), 0.0);
            assertEquals(a.finalTrainLoss(), r.finalTrainLoss(), 0.0);
        }
        assertTrue(a.validationPerplexity() > 1 && a.validationPerplexity() < 64, "ppl " + a.validationPerplexity());
        assertEquals(org.distillery.eval.Perplexity.predictedTokens(300, 16), a.validationTokens());
        assertEquals(new Gpt(StudentShape.NARROW.config(TEACHER), 1, 2, 0).parameterCount(), a.parameters());
        assertEquals(8, a.model(4, 16).config().nEmbd());

        Path outputs = cached.teacherOutputDir(spec.train());
        long payload = 0, files = 0;
        try (Stream<Path> s = Files.list(outputs)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                files++;
                payload += Files.size(p);
            }
        }
        assertEquals(2 * 4, files, "logits and hidden states of 4 micro-batches");
        long estimate = LanguageModelDistillation.teacherOutputBytes(spec.train(), TEACHER, true);
        assertEquals(4L * 4 * (4 * 16) * (32 + 16), estimate);
        assertTrue(payload >= estimate && payload < estimate + files * 400, payload + " vs " + estimate);

        // another seed reads other batches, so it gets another teacher-output folder
        assertNotEquals(outputs, cached.teacherOutputDir(spec.train().withSeed(6)));
    }

    @Test
    void recipesStartFromTheTeacherOrFromTheSeedAndShareTheBatches(@TempDir Path dir) {
        LanguageModelDistillation lab = lab(dir, null);
        var w = LanguageModelDistillation.Weights.defaults();
        TrainConfig oneStep = base().withSteps(1, 0);
        var scratch = lab.run(lab.spec(StudentShape.SHALLOW, StudentRecipe.SCRATCH, oneStep, w), dir.resolve("s"), false);
        var init = lab.run(lab.spec(StudentShape.SHALLOW, StudentRecipe.TEACHER_INIT, oneStep, w), dir.resolve("i"), false);
        assertNotEquals(scratch.validationPerplexity(), init.validationPerplexity());
        // teacher init: after one step the student's only layer is still close to teacher layer spread(2, 1)[0] = 0
        Gpt teacher = lab.teacher(4, 16), student = init.model(4, 16);
        FloatTensor tw = teacher.parameters().get("h.0.attn.c_attn.weight"), sw = student.parameters().get("h.0.attn.c_attn.weight");
        double diff = 0;
        for (int i = 0; i < tw.size(); i++) diff = Math.max(diff, Math.abs(tw.get(i) - sw.get(i)));
        assertTrue(diff < 0.01, "one AdamW step of lr 3e-3 away from teacher layer 0: " + diff);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lab.run(
                new LanguageModelDistillation.Spec(StudentShape.NARROW, StudentRecipe.SOFT, base(), w), dir.resolve("x"), false));
        assertTrue(e.getMessage().startsWith("spec: train.model is "), e.getMessage());
        assertEquals("temperature: must be finite and > 0 but was 0.0",
                assertThrows(IllegalArgumentException.class, () -> new LanguageModelDistillation.Weights(1, 1, 0, 0)).getMessage());
    }

    @Test
    void finishedRunsAreReusedFromTheArtifactCache(@TempDir Path dir) {
        LanguageModelDistillation lab = lab(dir, null);
        var spec = lab.spec(StudentShape.SHALLOW_NARROW, StudentRecipe.SOFT, base().withSeed(12345),
                LanguageModelDistillation.Weights.defaults());
        Path folder = lab.folder(spec);
        FileTrees.delete(folder);
        try {
            var first = lab.trainOrLoad(spec, false);
            assertFalse(first.loaded());
            assertEquals(folder, first.dir());
            var again = lab.trainOrLoad(spec, false);
            assertTrue(again.loaded());
            assertEquals(first.validationPerplexity(), again.validationPerplexity(), 0.0);
            assertEquals(first.trainSeconds(), again.trainSeconds(), 0.0, "the stored run, not a new one");
            assertNotEquals(folder, lab.folder(lab.spec(StudentShape.SHALLOW_NARROW, StudentRecipe.SOFT, base().withSeed(12345),
                    new LanguageModelDistillation.Weights(1, 1, 1, 3))), "another temperature is another run");
        } finally {
            FileTrees.delete(folder);
        }
    }
}
