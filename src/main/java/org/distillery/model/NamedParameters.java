package org.distillery.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;

/**
 * A model's parameters and their gradients, by name (Hugging Face names), in creation order: every
 * parameter has a gradient tensor of the same shape.
 */
public final class NamedParameters {
    private final LinkedHashMap<String, FloatTensor> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, FloatTensor> grads = new LinkedHashMap<>();
    private final Map<String, FloatTensor> paramsView = Collections.unmodifiableMap(params);
    private final Map<String, FloatTensor> gradsView = Collections.unmodifiableMap(grads);

    /** Creates a zero parameter and its zero gradient; returns the parameter. */
    public FloatTensor add(String name, int... shape) {
        if (params.containsKey(name)) {
            throw new IllegalArgumentException("parameter " + name + " is defined twice");
        }
        FloatTensor p = FloatTensor.zeros(shape);
        params.put(name, p);
        grads.put(name, FloatTensor.zeros(shape));
        return p;
    }

    /** The gradient of parameter {@code name}. */
    public FloatTensor grad(String name) {
        FloatTensor g = grads.get(name);
        if (g == null) {
            throw new IllegalArgumentException("no parameter named " + name);
        }
        return g;
    }

    /** name -> parameter, read-only, in creation order. */
    public Map<String, FloatTensor> parameters() { return paramsView; }

    /** name -> gradient, read-only, same names and shapes as {@link #parameters()}. */
    public Map<String, FloatTensor> gradients() { return gradsView; }

    /** Total number of parameter elements. */
    public long count() {
        return count(params);
    }

    /** Total number of elements of the tensors of {@code tensors}. */
    public static long count(Map<String, FloatTensor> tensors) {
        long n = 0;
        for (FloatTensor p : tensors.values()) n += p.size();
        return n;
    }

    /** Sets every gradient to zero (a Java loop: ND4J's assign costs milliseconds a call under load). */
    public void zeroGrad() {
        for (FloatTensor g : grads.values()) g.fill(0f);
    }
}
