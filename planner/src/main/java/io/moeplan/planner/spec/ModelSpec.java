package io.moeplan.planner.spec;

/**
 * The MoE model a plan is made for. Field names match the Avro record {@code
 * io.moeplan.schemas.ModelSpec}.
 *
 * @param moeLayers MoE layers of the model
 * @param expertCount experts per MoE layer (the total, not per worker)
 * @param topK experts each token is routed to
 * @param hidden model (token embedding) width
 * @param ffnHidden inner width of an expert's two-matrix FFN
 * @param bytesPerElement bytes of one activation or parameter element (2 for bf16)
 * @param optimizerBytesPerParam optimizer state bytes per parameter (12 for mixed-precision Adam)
 * @param tokensPerRank tokens each rank routes per iteration and layer, top-k assignments counted
 */
public record ModelSpec(
    int moeLayers,
    int expertCount,
    int topK,
    int hidden,
    int ffnHidden,
    int bytesPerElement,
    int optimizerBytesPerParam,
    long tokensPerRank) {

  /** Validates every field; the message names the first bad one. */
  public ModelSpec {
    Checks.atLeast("moeLayers", moeLayers, 1);
    Checks.atMost("moeLayers", moeLayers, Limits.MAX_LAYERS);
    Checks.atLeast("expertCount", expertCount, 1);
    Checks.atMost("expertCount", expertCount, Limits.MAX_EXPERTS);
    Checks.atLeast("topK", topK, 1);
    Checks.atMost("topK", topK, expertCount);
    Checks.atLeast("hidden", hidden, 1);
    Checks.atLeast("ffnHidden", ffnHidden, 1);
    Checks.atLeast("bytesPerElement", bytesPerElement, 1);
    Checks.atMost("bytesPerElement", bytesPerElement, 64);
    Checks.atLeast("optimizerBytesPerParam", optimizerBytesPerParam, 0);
    Checks.atMost("optimizerBytesPerParam", optimizerBytesPerParam, 1024);
    Checks.atLeast("tokensPerRank", tokensPerRank, 1);
  }

  /**
   * GPT-MoE of the SmartMoE artifact trace: 24 MoE layers, 32 experts, top-2, hidden 2560, FFN
   * 10240, bf16, mixed-precision Adam (12 optimizer bytes per parameter: fp32 master weight and two
   * moments), 16384 routed tokens per rank (4 micro-batches x 2048 tokens x top-2).
   */
  public static ModelSpec gptMoe() {
    return new ModelSpec(24, 32, 2, 2560, 10240, 2, 12, 16384);
  }

  /** Parameters of one expert (two matrices hidden x ffnHidden) on one of {@code tp} shards. */
  public long expertParams(int tp) {
    return 2L * hidden * ffnHidden / tp;
  }

  /**
   * Forward + backward FLOPs of one token through one expert shard: 12 * hidden * ffnHidden / tp.
   */
  public double flopsPerToken(int tp) {
    return 12.0 * hidden * ffnHidden / tp;
  }

  /** Bytes one token's activation occupies on the wire: hidden * bytesPerElement. */
  public long bytesPerToken() {
    return (long) hidden * bytesPerElement;
  }

  /** The same model with another expert count. */
  public ModelSpec withExpertCount(int newExpertCount) {
    return new ModelSpec(
        moeLayers,
        newExpertCount,
        topK,
        hidden,
        ffnHidden,
        bytesPerElement,
        optimizerBytesPerParam,
        tokensPerRank);
  }

  /** The same model with another number of MoE layers. */
  public ModelSpec withMoeLayers(int newMoeLayers) {
    return new ModelSpec(
        newMoeLayers,
        expertCount,
        topK,
        hidden,
        ffnHidden,
        bytesPerElement,
        optimizerBytesPerParam,
        tokensPerRank);
  }
}
