package io.moeplan.executor.workload;

/**
 * The dimensions a workload produces: the ranks this process hosts ({@code firstRank} to {@code
 * firstRank + ranks - 1} of {@code worldSize}), layers, tokens per rank per layer, model width,
 * experts and experts per token.
 */
public record WorkloadShape(
    int firstRank,
    int ranks,
    int worldSize,
    int layers,
    int tokensPerRank,
    int hidden,
    int experts,
    int topK) {

  /** Validates the dimensions. */
  public WorkloadShape {
    if (ranks < 1 || firstRank < 0 || firstRank + ranks > worldSize) {
      throw new IllegalArgumentException(
          "ranks "
              + firstRank
              + ".."
              + (firstRank + ranks - 1)
              + " do not fit a world of "
              + worldSize);
    }
    if (layers < 1 || tokensPerRank < 1 || hidden < 1 || experts < 1) {
      throw new IllegalArgumentException("layers, tokens, hidden and experts must be >= 1");
    }
    if (topK < 1 || topK > experts) {
      throw new IllegalArgumentException("topK must be in [1, experts], got " + topK);
    }
  }
}
