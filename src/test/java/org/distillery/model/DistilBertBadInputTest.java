package org.distillery.model;

import org.distillery.io.CheckpointFormatException;
import org.distillery.io.DistilBertConfig;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Broken DistilBERT directories fail in {@link DistilBert#load} with messages naming the tensor or field. */
class DistilBertBadInputTest {

    private static Path fixture() throws Exception {
        return DistilBertTorchParityTest.fixtureDir();
    }

    /** Copies the fixture's config.json and writes {@code tensors} as its model.safetensors, unchecked. */
    private static Path directory(Path dir, List<NamedTensor> tensors) throws Exception {
        Files.createDirectories(dir);
        Files.copy(fixture().resolve(HfCheckpoint.CONFIG_FILE), dir.resolve(HfCheckpoint.CONFIG_FILE));
        Safetensors.write(dir.resolve(HfCheckpoint.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        return dir;
    }

    private static List<NamedTensor> fixtureTensors() throws Exception {
        return new ArrayList<>(Safetensors.readAll(fixture().resolve(HfCheckpoint.WEIGHTS_FILE)).values());
    }

    @Test
    void missingTensorIsNamed(@TempDir Path tmp) throws Exception {
        List<NamedTensor> t = fixtureTensors();
        assertTrue(t.removeIf(x -> x.name().equals("distilbert.transformer.layer.1.ffn.lin1.bias")));
        Path dir = directory(tmp, t);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(dir, 1, 4));
        assertTrue(e.getMessage().contains("missing tensor distilbert.transformer.layer.1.ffn.lin1.bias"), e.getMessage());
    }

    @Test
    void wrongShapeNamesTheTensorAndBothShapes(@TempDir Path tmp) throws Exception {
        List<NamedTensor> t = fixtureTensors();
        String name = "distilbert.transformer.layer.0.attention.v_lin.weight";
        assertTrue(t.removeIf(x -> x.name().equals(name)));
        t.add(NamedTensor.f32(name, new int[] {16, 8}, new float[128]));
        Path dir = directory(tmp, t);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(dir, 1, 4));
        assertTrue(e.getMessage().contains("tensor " + name + " has shape [16, 8]")
                && e.getMessage().contains("expects [16, 16]") && e.getMessage().contains("dim=16"), e.getMessage());
    }

    @Test
    void bertConfigIsRefusedWithAClearMessage() throws Exception {
        Path bert = Path.of(getClass().getResource("/fixtures/bert-tiny/config.json").toURI()).getParent();
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(bert, 1, 4));
        assertTrue(e.getMessage().contains("model_type is bert") && e.getMessage().contains("need distilbert")
                && e.getMessage().contains("Bert.load"), e.getMessage());
        // and the other way round
        CheckpointFormatException f = assertThrows(CheckpointFormatException.class, () -> Bert.load(fixture(), 1, 4));
        assertTrue(f.getMessage().contains("model_type is distilbert"), f.getMessage());
    }

    @Test
    void dimNotDivisibleByHeads(@TempDir Path tmp) throws Exception {
        Path dir = directory(tmp, fixtureTensors());
        String json = Files.readString(dir.resolve(HfCheckpoint.CONFIG_FILE)).replace("\"n_heads\": 4", "\"n_heads\": 3");
        assertTrue(json.contains("\"n_heads\": 3"));
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG_FILE), json);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(dir, 1, 4));
        assertTrue(e.getMessage().contains("dim") && e.getMessage().contains("16") && e.getMessage().contains("n_heads")
                && e.getMessage().contains("3") && e.getMessage().contains("config.json"), e.getMessage());
        IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
                () -> new DistilBertConfig(32, 18, 2, 4, 32, "gelu", 16, false, Map.of()));
        assertTrue(f.getMessage().contains("dim") && f.getMessage().contains("18") && f.getMessage().contains("n_heads"),
                f.getMessage());
    }

    @Test
    void unsupportedActivationAndSequenceLength(@TempDir Path tmp) throws Exception {
        Path dir = directory(tmp, fixtureTensors());
        String json = Files.readString(dir.resolve(HfCheckpoint.CONFIG_FILE)).replace("\"activation\": \"gelu\"",
                "\"activation\": \"relu\"");
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG_FILE), json);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> DistilBert.load(dir, 1, 4));
        assertTrue(e.getMessage().contains("activation = relu") && e.getMessage().contains("need gelu"), e.getMessage());

        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> DistilBert.load(fixture(), 1, 17));
        assertTrue(t.getMessage().contains("max_position_embeddings = 16"), t.getMessage());
    }
}
