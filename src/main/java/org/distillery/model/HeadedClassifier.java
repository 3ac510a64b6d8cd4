package org.distillery.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;

/**
 * What {@link BertClassifier} and {@link GptClassifier} share: a body model (the encoder or the GPT) with a
 * classification head of C classes. The parameters are the body's (those the subclass keeps) followed by the
 * head's; {@link #save} writes the body's own directory plus {@value #NAME}, the head's tensors under their
 * Hugging Face names with C in the safetensors metadata ({@code num_labels}), which {@link #readHead} reads back.
 */
abstract class HeadedClassifier implements SequenceClassifier {
    /** The file holding the head beside the body's model.safetensors. */
    static final String NAME = "classifier.safetensors";

    /** The body: its forward and backward are the subclass's business; its parameters are trained too. */
    private final TrainableModel body;
    /** The head's tensors and gradients (the subclass adds them). */
    final NamedParameters head = new NamedParameters();
    final int classes;
    private final Map<String, FloatTensor> params = new LinkedHashMap<>(), grads = new LinkedHashMap<>();

    /**
     * @param what    the body's argument name, for the message ({@code bert}, {@code gpt})
     * @param classes C &gt;= 2
     */
    HeadedClassifier(TrainableModel body, String what, int classes) {
        if (body == null) throw new IllegalArgumentException(what + ": must not be null");
        if (classes < 2) throw new IllegalArgumentException("classes: must be >= 2 but was " + classes);
        this.body = body;
        this.classes = classes;
    }

    /** Collects the trained tensors: the body's whose name {@code keep} accepts, then the head's. Call once, last. */
    final void collect(Predicate<String> keep) {
        for (Map.Entry<String, FloatTensor> e : body.parameters().entrySet()) {
            if (!keep.test(e.getKey())) continue;
            params.put(e.getKey(), e.getValue());
            grads.put(e.getKey(), body.gradients().get(e.getKey()));
        }
        params.putAll(head.parameters());
        grads.putAll(head.gradients());
    }

    @Override
    public final int classes() { return classes; }

    @Override
    public final Map<String, FloatTensor> parameters() { return Collections.unmodifiableMap(params); }

    @Override
    public final Map<String, FloatTensor> gradients() { return Collections.unmodifiableMap(grads); }

    @Override
    public final void zeroGrad() {
        body.zeroGrad();
        head.zeroGrad();
    }

    @Override
    public final long parameterCount() {
        return NamedParameters.count(params);
    }

    /** The body's directory plus {@value #NAME}. */
    @Override
    public final void save(Path dir) {
        body.save(dir);
        write(dir, head, classes);
    }

    /** Copies the head tensors stored in {@code dir} into this classifier's head. */
    final void readHead(Path dir) {
        readInto(dir, head);
    }

    /** Writes the head's parameters and C into {@code dir/}{@value #NAME}. */
    private static void write(Path dir, NamedParameters head, int classes) {
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
    static int storedClasses(Path dir, String plain) {
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
    private static void readInto(Path dir, NamedParameters head) {
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
