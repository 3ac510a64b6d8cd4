package org.distillery.prune;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Dtype;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.io.TensorInfo;

/**
 * A model's parameters in a safetensors file with the sparse weights stored as a bitmask plus their packed
 * nonzero values. For a sparse weight {@code NAME} W [rows, cols] (the kernels' [out, in] orientation, not
 * GPT-2's Conv1D [in, out]):
 * <table>
 *   <caption>tensors of one sparse weight</caption>
 *   <tr><th>tensor</th><th>dtype</th><th>shape</th><th>content</th></tr>
 *   <tr><td>{@code NAME.mask}</td><td>U8</td><td>[rows, ceil(cols / 8)]</td><td>bit c % 8 (least significant
 *       first) of byte c / 8 of row r is 1 iff W[r, c] is stored</td></tr>
 *   <tr><td>{@code NAME.values}</td><td>F32</td><td>[nnz]</td><td>the stored values, row-major order</td></tr>
 * </table>
 * A value is stored iff its bit pattern is not +0.0 (so -0.0 round-trips too); every other tensor is stored
 * dense under its own name (F32, its shape). The {@code __metadata__} holds {@code "distillery.sparse": "1"}
 * (the layout version) and, per sparse weight, {@code NAME.shape} = {@code "rows,cols"}. A sparse weight costs
 * rows * ceil(cols/8) + 4 nnz bytes against 4 rows cols dense: smaller once more than 1/32 of it is zero
 * (about 53 % of dense at 50 % sparsity). Loading is strict (version, shapes, bit count = number of values,
 * no stray tensors) and gives back exactly the dense values; writing is atomic ({@link Safetensors#write}).
 */
public final class SparseSafetensors {
    private SparseSafetensors() {}

    /** Metadata key of the layout version. */
    public static final String VERSION_KEY = "distillery.sparse";
    /** The layout version written and accepted. */
    public static final String VERSION = "1";

    /**
     * Writes {@code parameters} (name -&gt; tensor, in order) to {@code path}: the names in {@code sparse} (rank-2
     * tensors) as mask + values, the others dense. Returns the path.
     */
    public static Path save(Path path, Map<String, FloatTensor> parameters, Collection<String> sparse) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(parameters, "parameters");
        Set<String> sp = new HashSet<>(Objects.requireNonNull(sparse, "sparse"));
        for (String n : sp) {
            if (!parameters.containsKey(n)) throw new IllegalArgumentException("sparse: no parameter named " + n);
        }
        List<NamedTensor> tensors = new ArrayList<>();
        Map<String, String> meta = new TreeMap<>();
        meta.put(VERSION_KEY, VERSION);
        for (Map.Entry<String, FloatTensor> e : parameters.entrySet()) {
            String name = e.getKey();
            FloatTensor t = e.getValue();
            if (!sp.contains(name)) {
                tensors.add(NamedTensor.f32(name, t.shape(), t.toFloatArray()));
                continue;
            }
            if (t.rank() != 2) throw new IllegalArgumentException("sparse: " + name + " has shape " + t.shapeString() + ", not [rows, cols]");
            int rows = t.dim(0), cols = t.dim(1), rowBytes = (cols + 7) / 8;
            float[] w = t.toFloatArray();
            float[] mask = new float[rows * rowBytes];                 // U8 values as floats (Safetensors' carrier)
            float[] values = new float[w.length];
            int nnz = 0;
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float v = w[r * cols + c];
                    if (Float.floatToRawIntBits(v) != 0) {
                        mask[r * rowBytes + c / 8] += 1 << (c % 8);
                        values[nnz++] = v;
                    }
                }
            }
            tensors.add(new NamedTensor(name + ".mask", Dtype.U8, new int[] {rows, rowBytes}, mask));
            tensors.add(NamedTensor.f32(name + ".values", new int[] {nnz}, Arrays.copyOf(values, nnz)));
            meta.put(name + ".shape", rows + "," + cols);
        }
        return Safetensors.write(path, tensors, meta);
    }

    /** Reads every tensor of {@code path} as dense values, by name (sparse weights rebuilt from mask + values). */
    public static Map<String, NamedTensor> load(Path path) {
        Objects.requireNonNull(path, "path");
        try (Safetensors.Reader r = Safetensors.open(path)) {
            Map<String, String> meta = r.header().metadata();
            Safetensors.requireLayout(path, meta, VERSION_KEY, VERSION, "a sparse-weights file");
            Map<String, NamedTensor> out = new LinkedHashMap<>();
            Set<String> used = new HashSet<>();
            for (Map.Entry<String, String> m : new TreeMap<>(meta).entrySet()) {
                if (!m.getKey().endsWith(".shape")) continue;
                String name = m.getKey().substring(0, m.getKey().length() - ".shape".length());
                int[] shape = shapeOf(path, name, m.getValue());
                int rows = shape[0], cols = shape[1], rowBytes = (cols + 7) / 8;
                float[] mask = tensor(r, path, name + ".mask", Dtype.U8, new long[] {rows, rowBytes});
                TensorInfo vi = r.header().find(name + ".values").orElseThrow(() ->
                        new CheckpointFormatException(path + ": missing tensor \"" + name + ".values\""));
                if (vi.dtype() != Dtype.F32 || vi.shape().length != 1) {
                    throw new CheckpointFormatException(path + ": tensor \"" + name + ".values\" must be F32 [nnz]; is "
                            + vi.dtype() + " " + Arrays.toString(vi.shape()));
                }
                float[] values = r.read(name + ".values").data();
                float[] w = new float[rows * cols];
                int k = 0;
                for (int row = 0; row < rows; row++) {
                    for (int c = 0; c < cols; c++) {
                        int bits = (int) mask[row * rowBytes + c / 8];
                        if ((bits >> (c % 8) & 1) == 0) continue;
                        if (k >= values.length) {
                            throw new CheckpointFormatException(path + ": tensor \"" + name + ".mask\" has more set bits than the "
                                    + values.length + " values of \"" + name + ".values\"");
                        }
                        w[row * cols + c] = values[k++];
                    }
                }
                if (k != values.length) {
                    throw new CheckpointFormatException(path + ": tensor \"" + name + ".mask\" has " + k + " set bits but \""
                            + name + ".values\" holds " + values.length + " values");
                }
                used.add(name + ".mask");
                used.add(name + ".values");
                out.put(name, NamedTensor.f32(name, shape, w));
            }
            for (String t : r.names()) {
                if (used.contains(t)) continue;
                if (t.endsWith(".mask") || t.endsWith(".values")) {
                    String base = t.substring(0, t.lastIndexOf('.'));
                    if (!out.containsKey(base) && r.header().find(base).isEmpty()) {
                        throw new CheckpointFormatException(path + ": tensor \"" + t + "\" has no \"" + base
                                + ".shape\" in the metadata");
                    }
                }
                NamedTensor d = r.read(t);
                if (d.dtype() != Dtype.F32) {
                    throw new CheckpointFormatException(path + ": dense tensor \"" + t + "\" has dtype " + d.dtype() + " (accepted: F32)");
                }
                out.put(t, d);
            }
            return out;
        }
    }

    /** Copies the file's tensors into {@code parameters} (same names and element counts; every parameter needed). */
    public static void loadInto(Path path, Map<String, FloatTensor> parameters) {
        Map<String, NamedTensor> file = load(path);
        for (Map.Entry<String, FloatTensor> e : parameters.entrySet()) {
            NamedTensor t = file.get(e.getKey());
            if (t == null) throw new CheckpointFormatException(path + ": missing tensor \"" + e.getKey() + "\"");
            if (!Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new CheckpointFormatException(path + ": tensor \"" + e.getKey() + "\" has shape " + Arrays.toString(t.shape())
                        + " but the model needs " + e.getValue().shapeString());
            }
            e.getValue().copyFrom(t.data());
        }
    }

    private static int[] shapeOf(Path path, String name, String v) {
        String[] p = v.split(",");
        try {
            if (p.length != 2) throw new NumberFormatException();
            int rows = Integer.parseInt(p[0].trim()), cols = Integer.parseInt(p[1].trim());
            if (rows < 0 || cols < 0) throw new NumberFormatException();
            return new int[] {rows, cols};
        } catch (NumberFormatException e) {
            throw new CheckpointFormatException(path + ": metadata \"" + name + ".shape\" = \"" + v + "\" is not \"rows,cols\"");
        }
    }

    private static float[] tensor(Safetensors.Reader r, Path path, String name, Dtype dtype, long[] shape) {
        TensorInfo t = r.header().find(name).orElseThrow(() ->
                new CheckpointFormatException(path + ": missing tensor \"" + name + "\" (expected " + dtype + " "
                        + Arrays.toString(shape) + ")"));
        if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape)) {
            throw new CheckpointFormatException(path + ": tensor \"" + name + "\" is " + t.dtype() + " " + Arrays.toString(t.shape())
                    + "; the metadata's shape needs " + dtype + " " + Arrays.toString(shape));
        }
        return r.read(name).data();
    }
}
