package org.distillery.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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
 * <p><b>Why method handles.</b> The incubating Vector API read and wrote {@code ByteBuffer}s with
 * {@code FloatVector.fromByteBuffer} / {@code intoByteBuffer} up to JDK 18; JDK 19 removed both and
 * replaced them with {@code fromMemorySegment} / {@code intoMemorySegment} on
 * {@code java.lang.foreign.MemorySegment} (a preview API in 19-21, final from 22). No call to either
 * pair compiles on both javac 17 and javac 25, so the source names neither: at class initialisation
 * this class looks up whichever pair the running JDK has and adapts it to one fixed signature,
 * <pre>
 *   LOAD:  (VectorSpecies, Object memory, long byteOffset, ByteOrder) -> FloatVector
 *   STORE: (FloatVector, Object memory, long byteOffset, ByteOrder) -> void
 * </pre>
 * where {@code memory} is what {@link #wrap(ByteBuffer)} made for the tensor once, at construction:
 * the {@code ByteBuffer} itself on JDK 17-18, a {@code MemorySegment} over it
 * ({@code MemorySegment.ofBuffer}, also through a method handle) on JDK 19+, so no call creates a
 * segment. The handles sit in {@code static final} fields and are called with {@code invokeExact}, so
 * C2 treats them as constants and inlines them down to the Vector API intrinsics: no boxing, no
 * allocation, and the same machine code as a direct call (see {@code package-info.java}). The
 * argument types at every call site match the handle types exactly ({@code invokeExact} would
 * otherwise throw {@code WrongMethodTypeException}).
 */
final class VectorMemory {
    private VectorMemory() {}

    /** True when the running JDK has the JDK 19+ {@code MemorySegment} methods (and not the old ones). */
    static final boolean SEGMENTS;
    /** ByteBuffer -> Object: the memory object the handles below take (the buffer or a segment over it). */
    private static final MethodHandle WRAP;
    /** (VectorSpecies, Object, long, ByteOrder) -> FloatVector. */
    private static final MethodHandle LOAD;
    /** (FloatVector, Object, long, ByteOrder) -> void. */
    private static final MethodHandle STORE;

    static {
        MethodHandles.Lookup lookup = MethodHandles.publicLookup();
        MethodType loadType = MethodType.methodType(FloatVector.class, VectorSpecies.class, Object.class,
                long.class, ByteOrder.class);
        MethodType storeType = MethodType.methodType(void.class, FloatVector.class, Object.class, long.class,
                ByteOrder.class);
        MethodType wrapType = MethodType.methodType(Object.class, ByteBuffer.class);
        boolean segments;
        MethodHandle wrap, load, store;
        try {
            MethodHandle fromBB = lookup.findStatic(FloatVector.class, "fromByteBuffer",
                    MethodType.methodType(FloatVector.class, VectorSpecies.class, ByteBuffer.class, int.class,
                            ByteOrder.class));
            MethodHandle intoBB = lookup.findVirtual(FloatVector.class, "intoByteBuffer",
                    MethodType.methodType(void.class, ByteBuffer.class, int.class, ByteOrder.class));
            segments = false;
            // Object -> ByteBuffer is a checkcast, long -> int a narrowing (offsets are checked ints).
            load = MethodHandles.explicitCastArguments(fromBB, loadType);
            store = MethodHandles.explicitCastArguments(intoBB, storeType);
            wrap = MethodHandles.identity(ByteBuffer.class).asType(wrapType);
        } catch (NoSuchMethodException e) {
            try {
                Class<?> ms = Class.forName("java.lang.foreign.MemorySegment");
                MethodHandle fromMS = lookup.findStatic(FloatVector.class, "fromMemorySegment",
                        MethodType.methodType(FloatVector.class, VectorSpecies.class, ms, long.class,
                                ByteOrder.class));
                MethodHandle intoMS = lookup.findVirtual(FloatVector.class, "intoMemorySegment",
                        MethodType.methodType(void.class, ms, long.class, ByteOrder.class));
                MethodHandle ofBuffer = lookup.findStatic(ms, "ofBuffer", MethodType.methodType(ms, Buffer.class));
                segments = true;
                load = fromMS.asType(loadType);
                store = intoMS.asType(storeType);
                wrap = ofBuffer.asType(wrapType);
            } catch (ReflectiveOperationException e2) {
                e2.addSuppressed(e);
                throw new ExceptionInInitializerError(e2);
            }
        } catch (IllegalAccessException e) {
            throw new ExceptionInInitializerError(e);
        }
        SEGMENTS = segments;
        WRAP = wrap;
        LOAD = load;
        STORE = store;
    }

    /**
     * The memory object for a tensor's direct, native-order buffer; call once per tensor (it may
     * allocate a segment).
     */
    static Object wrap(ByteBuffer buffer) {
        try {
            return (Object) WRAP.invokeExact(buffer);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The vector at byte offset {@code byteOffset} of {@code memory} (made by {@link #wrap}). */
    static FloatVector load(VectorSpecies<Float> species, Object memory, long byteOffset, ByteOrder order) {
        try {
            return (FloatVector) LOAD.invokeExact(species, memory, byteOffset, order);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes {@code v} at byte offset {@code byteOffset} of {@code memory} (made by {@link #wrap}). */
    static void store(FloatVector v, Object memory, long byteOffset, ByteOrder order) {
        try {
            STORE.invokeExact(v, memory, byteOffset, order);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException) throw (RuntimeException) t;
        if (t instanceof Error) throw (Error) t;
        throw new IllegalStateException(t);
    }
}
