/**
 * Real packed storage of quantized linear-layer weights and kernels that multiply on it (issue 5, item 7).
 *
 * <ul>
 *   <li>{@link org.distillery.quant.packed.PackedFormat}: int8 / int4 (two per byte), symmetric or with
 *   per-group zero-points, and llama.cpp's Q8_0 / Q4_0 blocks of 32; exact bits per weight.</li>
 *   <li>{@link org.distillery.quant.packed.PackedWeights}: W [out, in] packed (byte layouts in its javadoc),
 *   built by round-to-nearest from floats or from precomputed {@link org.distillery.quant.packed.QuantizedCodes}
 *   (e.g. GPTQ's codes, scales and zeros).</li>
 *   <li>{@link org.distillery.quant.packed.QuantizedLinear}: {@code y = x W^T + b} on the packed codes
 *   ({@code jdk.incubator.vector}), batch 1 and batch N; for 4-bit formats optionally with int8 activations
 *   ({@link org.distillery.quant.packed.Int4A8MatVec}, W4A8, integer products in 16-bit lanes).</li>
 *   <li>{@link org.distillery.quant.packed.PackedSafetensors}: the documented safetensors layout.</li>
 *   <li>{@link org.distillery.quant.packed.PackedGpt}: an inference-only GPT-2 on packed linear layers, from a
 *   float {@code Gpt} (RTN) or a {@code ./lab quantize} directory; its memory against float32.</li>
 *   <li>{@link org.distillery.quant.packed.PackedBench}: batch-1 speed against float32 and memory bandwidth.</li>
 *   <li>{@link org.distillery.quant.packed.PackedGptBench}: {@code ./lab bench packed}, PackedGpt against the
 *   float32 model, tokens/s and bytes.</li>
 * </ul>
 */
package org.distillery.quant.packed;
