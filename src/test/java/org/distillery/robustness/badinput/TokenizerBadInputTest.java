package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.io;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.tokenize.BpeTrainer;
import org.distillery.tokenize.ByteTokenizer;
import org.distillery.tokenize.Gpt2Tokenizer;
import org.distillery.tokenize.WordPieceTokenizer;
import org.distillery.tokenize.WordPieceTrainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizers and their trainers: vocabularies too small, missing special tokens, repeated or blank tokens,
 * malformed files, missing files and folders, ids outside the vocabulary, null text.
 */
class TokenizerBadInputTest {
    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Gpt2Tokenizer gpt2 = BpeTrainer.gpt2Style(260).train("hello hello world world world");
        Path gdir = Files.createDirectories(tmp.resolve("gpt2"));
        gpt2.save(gdir);
        Path vocab = gdir.resolve("vocab.json"), merges = gdir.resolve("merges.txt");
        Path badMerges = Files.writeString(tmp.resolve("bad-merges.txt"), "#version: 0.2\nh e l\n");
        Path arrayVocab = Files.writeString(tmp.resolve("array.json"), "[1, 2]");
        Path fractionVocab = Files.writeString(tmp.resolve("fraction.json"), "{\"a\": 1.5}");
        Path noMask = Files.writeString(tmp.resolve("no-mask.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n");
        Path repeated = Files.writeString(tmp.resolve("repeated.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\na\n");
        Path blank = Files.writeString(tmp.resolve("blank.txt"), "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\n");
        WordPieceTokenizer wp = new WordPieceTrainer(40, true).train("the cat sat on the mat");
        return BadInput.tests(List.of(
                iae("BPE vocabulary below 256 bytes", "vocabSize = 200: must be >= 257 (256 byte tokens + 1 special tokens)",
                        () -> BpeTrainer.gpt2Style(200)),
                iae("BPE special tokens repeated", "specialTokens = [<s>, <s>]: must be distinct",
                        () -> new BpeTrainer(300, List.of("<s>", "<s>"))),
                iae("BPE empty special token", "specialTokens = []: must be non-empty strings",
                        () -> new BpeTrainer(300, List.of(""))),
                iae("BPE of null text", "text must not be null", () -> BpeTrainer.gpt2Style(300).train(null)),
                iae("WordPiece vocabulary of 3", "vocabSize = 3: must be >= 6 (5 special tokens + at least one character); the"
                        + " text's alphabet sets the real minimum", () -> new WordPieceTrainer(3, true)),
                iae("WordPiece vocabulary below the alphabet", "vocabSize = 8: must be >= 12 (5 special tokens + the 7 characters,"
                        + " initial and ##, of the text)", () -> new WordPieceTrainer(8, true).train("the cat sat")),
                iae("vocab.txt without [MASK]", noMask + ": vocab lacks the special tokens [[MASK]]: all of [[PAD], [UNK], [CLS],"
                        + " [SEP], [MASK]] are required", () -> WordPieceTokenizer.load(noMask, true)),
                iae("vocab.txt with a repeated token", repeated + ": vocab line 8 (id 7): token 'a' repeats line 6 (id 5); tokens"
                        + " must be distinct", () -> WordPieceTokenizer.load(repeated, true)),
                iae("vocab.txt with a blank line", blank + ": vocab line 3 (id 2): token '' must be non-empty and hold no whitespace",
                        () -> WordPieceTokenizer.load(blank, true)),
                iae("an empty vocabulary", "vocab is empty: it needs at least the special tokens [[PAD], [UNK], [CLS], [SEP], [MASK]]",
                        () -> new WordPieceTokenizer(List.of(), true)),
                io("no vocab.txt", "cannot read " + tmp.resolve("none.txt") + ": no such file",
                        () -> WordPieceTokenizer.load(tmp.resolve("none.txt"), true)),
                io("vocab.txt is a folder", "cannot read " + tmp + ": Is a directory", () -> WordPieceTokenizer.load(tmp, true)),
                iae("WordPiece id outside the vocabulary", "unknown token id 22: ids must be in [0, 22) (vocab size 22)",
                        () -> wp.decode(new int[] {5, 22})),
                iae("WordPiece null ids", "ids must not be null", () -> wp.decode(null)),
                io("no vocab.json", "cannot read " + tmp.resolve("vocab.json") + ": no such file", () -> Gpt2Tokenizer.load(tmp)),
                io("no merges.txt", "cannot read " + tmp.resolve("none-merges.txt") + ": no such file",
                        () -> Gpt2Tokenizer.load(vocab, tmp.resolve("none-merges.txt"))),
                iae("merges.txt line of three tokens", badMerges + " line 2: 'h e l': expected two tokens separated by one space",
                        () -> Gpt2Tokenizer.load(vocab, badMerges)),
                iae("vocab.json an array", arrayVocab + ": expected a JSON object of token -> id",
                        () -> Gpt2Tokenizer.load(arrayVocab, merges)),
                iae("vocab.json with a fractional id", fractionVocab + ": token 'a' has id 1.5: ids must be integers",
                        () -> Gpt2Tokenizer.load(fractionVocab, merges)),
                iae("GPT-2 id outside the vocabulary", "unknown token id 260: ids must be in [0, 260) (vocab size 260)",
                        () -> gpt2.decode(new int[] {260})),
                iae("GPT-2 negative id", "unknown token id -1: ids must be in [0, 260) (vocab size 260)",
                        () -> gpt2.decode(new int[] {-1})),
                iae("GPT-2 null text", "text must not be null", () -> gpt2.encode(null)),
                iae("byte id 256", "unknown token id 256: ids must be in [0, 256) (vocab size 256)",
                        () -> new ByteTokenizer().decode(new int[] {65, 256})),
                iae("byte null text", "text must not be null", () -> new ByteTokenizer().encode(null))));
    }
}
