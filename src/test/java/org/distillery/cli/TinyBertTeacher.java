package org.distillery.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.data.BrownCorpus;
import org.distillery.io.BertConfig;
import org.distillery.model.Bert;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.tokenize.WordPieceTrainer;

/**
 * The BERT teacher of the ./lab distill tests: a WordPiece vocabulary of 200 learned from the first 60,000 characters of
 * Brown's training split, H 16, 4 layers, 2 heads, MLP 32, 16 positions, BERT's initialisation with seed 5 (built, not
 * trained), saved with its vocab.txt.
 *
 * @param dir       the teacher's model directory
 * @param model     the teacher loaded for batches of B x T
 * @param tokenizer its vocabulary
 * @param evalIds   the first 2,000 tokens of the validation split under it
 */
record TinyBertTeacher(Path dir, Bert model, WordPieceTokenizer tokenizer, int[] evalIds) {
    static final int T = 16, B = 4;

    /** Builds and saves the teacher into {@code parent/teacher}. */
    static TinyBertTeacher build(Path parent) {
        BrownCorpus brown = BrownCorpus.load();
        WordPieceTokenizer tok = new WordPieceTrainer(200, true).train(brown.text(BrownCorpus.Split.TRAIN).substring(0, 60_000));
        BertConfig cfg = new BertConfig(tok.vocabSize(), 16, 4, 2, 32, "gelu", T, 2, 1e-12, Map.of("pad_token_id", 0));
        Path dir = parent.resolve("teacher");
        new Bert(cfg, B, T, 5).save(dir);
        tok.save(dir.resolve("vocab.txt"));
        return new TinyBertTeacher(dir, Bert.load(dir, B, T), tok,
                Arrays.copyOf(tok.encode(brown.text(BrownCorpus.Split.VALIDATION)), 2000));
    }

    /** Runs {@code ./lab distill --teacher T --student-config S --out O more...}; returns the exit code. */
    static int distill(LabRun runner, Path teacher, Path spec, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("distill", "--teacher", teacher.toString(), "--student-config",
                spec.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return runner.run(args.toArray(String[]::new));
    }
}
