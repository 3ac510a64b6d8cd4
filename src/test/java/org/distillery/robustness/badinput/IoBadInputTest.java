package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.cfe;
import static org.distillery.robustness.badinput.BadInput.iae;
import static org.distillery.robustness.badinput.BadInput.io;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Dtype;
import org.distillery.io.Gpt2Config;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.HfConfig;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.prune.SparseSafetensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model-file readers and writers: {@link Safetensors}, {@link HfConfig}/{@link HfCheckpoint}, {@link SparseSafetensors}.
 * Missing files, folders where files belong, lying lengths, shapes that disagree with config.json, values that cannot
 * be stored; a refused write leaves no file (not even a temporary one) behind.
 */
class IoBadInputTest {
    @TempDir
    Path tmp;

    /** The write cases write into {@code out/}: after each, only what a case put there on purpose may be there. */
    private Path out;

    @AfterEach
    void nothingHalfWritten() {
        if (out != null) assertEquals(List.of("existing-folder"), BadInput.entries(out), "left in " + out);
    }

    private Path bytes(String name, byte[] b) throws Exception {
        return Files.write(tmp.resolve(name), b);
    }

    private static byte[] header(long length, String json) {
        byte[] j = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + j.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length).put(j);
        return b.array();
    }

    private Path modelDir(String name, String configJson) throws Exception {
        Path d = BadInput.tinyGpt(tmp.resolve(name));
        if (configJson != null) Files.writeString(d.resolve("config.json"), configJson);
        return d;
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        out = Files.createDirectories(tmp.resolve("out"));
        Files.createDirectories(out.resolve("existing-folder").resolve("inside"));
        Path empty = bytes("empty", new byte[0]);
        Path lying = bytes("lying", header(1L << 40, "{}"));
        String a = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        Path beyond = bytes("beyond", header(a.length(), a));
        Path notJson = bytes("not-json", header(4, "{a:1"));
        Path wrongVocab = modelDir("wrong-vocab", Gpt2Config.of(300, 16, 32, 2, 2).toJson().toString());
        Path badHeads = modelDir("bad-heads", "{\"model_type\": \"gpt2\", \"vocab_size\": 256, \"n_positions\": 16,"
                + " \"n_embd\": 32, \"n_layer\": 2, \"n_head\": 3}");
        Path llama = modelDir("llama", "{\"model_type\": \"llama\"}");
        Path noConfig = Files.createDirectories(tmp.resolve("no-config"));
        Map<String, FloatTensor> p = new LinkedHashMap<>();
        p.put("w", FloatTensor.of(new double[] {0, 1, 0, 2}, 2, 2));
        p.put("v", FloatTensor.of(new double[] {1, 2}, 2));
        Path sparse = SparseSafetensors.save(tmp.resolve("sparse.safetensors"), p, List.of("w"));
        Path fewerValues = Safetensors.write(tmp.resolve("fewer-values"), List.of(
                new NamedTensor("w.mask", Dtype.U8, new int[] {2, 1}, new float[] {2, 3}),
                NamedTensor.f32("w.values", new int[] {2}, new float[] {1, 2})),
                Map.of(SparseSafetensors.VERSION_KEY, "1", "w.shape", "2,2"));
        Path badShape = Safetensors.write(tmp.resolve("bad-shape"), List.of(NamedTensor.f32("v", new int[] {1}, new float[1])),
                Map.of(SparseSafetensors.VERSION_KEY, "1", "w.shape", "2x2"));
        return BadInput.tests(List.of(
                io("no such file", "cannot read " + tmp.resolve("none") + ": no such file", () -> Safetensors.readAll(tmp.resolve("none"))),
                io("a folder", "cannot read " + tmp + ": Is a directory", () -> Safetensors.readAll(tmp)),
                cfe("an empty file", empty + ": file is 0 bytes, too short for the 8-byte header length", () -> Safetensors.readAll(empty)),
                cfe("a header length of 1 TiB", lying + ": header length 1099511627776 exceeds the limit of 100000000 bytes",
                        () -> Safetensors.readAll(lying)),
                cfe("offsets beyond the file", beyond + ": tensor \"a\": data_offsets [0, 16] reach beyond the data buffer of 0"
                        + " bytes", () -> Safetensors.readAll(beyond)),
                cfe("a header that is not JSON", notJson + ": header is not valid JSON: Unexpected character ('a' (code 97)): was"
                        + " expecting double-quote to start field name (at character 1)", () -> Safetensors.header(notJson)),
                iae("two tensors of one name", "tensors: duplicate name a", () -> Safetensors.write(out.resolve("dup"),
                        List.of(NamedTensor.f32("a", new int[] {1}, new float[1]), NamedTensor.f32("a", new int[] {1}, new float[1])))),
                iae("a fraction as I8", "tensor q: element 1 = 0.5 cannot be stored as I8 (accepted: integers -128 to 127)",
                        () -> Safetensors.write(out.resolve("i8"), List.of(new NamedTensor("q", Dtype.I8, new int[] {2},
                                new float[] {1, 0.5f})))),
                iae("300 as U8", "tensor m: element 0 = 300.0 cannot be stored as U8 (accepted: integers 0 to 255)",
                        () -> Safetensors.write(out.resolve("u8"), List.of(new NamedTensor("m", Dtype.U8, new int[] {1}, new float[] {300})))),
                iae("a dtype that cannot be written", "tensor x: dtype I32 cannot be written (accepted: F32, F16, BF16, I8, U8)",
                        () -> Safetensors.write(out.resolve("i32"), List.of(new NamedTensor("x", Dtype.I32, new int[] {1}, new float[1])))),
                iae("the reserved name", "tensor name __metadata__ is reserved for metadata", () -> Safetensors.write(out.resolve("meta"),
                        List.of(NamedTensor.f32("__metadata__", new int[] {1}, new float[1])))),
                io("over a folder that is not empty", "cannot write " + out.resolve("existing-folder") + ": Is a directory", () -> Safetensors.write(out.resolve("existing-folder"),
                        List.of(NamedTensor.f32("a", new int[] {1}, new float[1])))),
                io("no config.json", "cannot read " + noConfig.resolve("config.json") + ": no such file", () -> HfCheckpoint.load(noConfig)),
                cfe("weights of another vocabulary", wrongVocab.resolve("model.safetensors") + ": tensor wte.weight has shape [256, 32]"
                        + " but config.json (vocab_size=300, n_embd=32) expects [300, 32]", () -> HfCheckpoint.load(wrongVocab)),
                cfe("n_embd not divisible by n_head", badHeads.resolve("config.json") + ": field \"n_embd\" = 32 is not divisible by"
                        + " \"n_head\" = 3", () -> HfCheckpoint.load(badHeads)),
                cfe("an unknown model_type", llama.resolve("config.json") + ": field \"model_type\" = \"llama\" is not supported"
                        + " (accepted: gpt2, bert, distilbert)", () -> HfCheckpoint.load(llama)),
                cfe("a sparse file with more set bits than values", fewerValues + ": tensor \"w.mask\" has more set bits than the 2"
                        + " values of \"w.values\"", () -> SparseSafetensors.load(fewerValues)),
                cfe("a sparse shape that is not rows,cols", badShape + ": metadata \"w.shape\" = \"2x2\" is not \"rows,cols\"",
                        () -> SparseSafetensors.load(badShape)),
                cfe("a dense file read as sparse", tmp.resolve("wrong-vocab/model.safetensors") + ": metadata \"distillery.sparse\""
                        + " is missing (accepted: \"1\"): not a sparse-weights file of this layout",
                        () -> SparseSafetensors.load(wrongVocab.resolve("model.safetensors"))),
                iae("a sparse vector", "sparse: v has shape [2], not [rows, cols]",
                        () -> SparseSafetensors.save(out.resolve("s"), p, List.of("v"))),
                iae("an unknown sparse name", "sparse: no parameter named u",
                        () -> SparseSafetensors.save(out.resolve("s"), p, List.of("u"))),
                cfe("a sparse file loaded into a model of another shape", sparse + ": tensor \"w\" has shape [2, 2] but the model needs"
                        + " [2, 3]", () -> SparseSafetensors.loadInto(sparse, Map.of("w", FloatTensor.zeros(2, 3))))));
    }
}
