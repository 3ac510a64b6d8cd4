/**
 * Tokenizers: text to token ids and back.
 *
 * <ul>
 *   <li>{@link org.distillery.tokenize.Tokenizer}: the interface.</li>
 *   <li>{@link org.distillery.tokenize.ByteTokenizer}: UTF-8 bytes, vocab 256.</li>
 *   <li>{@link org.distillery.tokenize.Gpt2Tokenizer}: GPT-2's byte-level BPE, its
 *       {@code vocab.json} + {@code merges.txt} format; identical ids to GPT-2 (tested against JTokkit).</li>
 *   <li>{@link org.distillery.tokenize.BpeTrainer}: trains a {@code Gpt2Tokenizer} on a text.</li>
 *   <li>{@link org.distillery.tokenize.WordPieceTokenizer} and
 *       {@link org.distillery.tokenize.WordPieceTrainer}: BERT's WordPiece, {@code vocab.txt} format.</li>
 *   <li>{@link org.distillery.tokenize.BpeMergeLearner}: the merge-learning algorithm both trainers use;
 *       {@link org.distillery.tokenize.ByteLevel}: GPT-2's pre-tokenizer regex and byte-to-character table.</li>
 * </ul>
 *
 * <pre>{@code
 * Gpt2Tokenizer bpe = BpeTrainer.gpt2Style(4096).train(BrownCorpus.load().text(BrownCorpus.Split.TRAIN));
 * bpe.save(Path.of("runs/tok-4096"));            // vocab.json + merges.txt
 * int[] ids = bpe.encode("The jury said ...");
 * }</pre>
 */
package org.distillery.tokenize;
