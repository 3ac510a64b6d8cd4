package org.distillery.distill;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.NamedTensor;
import org.distillery.io.Safetensors;
import org.distillery.model.NamedParameters;
import org.distillery.model.TrainableModel;

/**
 * What a distillation run optimises: the student's parameters plus the learned projections of its
 * hidden-state losses (named {@code distill.cos.projection.weight} and so on; none when the widths
 * match). {@link #save} writes the student's own directory (loadable by the student's class as usual)
 * and, when there are projections, {@value #PROJECTIONS_FILE} beside it, which {@link #loadProjections}
 * reads back on resume.
 */
public final class DistillationStudent implements TrainableModel {
    /** The file holding the projections inside a saved model directory. */
    public static final String PROJECTIONS_FILE = "distill_projections.safetensors";

    private final TrainableModel student;
    private final List<HiddenStateLoss> losses = new ArrayList<>();
    private final Map<String, FloatTensor> params = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
    private final Map<String, FloatTensor> projParams = new LinkedHashMap<>();

    DistillationStudent(TrainableModel student, HiddenStateLoss cos, HiddenStateLoss mse) {
        this.student = student;
        params.putAll(student.parameters());
        grads.putAll(student.gradients());
        add("distill.cos.", cos);
        add("distill.mse.", mse);
    }

    private void add(String prefix, HiddenStateLoss loss) {
        if (loss == null) return;
        losses.add(loss);
        for (Map.Entry<String, FloatTensor> e : loss.parameters().entrySet()) {
            String name = prefix + e.getKey();
            if (params.containsKey(name)) throw new IllegalStateException("student already has a parameter " + name);
            params.put(name, e.getValue());
            grads.put(name, loss.gradients().get(e.getKey()));
            projParams.put(name, e.getValue());
        }
    }

    /** The student model itself. */
    public TrainableModel student() { return student; }

    @Override
    public Map<String, FloatTensor> parameters() { return Collections.unmodifiableMap(params); }

    @Override
    public Map<String, FloatTensor> gradients() { return Collections.unmodifiableMap(grads); }

    @Override
    public void zeroGrad() {
        student.zeroGrad();
        for (HiddenStateLoss l : losses) l.zeroGrad();
    }

    @Override
    public void save(Path dir) {
        student.save(dir);
        if (projParams.isEmpty()) return;
        List<NamedTensor> out = new ArrayList<>();
        for (Map.Entry<String, FloatTensor> e : projParams.entrySet()) {
            out.add(NamedTensor.f32(e.getKey(), e.getValue().shape(), e.getValue().toFloatArray()));
        }
        Safetensors.write(dir.resolve(PROJECTIONS_FILE), out);
    }

    /** Reads the projections written by {@link #save} from {@code dir} (nothing to do without projections). */
    void loadProjections(Path dir) {
        if (projParams.isEmpty()) return;
        Path f = dir.resolve(PROJECTIONS_FILE);
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException("dir: " + dir + " has no " + PROJECTIONS_FILE + " but the run learns"
                    + " projections " + projParams.keySet());
        }
        Map<String, NamedTensor> in = Safetensors.readAll(f);
        for (Map.Entry<String, FloatTensor> e : projParams.entrySet()) {
            NamedTensor t = in.get(e.getKey());
            if (t == null || t.numel() != e.getValue().size()) {
                throw new IllegalArgumentException(f + ": tensor " + e.getKey() + " is missing or has the wrong size");
            }
            e.getValue().copyFrom(t.data());
        }
    }

    @Override
    public long parameterCount() {
        return NamedParameters.count(params);
    }
}
