package io.moeplan.executor.backend;

/**
 * Dimensions of one MoE layer: model width, expert FFN width, number of experts and experts per
 * token.
 */
public record LayerShape(int hidden, int ffn, int experts, int topK) {

  /** Validates the dimensions. */
  public LayerShape {
    if (hidden <= 0 || ffn <= 0) {
      throw new IllegalArgumentException("hidden and ffn must be positive: " + hidden + ", " + ffn);
    }
    if (experts <= 0) {
      throw new IllegalArgumentException("experts must be positive: " + experts);
    }
    if (topK <= 0 || topK > experts) {
      throw new IllegalArgumentException("topK must be in [1, experts]: " + topK);
    }
  }

  /** Parameters of one expert: W1 (hidden x ffn) followed by W2 (ffn x hidden). */
  public long paramsPerExpert() {
    return 2L * hidden * ffn;
  }

  /** Elements of W1, which is also the offset of W2 inside an expert's parameter vector. */
  public int w1Size() {
    return Math.multiplyExact(hidden, ffn);
  }

  /** Elements of the gate weights (hidden x experts). */
  public int gateSize() {
    return Math.multiplyExact(hidden, experts);
  }

  /** Refuses gate weights that are not {@link #gateSize()} values. */
  public void checkGate(float[] gate) {
    if (gate.length != gateSize()) {
      throw new IllegalArgumentException("gate must hold hidden*experts values");
    }
  }

  /** Floating-point operations of the expert FFN (two GEMMs) for the given number of rows. */
  public double ffnFlops(long rows) {
    return 4.0 * rows * hidden * ffn;
  }
}
