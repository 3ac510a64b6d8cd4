package org.distillery.distill;

import org.distillery.io.Gpt2Config;

/**
 * Smaller GPT-2 students derived from a teacher's configuration, DistilGPT2-style: half the layers at the
 * same width (DistilGPT2: 12 -&gt; 6 layers, width 768 kept), half the width at the same depth, or both. A
 * narrower student keeps the teacher's head size (half the width = half the heads) and MLP ratio, so that
 * {@link StudentInitializer} can initialise it by truncation; vocabulary and context are the teacher's.
 */
public enum StudentShape {
    /** Half the layers (at least 1), the teacher's width. */
    SHALLOW("shallow", true, false),
    /** The teacher's layers, half the width (half the heads). */
    NARROW("narrow", false, true),
    /** Half the layers and half the width. */
    SHALLOW_NARROW("shallow+narrow", true, true);

    private final String label;
    private final boolean halfLayers, halfWidth;

    StudentShape(String label, boolean halfLayers, boolean halfWidth) {
        this.label = label;
        this.halfLayers = halfLayers;
        this.halfWidth = halfWidth;
    }

    /** A short name for tables and charts: shallow, narrow, shallow+narrow. */
    public String label() { return label; }

    /** A name usable in file names: shallow, narrow, shallow-narrow. */
    public String id() { return label.replace('+', '-'); }

    /** The student's configuration for {@code teacher}. */
    public Gpt2Config config(Gpt2Config teacher) {
        if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
        int layers = halfLayers ? Math.max(1, teacher.nLayer() / 2) : teacher.nLayer();
        int width = halfWidth ? teacher.nEmbd() / 2 : teacher.nEmbd();
        return derive(teacher, layers, width);
    }

    /**
     * Which teacher layer initialises each student layer: {@link StudentInitializer#spread} (first and last
     * kept, the rest evenly spaced; the identity when the depth is the teacher's).
     */
    public int[] layerMap(Gpt2Config teacher) {
        return StudentInitializer.spread(teacher.nLayer(), config(teacher).nLayer());
    }

    /**
     * A student of {@code layers} layers and width {@code width} with the teacher's head size, MLP ratio,
     * vocabulary, context and the rest of its settings.
     *
     * @param layers in [1, teacher layers]
     * @param width  in [head size, teacher width], a multiple of the teacher's head size
     */
    public static Gpt2Config derive(Gpt2Config teacher, int layers, int width) {
        if (teacher == null) throw new IllegalArgumentException("teacher: must not be null");
        if (layers < 1 || layers > teacher.nLayer()) {
            throw new IllegalArgumentException("layers: must be in [1, teacher n_layer = " + teacher.nLayer() + "] but was "
                    + layers);
        }
        int head = teacher.headSize();
        if (width < head || width > teacher.nEmbd() || width % head != 0) {
            throw new IllegalArgumentException("width: must be a multiple of the teacher's head size " + head + " in ["
                    + head + ", " + teacher.nEmbd() + "] but was " + width);
        }
        Integer inner = teacher.nInner() == null ? null : (int) ((long) teacher.nInner() * width / teacher.nEmbd());
        return new Gpt2Config(teacher.vocabSize(), teacher.nPositions(), width, layers, width / head, inner,
                teacher.layerNormEpsilon(), teacher.activationFunction(), teacher.tieWordEmbeddings(), teacher.extra());
    }
}
