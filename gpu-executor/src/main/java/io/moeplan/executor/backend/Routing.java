package io.moeplan.executor.backend;

/**
 * The gate's decision: for token t and choice j, expert {@code experts[t * topK + j]} with weight
 * {@code weights[t * topK + j]}. Choices are ordered by descending probability; the weights of a
 * token are its softmax probabilities renormalised over the chosen experts, so they sum to 1.
 */
public record Routing(int tokens, int topK, int[] experts, float[] weights) {

  /** Validates array lengths. */
  public Routing {
    if (experts.length != (long) tokens * topK || weights.length != experts.length) {
      throw new IllegalArgumentException("routing arrays must hold tokens*topK entries");
    }
  }

  /** Number of (token, expert) assignments. */
  public int assignments() {
    return experts.length;
  }
}
