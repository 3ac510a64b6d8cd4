package org.distillery.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor a Hugging Face checkpoint of a given configuration is expected to hold.
 *
 * @param name    the full tensor name in the file, e.g. {@code h.0.attn.c_attn.weight}
 * @param shape   the expected shape in the file's layout (GPT-2 Conv1D weights are {@code [in, out]},
 *                nn.Linear weights {@code [out, in]}); each {@code >= 1}
 * @param need    whether the file must hold it
 * @param because the config fields the shape follows from, for messages, e.g. {@code n_embd=64}
 */
public record TensorSpec(String name, long[] shape, Need need, String because) {

    /** Whether a checkpoint must hold a tensor. */
    public enum Need {
        /** Always present. */
        REQUIRED,
        /** Present only in a checkpoint with the language-modelling head: then all HEAD tensors are. */
        HEAD,
        /** May be absent (tied to the embedding, or a pooler); checked only when present. */
        OPTIONAL
    }

    /** Validates the spec; see the parameter descriptions. */
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(need, "need");
        Objects.requireNonNull(because, "because");
        shape = shape.clone();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new IllegalArgumentException("tensor " + name + ": shape[" + i + "] = " + shape[i]
                        + " is not positive (accepted: >= 1)");
            }
        }
    }

    static TensorSpec of(String name, Need need, String because, long... shape) {
        return new TensorSpec(name, shape, need, because);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && name.equals(t.name) && Arrays.equals(shape, t.shape) && need == t.need
                && because.equals(t.because);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), need, because);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(shape) + " " + need;
    }
}
