package org.distillery.train;

import org.distillery.io.Gpt2Config;
import org.distillery.notebook.Profile;

/**
 * The teacher runs the notebooks share, defined once so that every notebook that needs the teacher builds
 * exactly the same {@link LanguageModelRun} and therefore finds the same {@link org.distillery.util.ArtifactCache}
 * folder (the teacher notebook trains it, later notebooks load it).
 */
public final class TeacherRuns {
    private TeacherRuns() {}

    /**
     * The GPT teacher on Brown bytes of {@code 01-teacher.ipynb}: quick profile d 64, 2 layers, context 64,
     * batch 8 x 64, 150 steps, perplexity on the first 32,768 validation bytes; full profile d 128, 4 layers,
     * context 128, batch 16 x 128, 600 steps, perplexity on all validation bytes. Both: 4 heads, lr 2e-3 -&gt;
     * 2e-4, seed 1.
     */
    public static LanguageModelRun brownBytes(Profile profile) {
        if (profile == null) throw new IllegalArgumentException("profile: must not be null");
        // GPT-2 shape: vocab 256 (bytes), context, width, layers, heads
        Gpt2Config model = profile.pick(Gpt2Config.of(256, 64, 64, 2, 4), Gpt2Config.of(256, 128, 128, 4, 4));
        TrainConfig train = TrainConfig.defaults(model)
                .withBatch(profile.pick(8, 16), profile.pick(64, 128))
                .withSteps(profile.pick(150, 600), profile.pick(20, 50))
                .withLr(2e-3, 2e-4)
                .withEval(profile.pick(50, 100), profile.pick(4, 8))
                .withCheckpoints(profile.pick(150, 300), 1)
                .withSeed(1);
        return new LanguageModelRun("brown", "byte", profile.pick(32_768, 0), train);
    }

    /** The cache folder prefix of the teacher of {@code profile}: {@code teacher-quick} or {@code teacher-full}. */
    public static String cacheName(Profile profile) {
        return "teacher-" + profile.id();
    }
}
