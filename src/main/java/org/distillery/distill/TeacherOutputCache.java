package org.distillery.distill;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.util.AtomicFiles;

/**
 * Teacher outputs (logits or hidden states) kept on disk, so that repeated student runs against the same
 * teacher and the same batches do not run the teacher again. One folder per teacher:
 * <pre>
 *   DIR/teacher.txt          the teacher's fingerprint (sha256 of its parameter names, shapes and float bits)
 *   DIR/KEY.safetensors      one tensor "output" (F32, exact), metadata {"teacher": fingerprint,
 *                            "inputs": a fingerprint of the batch the teacher saw (optional)}
 * </pre>
 * Keys name a batch (e.g. {@code step-000120} or {@code batch-17}); they are letters, digits, '.', '_', '-'.
 * Opening a folder made for another teacher, or reading a file whose metadata names another teacher, is
 * an error: a cache never silently serves another model's outputs. So is reading an output stored for other
 * inputs (when both sides give an inputs fingerprint): a folder serves one data order. Files are written to a temporary name
 * and renamed.
 */
public final class TeacherOutputCache {
    /** The file holding the teacher's fingerprint. */
    public static final String FINGERPRINT_FILE = "teacher.txt";
    private static final String TENSOR = "output", META = "teacher", INPUTS = "inputs";

    private final Path dir;
    private final String fingerprint;

    /**
     * Opens (creating if needed) the cache folder of the teacher with this fingerprint.
     *
     * @throws IllegalArgumentException if {@code dir} is a file, or holds another teacher's outputs
     */
    public TeacherOutputCache(Path dir, String fingerprint) {
        if (dir == null) throw new IllegalArgumentException("dir: must not be null");
        if (fingerprint == null || !fingerprint.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("fingerprint: must be 64 lowercase hex digits (see fingerprint(...)) but was "
                    + fingerprint);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("dir: " + dir + " is a file, not a folder");
        }
        this.dir = dir.toAbsolutePath();
        this.fingerprint = fingerprint;
        Path f = this.dir.resolve(FINGERPRINT_FILE);
        try {
            if (Files.exists(f)) {
                String stored = Files.readString(f, StandardCharsets.UTF_8).trim();
                if (!stored.equals(fingerprint)) {
                    throw new IllegalArgumentException("dir: " + this.dir + " caches the outputs of another teacher"
                            + " (fingerprint " + stored + ", this teacher's is " + fingerprint + "); use another folder"
                            + " or delete it");
                }
            } else {
                Files.createDirectories(this.dir);
                AtomicFiles.writeString(f, fingerprint + "\n");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open teacher cache " + this.dir, e);
        }
    }

    /** sha256 over each parameter's name, shape and float bits, in map order. */
    public static String fingerprint(Map<String, FloatTensor> parameters) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ByteBuffer buf = ByteBuffer.allocate(4 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        for (Map.Entry<String, FloatTensor> e : parameters.entrySet()) {
            FloatTensor p = e.getValue();
            md.update((e.getKey() + " " + Arrays.toString(p.shape()) + "\n").getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < p.size(); i++) {
                buf.putInt(Float.floatToRawIntBits(p.get(i)));
                if (!buf.hasRemaining()) {
                    md.update(buf.array(), 0, buf.position());
                    buf.clear();
                }
            }
            md.update(buf.array(), 0, buf.position());
            buf.clear();
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public Path dir() { return dir; }

    public String fingerprint() { return fingerprint; }

    /** Whether an output is cached under {@code key}. */
    public boolean contains(String key) {
        return Files.isRegularFile(file(key));
    }

    /**
     * Copies the output cached under {@code key} into {@code into}; returns false when there is none.
     *
     * @throws IllegalArgumentException if the file was written for another teacher or has another shape
     */
    public boolean load(String key, FloatTensor into) {
        return load(key, into, null);
    }

    /**
     * As {@link #load(String, FloatTensor)}, also checking that the output was stored for the same inputs.
     *
     * @param inputs the fingerprint of the batch the teacher would see now, or null for no check
     * @throws IllegalArgumentException if the file was stored for other inputs
     */
    public boolean load(String key, FloatTensor into, String inputs) {
        Path f = file(key);
        if (!Files.isRegularFile(f)) return false;
        String owner = Safetensors.header(f).metadata().get(META);
        if (!fingerprint.equals(owner)) {
            throw new IllegalArgumentException("key: cached output " + f + " was made by teacher " + owner
                    + ", not by this teacher (" + fingerprint + ")");
        }
        String storedInputs = Safetensors.header(f).metadata().get(INPUTS);
        if (inputs != null && storedInputs != null && !inputs.equals(storedInputs)) {
            throw new IllegalArgumentException("key: cached output " + f + " was computed on other inputs (fingerprint "
                    + storedInputs + ", now " + inputs + "): a cache folder serves one data order (data, batch shape and"
                    + " seed); use a folder per data order");
        }
        NamedTensor t = Safetensors.readAll(f).get(TENSOR);
        if (t == null || !Arrays.equals(t.shape(), into.shape())) {
            throw new IllegalArgumentException("into: cached output " + f + " has shape "
                    + (t == null ? "(no tensor 'output')" : Arrays.toString(t.shape())) + " but the buffer is "
                    + into.shapeString());
        }
        into.copyFrom(t.data());
        return true;
    }

    /** Writes {@code output} under {@code key} (replacing an earlier file atomically). */
    public void store(String key, FloatTensor output) {
        store(key, output, null);
    }

    /** Writes {@code output} under {@code key} with the fingerprint of the inputs it was computed on (or null). */
    public void store(String key, FloatTensor output, String inputs) {
        Path f = file(key);
        Map<String, String> meta = inputs == null ? Map.of(META, fingerprint) : Map.of(META, fingerprint, INPUTS, inputs);
        Safetensors.write(f, List.of(NamedTensor.f32(TENSOR, output.shape(), output.toFloatArray())), meta);
    }

    private Path file(String key) {
        if (key == null || !key.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("key: '" + key + "' is not accepted: use letters, digits, '.', '_', '-'"
                    + " (starting with a letter or digit)");
        }
        return dir.resolve(key + ".safetensors");
    }
}
