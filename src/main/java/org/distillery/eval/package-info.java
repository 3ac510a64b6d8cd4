/**
 * Evaluation of language models: {@link org.distillery.eval.Perplexity} (non-overlapping and
 * sliding-window protocols).
 */
package org.distillery.eval;
