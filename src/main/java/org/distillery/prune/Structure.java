package org.distillery.prune;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;

/**
 * The units of structured pruning of a {@link Gpt} and the parameters that belong to each: removing the unit
 * removes exactly these entries (hs = head size, A = the layer's attention width, c_attn [3A, E] holds the
 * Q, K and V rows of every head, c_proj [E, A] its columns).
 * <ul>
 *   <li>{@link #HEAD} k of layer l: rows {@code p A + k hs + i} (p = 0, 1, 2 for Q, K, V; i &lt; hs) of
 *   {@code h.l.attn.c_attn.weight} and the same entries of its bias; columns {@code k hs + i} of
 *   {@code h.l.attn.c_proj.weight};</li>
 *   <li>{@link #NEURON} j of layer l: row j of {@code h.l.mlp.c_fc.weight}, entry j of its bias, column j of
 *   {@code h.l.mlp.c_proj.weight};</li>
 *   <li>{@link #LAYER} l: every parameter {@code h.l.*} (the block becomes the identity on the residual stream).</li>
 * </ul>
 * The output projections' biases ({@code attn.c_proj.bias}, {@code mlp.c_proj.bias}) are shared by all heads or
 * neurons of a layer and stay.
 */
public enum Structure {
    HEAD, NEURON, LAYER;

    /** How many units layer {@code l} of {@code config} has (1 for {@link #LAYER}). */
    public int count(Gpt2Config config, int l) {
        return switch (this) {
            case HEAD -> config.headCount(l);
            case NEURON -> config.innerSize(l);
            case LAYER -> 1;
        };
    }

    /** A parameter tensor and flat indices into it. */
    record Part(String name, int[] indices) {}

    /** The parameters of unit {@code k} of layer {@code l} (see the enum comment). */
    List<Part> parts(Gpt model, int l, int k) {
        Gpt2Config c = model.config();
        String h = "h." + l + ".";
        List<Part> out = new ArrayList<>();
        switch (this) {
            case HEAD -> {
                int hs = c.headSize(), a = c.attentionWidth(l), e = c.nEmbd();
                int[] rows = new int[3 * hs];
                for (int p = 0; p < 3; p++) for (int i = 0; i < hs; i++) rows[p * hs + i] = p * a + k * hs + i;
                out.add(new Part(h + "attn.c_attn.weight", rowEntries(rows, e)));
                out.add(new Part(h + "attn.c_attn.bias", rows));
                int[] cols = new int[hs];
                for (int i = 0; i < hs; i++) cols[i] = k * hs + i;
                out.add(new Part(h + "attn.c_proj.weight", colEntries(cols, e, a)));
            }
            case NEURON -> {
                int e = c.nEmbd(), inner = c.innerSize(l);
                out.add(new Part(h + "mlp.c_fc.weight", rowEntries(new int[] {k}, e)));
                out.add(new Part(h + "mlp.c_fc.bias", new int[] {k}));
                out.add(new Part(h + "mlp.c_proj.weight", colEntries(new int[] {k}, e, inner)));
            }
            case LAYER -> {
                for (var en : model.parameters().entrySet()) {
                    if (en.getKey().startsWith(h)) {
                        int[] all = new int[en.getValue().size()];
                        for (int i = 0; i < all.length; i++) all[i] = i;
                        out.add(new Part(en.getKey(), all));
                    }
                }
            }
        }
        return out;
    }

    /** Visits every flat index of the entries of unit {@code k} of layer {@code l} in tensor {@code p}. */
    static void forEach(Part p, IntConsumer f) {
        for (int i : p.indices()) f.accept(i);
    }

    /** Flat indices of whole rows of a [rows, cols] tensor. */
    private static int[] rowEntries(int[] rows, int cols) {
        int[] out = new int[rows.length * cols];
        for (int r = 0; r < rows.length; r++) for (int j = 0; j < cols; j++) out[r * cols + j] = rows[r] * cols + j;
        return out;
    }

    /** Flat indices of whole columns of a [rows, cols] tensor. */
    private static int[] colEntries(int[] cols, int rows, int width) {
        int[] out = new int[rows * cols.length];
        for (int r = 0; r < rows; r++) for (int j = 0; j < cols.length; j++) out[r * cols.length + j] = r * width + cols[j];
        return out;
    }

    /** Sets every parameter of unit {@code k} of layer {@code l} to 0 (for tests and ablations; the shapes stay). */
    public void zero(Gpt model, int l, int k) {
        for (Part p : parts(model, l, k)) {
            FloatTensor t = model.parameters().get(p.name());
            forEach(p, i -> t.set(i, 0f));
        }
    }
}
