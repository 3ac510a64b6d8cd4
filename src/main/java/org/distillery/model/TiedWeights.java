package org.distillery.model;

import java.nio.file.Path;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.CheckpointFormatException;
import org.distillery.io.HfCheckpoint;
import org.distillery.io.NamedTensor;

/**
 * The check shared by the checkpoint loaders for a tied output layer stored anyway (GPT-2's
 * {@code lm_head.weight}, BERT's decoder weight and bias, DistilBERT's {@code vocab_projector.weight}):
 * the stored tensor must equal the one it is tied to bit for bit, since only tied heads are supported.
 */
final class TiedWeights {
    private TiedWeights() {}

    /**
     * @param dir       the checkpoint directory, for the message
     * @param stored    the tensor as stored in the file, or null when absent (then nothing to check)
     * @param tiedTo    our tensor it must equal
     * @param tiedName  the name of {@code tiedTo} in the message
     * @param supported the end of the message, e.g. "only a tied decoder is supported"
     */
    static void requireEqual(Path dir, NamedTensor stored, FloatTensor tiedTo, String tiedName, String supported) {
        if (stored == null) return;
        float[] d = stored.data();
        for (int i = 0; i < d.length; i++) {
            if (Float.floatToRawIntBits(d[i]) != Float.floatToRawIntBits(tiedTo.get(i))) {
                throw new CheckpointFormatException(dir.resolve(HfCheckpoint.WEIGHTS_FILE) + ": " + stored.name()
                        + " differs from " + tiedName + " at element " + i + " (" + d[i] + " vs " + tiedTo.get(i)
                        + "); " + supported);
            }
        }
    }
}
