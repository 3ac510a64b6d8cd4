package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The only place where the kernels touch off-heap memory with vectors: {@link FloatVector} load and
 * store on the memory of a {@link FloatTensor}, working on every JDK from 17 on with one source tree.
 *
 * <p><b>Why.</b> The incubating Vector API read and wrote {@code ByteBuffer}s with
 * {@code FloatVector.fromByteBuffer} / {@code intoByteBuffer} up to JDK 18; JDK 19 removed both and
 * replaced them with {@code fromMemorySegment} / {@code intoMemorySegment} on
 * {@code java.lang.foreign.MemorySegment} (a preview API in 19-21, final from 22). No call to either
 * pair compiles on both javac 17 and javac 25, so the source names neither: at class initialisation
 * this class looks up, as method handles, whichever pair the running JDK has, plus
 * {@code MemorySegment.ofBuffer} on 19+. The memory object a tensor hands to the loads and stores is
 * made once, by {@link #wrap(ByteBuffer)} when the tensor is constructed: the {@code ByteBuffer} itself
 * on JDK 17-18, a {@code MemorySegment} over it on JDK 19+, so no kernel call creates a segment.
 *
 * <p><b>Why not {@code invokeExact} in the loops.</b> The load and store handles are turned into
 * instances of two small interfaces ({@link Loader}, {@link Storer}: one fixed signature taking the
 * memory as {@code Object} and an {@code int} byte offset) with {@link LambdaMetafactory}, the mechanism
 * behind method references, and kept in {@code static final} fields. C2 sees a constant receiver of
 * a known class and inlines the call down to the Vector API intrinsic, exactly like a direct call.
 * Calling the handles with {@code invokeExact} also inlines, but every call site then needs a
 * {@code catch (Throwable)} (javac requires it), and the exception paths it adds to each inlined
 * load/store pushed {@code LayerNormKernel.backward} over C2's inlining node budget
 * (NodeCountInliningCutoff) on JDK 17: its last vector store stayed a real call and the vector it
 * took was allocated on the heap (3 KB per call, caught by {@code AllocationFreeTest}). Through the
 * interfaces there is no handler and the kernels allocate nothing.
 */
final class VectorMemory {
    private VectorMemory() {}

    /** A vector load, {@code FloatVector.fromByteBuffer} or {@code fromMemorySegment} behind one signature. */
    interface Loader {
        FloatVector load(VectorSpecies<Float> species, Object memory, int byteOffset, ByteOrder order);
    }

    /** A vector store, {@code FloatVector.intoByteBuffer} or {@code intoMemorySegment} behind one signature. */
    interface Storer {
        void store(FloatVector v, Object memory, int byteOffset, ByteOrder order);
    }

    /** True when the running JDK has the JDK 19+ {@code MemorySegment} methods (and not the old ones). */
    static final boolean SEGMENTS;
    /** ByteBuffer -> Object: the memory object the loads and stores take (the buffer or a segment over it). */
    private static final MethodHandle WRAP;
    /** The load for this JDK; a constant, so calls through it inline down to the intrinsic. */
    static final Loader LOAD;
    /** The store for this JDK; a constant, so calls through it inline down to the intrinsic. */
    static final Storer STORE;

    static {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        MethodHandle load, store, wrap;
        Class<?> memoryClass;
        try {
            memoryClass = ByteBuffer.class;
            load = lookup.findStatic(FloatVector.class, "fromByteBuffer",
                    MethodType.methodType(FloatVector.class, VectorSpecies.class, ByteBuffer.class, int.class,
                            ByteOrder.class));
            store = lookup.findVirtual(FloatVector.class, "intoByteBuffer",
                    MethodType.methodType(void.class, ByteBuffer.class, int.class, ByteOrder.class));
            wrap = MethodHandles.identity(ByteBuffer.class);
        } catch (NoSuchMethodException e) {
            try {
                memoryClass = Class.forName("java.lang.foreign.MemorySegment");
                load = lookup.findStatic(FloatVector.class, "fromMemorySegment",
                        MethodType.methodType(FloatVector.class, VectorSpecies.class, memoryClass, long.class,
                                ByteOrder.class));
                store = lookup.findVirtual(FloatVector.class, "intoMemorySegment",
                        MethodType.methodType(void.class, memoryClass, long.class, ByteOrder.class));
                wrap = lookup.findStatic(memoryClass, "ofBuffer", MethodType.methodType(memoryClass, Buffer.class));
            } catch (ReflectiveOperationException e2) {
                e2.addSuppressed(e);
                throw new ExceptionInInitializerError(e2);
            }
        } catch (IllegalAccessException e) {
            throw new ExceptionInInitializerError(e);
        }
        SEGMENTS = memoryClass != ByteBuffer.class;
        WRAP = wrap.asType(MethodType.methodType(Object.class, ByteBuffer.class));
        try {
            // The interface takes Object and int; the generated class casts to the buffer or segment class
            // and widens the offset to long where the JDK method takes one.
            LOAD = (Loader) LambdaMetafactory.metafactory(lookup, "load", MethodType.methodType(Loader.class),
                    MethodType.methodType(FloatVector.class, VectorSpecies.class, Object.class, int.class,
                            ByteOrder.class),
                    load,
                    MethodType.methodType(FloatVector.class, VectorSpecies.class, memoryClass, int.class,
                            ByteOrder.class)).getTarget().invokeExact();
            STORE = (Storer) LambdaMetafactory.metafactory(lookup, "store", MethodType.methodType(Storer.class),
                    MethodType.methodType(void.class, FloatVector.class, Object.class, int.class, ByteOrder.class),
                    store,
                    MethodType.methodType(void.class, FloatVector.class, memoryClass, int.class, ByteOrder.class))
                    .getTarget().invokeExact();
        } catch (Throwable t) {
            throw new ExceptionInInitializerError(t);
        }
    }

    /**
     * The memory object for a tensor's direct, native-order buffer; call once per tensor (it may
     * allocate a segment).
     */
    static Object wrap(ByteBuffer buffer) {
        try {
            return (Object) WRAP.invokeExact(buffer);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
