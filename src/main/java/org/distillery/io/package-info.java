/**
 * Checkpoint input and output: the safetensors format and Hugging Face checkpoint directories.
 *
 * <ul>
 *   <li>{@link org.distillery.io.Safetensors}: strict reader (header validated before any data is read;
 *   tensors read one at a time by positional reads, any {@link org.distillery.io.Dtype} converted to
 *   float32) and deterministic, atomic writer (F32, F16, BF16 with round-to-nearest-even).
 *   {@link org.distillery.io.SafetensorsHeader} and {@link org.distillery.io.TensorInfo} describe a file
 *   without its data; {@link org.distillery.io.NamedTensor} carries one tensor's values (and converts to
 *   and from ND4J {@code INDArray}).</li>
 *   <li>{@link org.distillery.io.HfConfig}: {@code config.json} of GPT-2 ({@link org.distillery.io.Gpt2Config}),
 *   BERT ({@link org.distillery.io.BertConfig}) and DistilBERT ({@link org.distillery.io.DistilBertConfig})
 *   as validated records that keep unknown fields, each with the table of tensor names and shapes
 *   ({@link org.distillery.io.TensorSpec}) of its Hugging Face checkpoints.</li>
 *   <li>{@link org.distillery.io.HfCheckpoint}: checks a file's tensors against a configuration (missing
 *   tensors, wrong shapes) and loads or saves a checkpoint directory.</li>
 *   <li>{@link org.distillery.io.CheckpointFormatException}: the one exception for bad input; its message
 *   starts with the file and names the tensor or field.</li>
 * </ul>
 */
package org.distillery.io;
