package org.distillery.engine.kernels;

/**
 * Token plus learned position embedding (GPT-2 {@code wte} and {@code wpe}): for sequence b and
 * position t, with row i = b*T + t,
 * <pre>
 *   out[i, :] = wte[ids[i], :] + wpe[t, :]
 *   dwte[ids[i], :] += dout[i, :]   (scatter-add: a token id that occurs k times receives k rows)
 *   dwpe[t, :]      += dout[i, :]
 * </pre>
 * and, for a third table added to the sum (BERT's token types), {@link #forwardAdd} / {@link #backwardAdd}:
 * {@code out[i, :] += table[ids[i], :]}, {@code dtable[ids[i], :] += dout[i, :]}.
 */
public final class EmbeddingKernel {
    private EmbeddingKernel() {}

    /**
     * Forward.
     *
     * @param ids token ids, [B*T], each in [0, V)
     * @param t   sequence length T (ids.length must be a multiple of it, and T <= maxT)
     * @param wte token embedding table, [V, C]
     * @param wpe position embedding table, [maxT, C]
     * @param out embeddings, [B*T, C]
     */
    public static void forward(int[] ids, int t, FloatTensor wte, FloatTensor wpe, FloatTensor out) {
        int c = wte.cols();
        check(ids, t, wte, wpe, "out", out);
        FloatTensor E = wte, P = wpe, O = out;
        for (int i = 0; i < ids.length; i++) {
            VectorOps.add(E, ids[i] * c, P, (i % t) * c, O, i * c, c);
        }
    }

    /**
     * Backward: scatter-add of the output gradient into both tables (accumulated).
     *
     * @param dout upstream gradient, [B*T, C]
     * @param ids  token ids, [B*T]
     * @param t    sequence length T
     * @param dwte token table gradient, [V, C], accumulated
     * @param dwpe position table gradient, [maxT, C], accumulated
     */
    public static void backward(FloatTensor dout, int[] ids, int t, FloatTensor dwte, FloatTensor dwpe) {
        int c = dwte.cols();
        check(ids, t, dwte, dwpe, "dout", dout);
        FloatTensor D = dout, GE = dwte, GP = dwpe;
        for (int i = 0; i < ids.length; i++) {
            VectorOps.add(GE, ids[i] * c, D, i * c, GE, ids[i] * c, c);
            VectorOps.add(GP, (i % t) * c, D, i * c, GP, (i % t) * c, c);
        }
    }

    /**
     * Adds one more looked-up row to existing embeddings (BERT's token-type embedding):
     * out[i, :] += table[ids[i], :].
     *
     * @param ids   row indices, [N], each in [0, table rows)
     * @param table embedding table, [R, C]
     * @param out   embeddings, [N, C], updated in place
     */
    public static void forwardAdd(int[] ids, FloatTensor table, FloatTensor out) {
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        int c = table.cols();
        Check.rowsCols("out", out, ids.length, c);
        Check.tokenIds("ids", ids, table.rows(), false, 0);
        FloatTensor E = table, O = out;
        for (int i = 0; i < ids.length; i++) VectorOps.add(O, i * c, E, ids[i] * c, O, i * c, c);
    }

    /**
     * Backward of {@link #forwardAdd}: dtable[ids[i], :] += dout[i, :] (scatter-add, accumulated).
     *
     * @param dout   upstream gradient, [N, C]
     * @param ids    row indices, [N]
     * @param dtable table gradient, [R, C], accumulated
     */
    public static void backwardAdd(FloatTensor dout, int[] ids, FloatTensor dtable) {
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        int c = dtable.cols();
        Check.rowsCols("dout", dout, ids.length, c);
        Check.tokenIds("ids", ids, dtable.rows(), false, 0);
        FloatTensor D = dout, G = dtable;
        for (int i = 0; i < ids.length; i++) VectorOps.add(G, ids[i] * c, D, i * c, G, ids[i] * c, c);
    }

    /** Double-precision twin of {@link #forwardAdd}: table [r*c], out [ids.length*c] updated. */
    public static void forwardAddReference(int[] ids, double[] table, int c, double[] out) {
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < c; j++) out[i * c + j] += table[ids[i] * c + j];
        }
    }

    /** Double-precision twin of {@link #backwardAdd} (accumulating). */
    public static void backwardAddReference(double[] dout, int[] ids, int c, double[] dtable) {
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < c; j++) dtable[ids[i] * c + j] += dout[i * c + j];
        }
    }

    /** Double-precision twin of {@link #forward}: wte [v*c], wpe [maxT*c] -> out [ids.length*c]. */
    public static void forwardReference(int[] ids, int t, double[] wte, double[] wpe, int c, double[] out) {
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < c; j++) out[i * c + j] = wte[ids[i] * c + j] + wpe[(i % t) * c + j];
        }
    }

    /** Double-precision twin of {@link #backward} (accumulating). */
    public static void backwardReference(double[] dout, int[] ids, int t, int c, double[] dwte, double[] dwpe) {
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < c; j++) {
                dwte[ids[i] * c + j] += dout[i * c + j];
                dwpe[(i % t) * c + j] += dout[i * c + j];
            }
        }
    }

    private static void check(int[] ids, int t, FloatTensor wte, FloatTensor wpe, String outName, FloatTensor out) {
        if (ids == null) throw new IllegalArgumentException("ids: must not be null");
        Check.positive("t", t);
        int c = wte.cols();
        if (wpe.cols() != c) {
            throw new IllegalArgumentException("wpe: shape " + wpe.shapeString() + " has " + wpe.cols()
                    + " columns but wte shape " + wte.shapeString() + " has " + c);
        }
        if (t > wpe.rows()) {
            throw new IllegalArgumentException("t: sequence length " + t + " exceeds the " + wpe.rows()
                    + " positions of wpe " + wpe.shapeString());
        }
        if (ids.length % t != 0) {
            throw new IllegalArgumentException("ids: length " + ids.length + " is not a multiple of t = " + t);
        }
        Check.rowsCols(outName, out, ids.length, c);
        Check.tokenIds("ids", ids, wte.rows(), false, 0);
    }
}
