package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.io;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.data.BrownCorpus;
import org.distillery.data.DatasetException;
import org.distillery.data.DatasetFiles;
import org.distillery.data.GenrePassages;
import org.distillery.data.Idx;
import org.distillery.data.Mnist;
import org.distillery.data.TokenBin;
import org.distillery.tokenize.ByteTokenizer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dataset loaders: {@link BrownCorpus}, {@link Mnist}, {@link Idx}, {@link DatasetFiles}, {@link GenrePassages},
 * {@link TokenBin}. Missing and changed files (with the command that restores them), malformed content, unknown
 * categories, bad passage lengths, token files of odd length or with ids outside the vocabulary, folders for files.
 */
class DatasetBadInputTest {
    @TempDir
    Path tmp;

    private static BadInput.Case dse(String name, String message, org.junit.jupiter.api.function.Executable call) {
        return new BadInput.Case(name, DatasetException.class, message, call);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty-root"));
        Path brownDir = Files.createDirectories(tmp.resolve("root/brown"));
        Files.writeString(brownDir.resolve("train.jsonl.gz"), "not gzip");
        Files.writeString(brownDir.resolve(DatasetFiles.SUMS), "0".repeat(64) + "  train.jsonl.gz\n");
        Path badSums = Files.createDirectories(tmp.resolve("bad-sums"));
        Files.writeString(badSums.resolve(DatasetFiles.SUMS), "abc  x\n");
        Path slash = Files.createDirectories(tmp.resolve("slash-root/slash"));
        Files.writeString(slash.resolve(DatasetFiles.SUMS), "0".repeat(64) + "  ../etc/passwd\n");
        Path odd = Files.write(tmp.resolve("odd.bin"), new byte[] {1, 0, 2});
        Path big = Files.write(tmp.resolve("big.bin"), new byte[] {1, 0, (byte) 0xE8, 3});
        Path binDir = Files.createDirectories(tmp.resolve("folder.bin"));
        Path gz = Files.write(tmp.resolve("broken.idx"), new byte[] {0x1F, (byte) 0x8B, 8, 0, 0});
        BrownCorpus.Document doc = new BrownCorpus.Document("ca01", "news", BrownCorpus.Split.TRAIN, "Some text here.");
        return BadInput.tests(List.of(
                dse("Brown missing", "missing dataset file " + empty.resolve("brown/SHA256SUMS") + ": restore it with 'git checkout"
                        + " -- datasets/brown/SHA256SUMS' or regenerate it with 'datasets/brown/make.sh'", () -> BrownCorpus.load(empty)),
                dse("Brown changed", "checksum mismatch for " + brownDir.resolve("train.jsonl.gz") + ": expected sha256 "
                        + "0".repeat(64) + ", actual " + DatasetFiles.sha256(brownDir.resolve("train.jsonl.gz")) + "; restore it with"
                        + " 'git checkout -- datasets/brown/train.jsonl.gz' or regenerate it with 'datasets/brown/make.sh'",
                        () -> BrownCorpus.load(tmp.resolve("root"))),
                dse("MNIST missing", "missing dataset file " + empty.resolve("mnist/SHA256SUMS") + ": restore it with 'git checkout"
                        + " -- datasets/mnist/SHA256SUMS' or regenerate it with 'datasets/mnist/make.sh'",
                        () -> Mnist.load(empty, Mnist.Split.TEST)),
                dse("a manifest line that is not sha256sum", badSums.resolve(DatasetFiles.SUMS) + " line 1 is not in sha256sum"
                        + " format: abc  x", () -> DatasetFiles.expectedSums(badSums)),
                dse("a manifest naming a file elsewhere", slash.resolve(DatasetFiles.SUMS) + " line 1: \"../etc/passwd\" is not a"
                        + " file name of " + slash + " (a manifest lists the files beside it, without folders)",
                        () -> DatasetFiles.verifyAll(tmp.resolve("slash-root"))),
                dse("a file not in the manifest", brownDir.resolve("test.jsonl.gz") + " is not listed in "
                        + brownDir.resolve(DatasetFiles.SUMS) + "; restore it with 'git checkout -- datasets/brown/test.jsonl.gz' or"
                        + " regenerate it with 'datasets/brown/make.sh'", () -> DatasetFiles.verified(brownDir, "test.jsonl.gz")),
                dse("IDX shorter than its magic", "x.idx: not an IDX file: 3 bytes, shorter than the 4-byte magic",
                        () -> Idx.parse("x.idx", new byte[3])),
                dse("IDX with a lying size", "x.idx: IDX size mismatch: dims [1000000, 28, 28] of UBYTE need 784000000 data bytes"
                        + " after the 16-byte header, file has 0", () -> Idx.parse("x.idx", new byte[] {0, 0, 8, 3, 0, 15, 66, 64,
                        0, 0, 0, 28, 0, 0, 0, 28})),
                dse("IDX truncated gzip", gz + ": corrupt or truncated gzip data",
                        () -> Idx.read(gz)),
                dse("IDX missing", "missing IDX file " + tmp.resolve("none.idx"), () -> Idx.read(tmp.resolve("none.idx"))),
                iae("an unknown Brown category", "unknown Brown category: poetry", () -> BrownCorpus.categoryIndex("poetry")),
                iae("passages of 1 token", "length: must be >= 2 tokens but was 1",
                        () -> GenrePassages.of(List.of(doc), new ByteTokenizer(), 1)),
                iae("passages without documents", "documents: must not be null", () -> GenrePassages.of(null, new ByteTokenizer(), 8)),
                iae("passages without a tokenizer", "tokenizer: must not be null", () -> GenrePassages.of(List.of(doc), null, 8)),
                iae(".bin of odd length", odd + ": 3 bytes is not a whole number of uint16 ids", () -> TokenBin.read(odd, 256)),
                iae(".bin id outside the vocabulary", big + ": token id 1000 at position 1 is outside the model's vocabulary of 256",
                        () -> TokenBin.read(big, 256)),
                iae(".bin with vocabulary 0", "vocab: 0 is not accepted: use 1 or more tokens", () -> TokenBin.read(odd, 0)),
                io(".bin missing", "cannot read " + tmp.resolve("none.bin") + ": no such file", () -> TokenBin.read(tmp.resolve("none.bin"), 256)),
                io(".bin a folder", "cannot read " + binDir + ": Is a directory", () -> TokenBin.read(binDir, 256))));
    }
}
