package org.distillery.distill;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.distillery.engine.kernels.FloatTensor;

/**
 * Initialises a student from a teacher of the same architecture family, by parameter name (the engine's
 * Hugging Face names): every student tensor is copied from the teacher tensor of the same name, where a
 * layer index ({@code h.<i>.} in GPT-2, {@code layer.<i>.} in BERT) is replaced through a layer map
 * (student layer i takes teacher layer {@code map[i]}). Embeddings, final LayerNorm and heads have no
 * layer index and are copied as they are.
 *
 * <p>Layer maps: {@link #spread} keeps the first and last teacher layers and spaces the others evenly
 * (rounded); for 12 -> 6 it gives [0, 2, 4, 7, 9, 11], exactly the map of the released DistilBERT
 * extraction script (the paper's text says "one out of two"; {@link #everyOther} gives [0, 2, 4, 6, 8, 10]).
 *
 * <p><b>Narrower students (documented choice: truncation).</b> When a student tensor is smaller than the
 * teacher's in some dimension, the leading block is copied: the first rows/columns. Because every
 * matrix is stored [out, in], truncating all of them to the first E_s hidden units keeps a consistent
 * sub-network: the first E_s embedding features, and, when the student keeps the teacher's head size,
 * its first n_head_s attention heads whole (query/key/value rows and the output projection's columns of
 * those heads) and the first I_s MLP units. GPT-2's fused {@code c_attn} [3E, E] is truncated per block
 * (Q, K and V rows separately). Position tables truncate to the student's context. A student tensor
 * larger than the teacher's in any dimension is an error (there is nothing to copy).
 */
public final class StudentInitializer {
    private StudentInitializer() {}

    private static final Pattern LAYER = Pattern.compile("(^|\\.)(h|layer)\\.(\\d+)\\.");

    /** What happened to one student tensor. */
    public record Copy(String student, String teacher, int[] studentShape, int[] teacherShape, boolean truncated) {
        @Override
        public String toString() {
            return student + " <- " + teacher + (truncated ? " (truncated " + Arrays.toString(teacherShape) + " -> "
                    + Arrays.toString(studentShape) + ")" : "");
        }
    }

    /** Student layer i takes teacher layer round(i (Lt - 1) / (Ls - 1)): first and last kept, evenly spread. */
    public static int[] spread(int teacherLayers, int studentLayers) {
        checkCounts(teacherLayers, studentLayers);
        int[] map = new int[studentLayers];
        for (int i = 0; i < studentLayers; i++) {
            map[i] = studentLayers == 1 ? 0 : (int) Math.round(i * (teacherLayers - 1) / (double) (studentLayers - 1));
        }
        return map;
    }

    /** Student layer i takes teacher layer i * floor(Lt / Ls): "one out of two" for half the layers. */
    public static int[] everyOther(int teacherLayers, int studentLayers) {
        checkCounts(teacherLayers, studentLayers);
        int step = teacherLayers / studentLayers;
        int[] map = new int[studentLayers];
        for (int i = 0; i < studentLayers; i++) map[i] = i * step;
        return map;
    }

    private static void checkCounts(int teacherLayers, int studentLayers) {
        if (teacherLayers < 1) throw new IllegalArgumentException("teacherLayers: must be >= 1 but was " + teacherLayers);
        if (studentLayers < 1 || studentLayers > teacherLayers) {
            throw new IllegalArgumentException("studentLayers: must be in [1, teacherLayers = " + teacherLayers
                    + "] but was " + studentLayers);
        }
    }

    /**
     * Copies the teacher's tensors into the student's (in place) through {@code layerMap}.
     *
     * @param teacher  the teacher's parameters by name
     * @param student  the student's parameters by name (overwritten)
     * @param layerMap student layer i takes teacher layer layerMap[i]; its length must be the student's
     *                 layer count and every entry a teacher layer
     * @return one record per student tensor, in the student's order
     */
    public static List<Copy> initialize(Map<String, FloatTensor> teacher, Map<String, FloatTensor> student, int[] layerMap) {
        if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
        if (student == null) throw new IllegalArgumentException("student: must not be null");
        if (layerMap == null) throw new IllegalArgumentException("layerMap: must not be null");
        int teacherLayers = layerCount(teacher.keySet()), studentLayers = layerCount(student.keySet());
        if (layerMap.length != studentLayers) {
            throw new IllegalArgumentException("layerMap: has " + layerMap.length + " entries but the student has "
                    + studentLayers + " layers");
        }
        for (int i = 0; i < layerMap.length; i++) {
            if (layerMap[i] < 0 || layerMap[i] >= teacherLayers) {
                throw new IllegalArgumentException("layerMap: entry " + i + " names teacher layer " + layerMap[i]
                        + ", but the teacher has layers 0.." + (teacherLayers - 1));
            }
        }
        List<Copy> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : student.entrySet()) {
            String name = e.getKey(), source = teacherName(name, layerMap);
            FloatTensor dst = e.getValue(), src = teacher.get(source);
            if (src == null) {
                throw new IllegalArgumentException("teacher: has no tensor " + source + " (for student tensor " + name
                        + "); teacher and student must be the same architecture");
            }
            int[] ds = dst.shape(), ts = src.shape();
            if (ds.length != ts.length) {
                throw new IllegalArgumentException("student: tensor " + name + " has shape " + Arrays.toString(ds)
                        + " but the teacher's " + source + " has rank " + ts.length + " " + Arrays.toString(ts));
            }
            for (int d = 0; d < ds.length; d++) {
                if (ds[d] > ts[d]) {
                    throw new IllegalArgumentException("student: tensor " + name + " " + Arrays.toString(ds)
                            + " is larger than the teacher's " + source + " " + Arrays.toString(ts) + " in dimension " + d
                            + "; a student can only be initialised by truncation");
                }
            }
            boolean truncated = !Arrays.equals(ds, ts);
            int blocks = isFusedQkv(name) ? 3 : 1;
            if (truncated && blocks == 3 && (ts[0] % 3 != 0 || ds[0] % 3 != 0)) {
                throw new IllegalArgumentException("student: fused attention tensor " + name + " needs a first dimension"
                        + " divisible by 3 but has " + Arrays.toString(ds));
            }
            copyLeading(src, ts, dst, ds, blocks);
            out.add(new Copy(name, source, ds, ts, truncated));
        }
        return out;
    }

    /** The teacher's name for a student tensor: its layer index mapped through layerMap. */
    static String teacherName(String studentName, int[] layerMap) {
        Matcher m = LAYER.matcher(studentName);
        if (!m.find()) return studentName;
        int i = Integer.parseInt(m.group(3));
        return studentName.substring(0, m.start(3)) + layerMap[i] + studentName.substring(m.end(3));
    }

    /** 1 + the largest layer index in the names (0 when none has one). */
    static int layerCount(Iterable<String> names) {
        int max = -1;
        for (String n : names) {
            Matcher m = LAYER.matcher(n);
            if (m.find()) max = Math.max(max, Integer.parseInt(m.group(3)));
        }
        return max + 1;
    }

    private static boolean isFusedQkv(String name) {
        return name.endsWith("attn.c_attn.weight") || name.endsWith("attn.c_attn.bias");
    }

    /**
     * dst = the leading block of src; with {@code blocks} = 3 the first dimension is split into three equal
     * blocks (Q, K, V) and each is truncated on its own.
     */
    private static void copyLeading(FloatTensor src, int[] ts, FloatTensor dst, int[] ds, int blocks) {
        int srcInner = 1, dstInner = 1;                         // elements per first-dimension row
        for (int d = 1; d < ts.length; d++) {
            srcInner *= ts[d];
            dstInner *= ds[d];
        }
        int srcBlockRows = ts[0] / blocks, dstBlockRows = ds[0] / blocks;
        for (int blk = 0; blk < blocks; blk++) {
            for (int r = 0; r < dstBlockRows; r++) {
                int sr = blk * srcBlockRows + r, dr = blk * dstBlockRows + r;
                copyRow(src, sr * srcInner, ts, dst, dr * dstInner, ds);
            }
        }
    }

    /** Copies one first-dimension row (a sub-tensor of rank - 1) by leading-block truncation. */
    private static void copyRow(FloatTensor src, int so, int[] ts, FloatTensor dst, int dOff, int[] ds) {
        if (ts.length == 1) {
            dst.set(dOff, src.get(so));
            return;
        }
        if (ts.length == 2) {
            for (int c = 0; c < ds[1]; c++) dst.set(dOff + c, src.get(so + c));
            return;
        }
        int[] tsRest = Arrays.copyOfRange(ts, 1, ts.length), dsRest = Arrays.copyOfRange(ds, 1, ds.length);
        int srcInner = 1, dstInner = 1;
        for (int d = 1; d < tsRest.length; d++) {
            srcInner *= tsRest[d];
            dstInner *= dsRest[d];
        }
        for (int r = 0; r < dsRest[0]; r++) copyRow(src, so + r * srcInner, tsRest, dst, dOff + r * dstInner, dsRest);
    }
}
