/**
 * The training engine's math kernels: one class per layer, each a forward/backward pair (llm.c style)
 * with a naive double-precision twin ({@code ...Reference}) that the tests check against central finite
 * differences and against which the fast fp32 kernel is checked.
 *
 * <h2>Data layout</h2>
 * <ul>
 *   <li>Every tensor is a {@link org.distillery.engine.kernels.FloatTensor}: a dense fp32 c-order
 *       (row-major) ND4J array in off-heap memory plus a zero-copy native-order {@code ByteBuffer}
 *       view of the same memory, both fetched once when the tensor is created.</li>
 *   <li>Activations are 2-D {@code [B*T, C]} (token rows, channel columns; the javadocs write N for
 *       the row count B*T where a kernel does not care about sequences); attention's GEMM path splits
 *       the fused {@code qkv [B*T, 3C]} into contiguous per-head [B*nh, T, hd] buffers that it owns.</li>
 *   <li>GEMMs go through {@code Nd4j.gemm(a, b, c, transA, transB, 1, beta)} into the preallocated
 *       output ({@link org.distillery.engine.kernels.LinearKernel}) or, for attention, batched rank-3
 *       {@code Nd4j.matmul(a, b, c, transA, transB, false)} into preallocated outputs.</li>
 *   <li>Row kernels (LayerNorm, GELU, softmax, cross-entropy, adds, embedding, attention) are Java
 *       {@code jdk.incubator.vector} loops over the tensor memory (vector loads and stores through
 *       {@link org.distillery.engine.kernels.VectorMemory}, scalar access through the {@code ByteBuffer}
 *       view), with a scalar tail for lengths that are not a multiple of
 *       the lane count.</li>
 *   <li>Gradient convention: input gradients ({@code dx}) are overwritten; parameter gradients
 *       ({@code dW}, {@code db}, {@code dgamma}, {@code dwte}...) are accumulated ({@code +=}) so that
 *       tied weights and gradient accumulation work; the caller zeroes them once per step.</li>
 *   <li>No kernel allocates tensors: outputs, saved activations and scratch are passed in or owned by
 *       the kernel object ({@link org.distillery.engine.kernels.AttentionKernel} owns P, one row of
 *       scratch and the GEMM path's per-head buffers). Argument checks allocate nothing unless they fail. Kernels are single-threaded;
 *       splitting rows across threads is the caller's business (later work).</li>
 * </ul>
 *
 * <h2>Why this layout: micro-check (Java 17, 2 shared vCPU Zen 4 with AVX-512, 16 float lanes,
 * machine under load, so the ratios matter more than the absolute numbers)</h2>
 * <pre>
 *   length-16384 dot product, 20000 reps     heap float[] 19.5 GFLOP/s | direct ByteBuffer 13.0 | FloatBuffer scalar 3.5
 *   length-16384 axpy                        heap float[] 21.0 GFLOP/s | direct ByteBuffer 10.1
 *   Q K^T for one (b, h), T=128, hd=32, Q/K strided inside qkv [B*T, 3C]:
 *       Nd4j.gemm on the strided views       5.1 GFLOP/s, about 207 us per call (the views get copied)
 *       Java FloatVector dot per (i, j)      4.3 GFLOP/s, no copies, masks handled inline
 *   whole attention forward, B=4, T=128, C=128, nh=4 (load average 9.5 on 2 cores: ranges over 5 runs):
 *       AttentionKernel.forward (Java vector loops, causal, incl. softmax and mask)    4.5 - 13 ms
 *       rank-4 Nd4j.matmul Q K^T and P V + head split/merge assign (no softmax/mask)  4.6 - 27 ms
 * </pre>
 * Heap arrays are 1.5-2x faster for the vector loops on Java 17, but GEMM needs the data off-heap, and
 * copying every activation between heap and off-heap memory costs a full extra pass over it, about
 * what the row kernel itself costs. So the data stays off-heap and the row kernels read it through
 * the {@code ByteBuffer} view (still 3-4x a scalar {@code FloatBuffer} loop). Attention uses Java vector
 * loops straight on {@code qkv}: per-(b, h) GEMMs on views are no faster and pay ND4J's per-call
 * overhead; the rank-4 batched {@code Nd4j.matmul} (about 70 GFLOP/s in notes/engine.md) was not
 * faster in that small micro-check (B=4) once its head split/merge copies are counted. Re-measured when
 * attention dominated the GPT training profile (B=32, T=128, nh=4; JFR: 72 % of the Java time in the
 * loops' dot/axpy): rank-3 batched matmul over all (b, h) into preallocated outputs, with one split and
 * one merge pass, made a training step 1.8-2x faster, so it is now the default attention path and the
 * loops are kept as the reference ({@code -Ddistillery.attention=loops}).
 *
 * <h2>One source tree for JDK 17 and JDK 25</h2>
 * The incubating Vector API's {@code FloatVector.fromByteBuffer} / {@code intoByteBuffer} (JDK 17-18)
 * were removed in JDK 19 in favour of {@code fromMemorySegment} / {@code intoMemorySegment}
 * ({@code java.lang.foreign.MemorySegment}, final API from JDK 22), and no source calling either pair
 * compiles on both JDKs. So all off-heap vector access lives in
 * {@link org.distillery.engine.kernels.VectorMemory}, which picks the pair the running JDK has once, at
 * class initialisation, by reflection (method handles turned into constant functional-interface
 * instances with {@code LambdaMetafactory}, which C2 inlines to the same intrinsics as a direct call),
 * and each {@link org.distillery.engine.kernels.FloatTensor} makes its memory object (the
 * {@code ByteBuffer}, or a {@code MemorySegment} over it on JDK 19+) once, at construction. Kernels pass
 * {@code FloatTensor}s, never raw buffers; the scalar tails still read the {@code ByteBuffer} view. The
 * row kernels stay allocation-free on both JDKs ({@code AllocationFreeTest}).
 *
 * <h2>Numerics</h2>
 * Fast kernels compute in fp32 with vector reductions (a different summation order from the scalar
 * twins); the tests bound the difference from the double twin at about 1e-5 relative. Losses are
 * summed in double. Results do not depend on the JIT tier (interpreted, C1, C2), so a run repeated from
 * the same seed is bit-identical: no kernel uses {@code reduceLanes(ADD)} (unspecified lane order, which
 * C2 on JDK 25 changes) or the transcendental {@code lanewise} operators (SVML in C2, a Java fallback
 * otherwise); see {@link org.distillery.engine.kernels.VectorOps}.
 */
package org.distillery.engine.kernels;
