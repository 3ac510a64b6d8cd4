package org.distillery.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;

/**
 * The file a sequence classifier keeps its head in, beside its body's model directory:
 * {@value #NAME}, the head's tensors under their Hugging Face names, with the number of classes in the
 * safetensors metadata ({@code num_labels}). Shared by {@link BertClassifier} and {@link GptClassifier}.
 */
final class ClassifierHeadFile {
    /** The file name. */
    static final String NAME = "classifier.safetensors";

    private ClassifierHeadFile() {}

    /** Writes the head's parameters and C into {@code dir/}{@value #NAME}. */
    static void write(Path dir, NamedParameters head, int classes) {
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : head.parameters().entrySet()) {
            out.add(NamedTensor.f32(e.getKey(), e.getValue().shape(), e.getValue().toFloatArray()));
        }
        Safetensors.write(dir.resolve(NAME), out, Map.of("num_labels", Integer.toString(classes)));
    }

    /**
     * C from the head file of {@code dir}.
     *
     * @param plain what loads the directory when it has no head, for the message (e.g. {@code Bert.load})
     */
    static int classes(Path dir, String plain) {
        Path f = dir.resolve(NAME);
        if (!Files.isRegularFile(f)) {
            throw new CheckpointFormatException(dir + ": no " + NAME + " (the classification head); a plain model"
                    + " directory loads with " + plain);
        }
        String labels = Safetensors.header(f).metadata().get("num_labels");
        try {
            return Integer.parseInt(labels);
        } catch (NumberFormatException e) {
            throw new CheckpointFormatException(f + ": metadata num_labels is '" + labels + "', not a number");
        }
    }

    /** Copies the tensors of {@code dir/}{@value #NAME} into the head's parameters (names and shapes must match). */
    static void readInto(Path dir, NamedParameters head) {
        Path f = dir.resolve(NAME);
        Map<String, NamedTensor> in = Safetensors.readAll(f);
        for (Map.Entry<String, FloatTensor> e : head.parameters().entrySet()) {
            NamedTensor t = in.get(e.getKey());
            if (t == null || !Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new CheckpointFormatException(f + ": tensor " + e.getKey() + " is missing or not "
                        + e.getValue().shapeString());
            }
            e.getValue().copyFrom(t.data());
        }
    }
}
