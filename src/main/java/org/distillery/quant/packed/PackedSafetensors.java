package org.distillery.quant.packed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.Dtype;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.io.TensorInfo;

/**
 * Packed linear layers in a safetensors file. For a layer named {@code NAME} (W [out, in], g columns per group):
 *
 * <table>
 *   <caption>tensors of one layer</caption>
 *   <tr><th>tensor</th><th>dtype</th><th>shape</th><th>content</th></tr>
 *   <tr><td>{@code NAME.qweight}</td><td>I8 (int8, q8_0) or U8 (int8-asym, int4, int4-asym, q4_0)</td>
 *       <td>[out, in] (8-bit) or [out, in / 2] (4-bit)</td><td>the codes, byte layout of {@link PackedWeights}</td></tr>
 *   <tr><td>{@code NAME.scales}</td><td>F16</td><td>[out, in / g]</td><td>per-group scales</td></tr>
 *   <tr><td>{@code NAME.zeros}</td><td>U8</td><td>[out, in / g]</td><td>zero-points (asymmetric formats only)</td></tr>
 *   <tr><td>{@code NAME.bias}</td><td>F32</td><td>[out]</td><td>the bias, when the layer has one</td></tr>
 * </table>
 * The {@code __metadata__} holds {@code "distillery.packed": "1"} (the layout version) and per layer
 * {@code NAME.format} (a {@link PackedFormat#id()}), {@code NAME.group_size} (g), {@code NAME.out_features}
 * and {@code NAME.in_features}. Writing is atomic (temporary file, then rename: {@link Safetensors#write}).
 *
 * <p>Loading is strict: an unknown format or version, a missing or unexpected tensor, a dtype or shape that
 * does not match the metadata, a scale that is not finite, or a code or zero-point outside the format's
 * range is a {@link CheckpointFormatException} whose message starts with the file and names the tensor.
 */
public final class PackedSafetensors {
    private PackedSafetensors() {}

    /** Metadata key of the layout version. */
    public static final String VERSION_KEY = "distillery.packed";
    /** The layout version written and accepted. */
    public static final String VERSION = "1";

    /** Writes {@code layers} (name -> layer) to {@code path}, atomically; returns the path. */
    public static Path save(Path path, Map<String, QuantizedLinear> layers) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(layers, "layers");
        List<NamedTensor> tensors = new ArrayList<>();
        Map<String, String> meta = new TreeMap<>();
        meta.put(VERSION_KEY, VERSION);
        for (Map.Entry<String, QuantizedLinear> e : layers.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("layers: name \"" + name + "\" is not accepted (non-empty, not __metadata__)");
            }
            QuantizedLinear lin = Objects.requireNonNull(e.getValue(), "layer " + name);
            PackedWeights w = lin.weight();
            PackedFormat f = w.format();
            byte[] qb = w.qweightBytes();
            float[] qf = new float[qb.length];
            for (int i = 0; i < qb.length; i++) qf[i] = f == PackedFormat.INT8 || f == PackedFormat.Q8_0 ? qb[i] : qb[i] & 0xFF;
            tensors.add(new NamedTensor(name + ".qweight", qweightDtype(f), new int[] {w.out(), w.rowBytes()}, qf));
            tensors.add(new NamedTensor(name + ".scales", Dtype.F16, new int[] {w.out(), w.groups()}, w.scales()));
            if (!f.symmetric()) {
                int[] z = w.zeros();
                float[] zf = new float[z.length];
                for (int i = 0; i < z.length; i++) zf[i] = z[i];
                tensors.add(new NamedTensor(name + ".zeros", Dtype.U8, new int[] {w.out(), w.groups()}, zf));
            }
            float[] bias = lin.bias();
            if (bias != null) tensors.add(NamedTensor.f32(name + ".bias", new int[] {w.out()}, bias));
            meta.put(name + ".format", f.id());
            meta.put(name + ".group_size", Integer.toString(w.group()));
            meta.put(name + ".out_features", Integer.toString(w.out()));
            meta.put(name + ".in_features", Integer.toString(w.in()));
        }
        return Safetensors.write(path, tensors, meta);     // rejects duplicate tensor names (e.g. "a" and "a.qweight" clashes)
    }

    /** The dtype of the {@code .qweight} tensor: I8 for the signed 8-bit formats, U8 otherwise. */
    public static Dtype qweightDtype(PackedFormat f) {
        return f == PackedFormat.INT8 || f == PackedFormat.Q8_0 ? Dtype.I8 : Dtype.U8;
    }

    /** Reads every packed layer of {@code path}, by name in file metadata order (sorted). */
    public static Map<String, QuantizedLinear> load(Path path) {
        Objects.requireNonNull(path, "path");
        try (Safetensors.Reader r = Safetensors.open(path)) {
            Map<String, String> meta = r.header().metadata();
            Safetensors.requireLayout(path, meta, VERSION_KEY, VERSION, "a packed-weights file");
            List<String> names = new ArrayList<>();
            for (String k : new TreeMap<>(meta).keySet()) {
                if (k.endsWith(".format")) names.add(k.substring(0, k.length() - ".format".length()));
            }
            Set<String> expected = new HashSet<>();
            Map<String, QuantizedLinear> layers = new LinkedHashMap<>();
            for (String name : names) {
                PackedFormat f = PackedFormat.byId(meta.get(name + ".format")).orElseThrow(() ->
                        new CheckpointFormatException(path + ": layer " + name + ": unknown format \""
                                + meta.get(name + ".format") + "\" (accepted: " + PackedFormat.acceptedIds() + ")"));
                int out = intMeta(path, meta, name + ".out_features");
                int in = intMeta(path, meta, name + ".in_features");
                int group = intMeta(path, meta, name + ".group_size");
                try {
                    if (out < 1) throw new IllegalArgumentException("out_features = " + out + " (accepted: >= 1)");
                    f.checkGroup(group, in);
                } catch (IllegalArgumentException e) {
                    throw new CheckpointFormatException(path + ": layer " + name + ": " + e.getMessage(), e);
                }
                int rb = f.bits() == 8 ? in : in / 2;
                float[] q = tensor(r, path, name + ".qweight", qweightDtype(f), new int[] {out, rb}, expected);
                float[] s = tensor(r, path, name + ".scales", Dtype.F16, new int[] {out, in / group}, expected);
                for (int i = 0; i < s.length; i++) {
                    if (!Float.isFinite(s[i])) {
                        throw new CheckpointFormatException(path + ": tensor \"" + name + ".scales\" [" + i / (in / group)
                                + ", " + i % (in / group) + "] = " + s[i] + " is not finite");
                    }
                }
                float[] z = f.symmetric() ? null
                        : tensor(r, path, name + ".zeros", Dtype.U8, new int[] {out, in / group}, expected);
                float[] bias = null;
                if (r.header().find(name + ".bias").isPresent()) {
                    bias = tensor(r, path, name + ".bias", Dtype.F32, new int[] {out}, expected);
                }
                QuantizedCodes codes;
                try {
                    codes = PackedWeights.codesFromStorage(f, out, in, group, q, s, z);
                } catch (IllegalArgumentException e) {
                    String t = e.getMessage().startsWith("zeros") ? ".zeros" : e.getMessage().startsWith("scales")
                            ? ".scales" : ".qweight";
                    throw new CheckpointFormatException(path + ": tensor \"" + name + t + "\": " + e.getMessage(), e);
                }
                layers.put(name, new QuantizedLinear(PackedWeights.pack(codes), bias));
            }
            for (String t : r.names()) {
                if (!expected.contains(t)) {
                    throw new CheckpointFormatException(path + ": unexpected tensor \"" + t
                            + "\": it belongs to no layer listed in the metadata (" + names + ")");
                }
            }
            return layers;
        }
    }

    private static int intMeta(Path path, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) throw new CheckpointFormatException(path + ": metadata \"" + key + "\" is missing");
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new CheckpointFormatException(path + ": metadata \"" + key + "\" = \"" + v + "\" is not an integer", e);
        }
    }

    private static float[] tensor(Safetensors.Reader r, Path path, String name, Dtype dtype, int[] shape,
                                  Set<String> expected) {
        TensorInfo t = r.header().find(name).orElseThrow(() ->
                new CheckpointFormatException(path + ": missing tensor \"" + name + "\" (expected " + dtype + " "
                        + Arrays.toString(shape) + ")"));
        if (t.dtype() != dtype) {
            throw new CheckpointFormatException(path + ": tensor \"" + name + "\" has dtype " + t.dtype()
                    + " (accepted: " + dtype + ")");
        }
        if (!Arrays.equals(t.shape(), Arrays.stream(shape).asLongStream().toArray())) {
            throw new CheckpointFormatException(path + ": tensor \"" + name + "\" has shape "
                    + Arrays.toString(t.shape()) + " but the metadata's layer needs " + Arrays.toString(shape));
        }
        expected.add(name);
        return r.read(name).data();
    }
}
