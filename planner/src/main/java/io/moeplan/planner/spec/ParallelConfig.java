package io.moeplan.planner.spec;

/**
 * Parallel degrees fixed for a pool. Field names match the Avro record {@code
 * io.moeplan.schemas.ParallelConfig}.
 *
 * @param tp tensor-parallel degree (each expert is split over tp GPUs)
 * @param pp pipeline-parallel degree
 * @param dp data-parallel degree
 * @param ep expert-parallel group size (the workers one layer's experts are placed over)
 * @param slotsPerWorker expert slots on each worker
 */
public record ParallelConfig(int tp, int pp, int dp, int ep, int slotsPerWorker) {

  /** Validates every field; the message names the first bad one. */
  public ParallelConfig {
    Checks.atLeast("tp", tp, 1);
    Checks.atLeast("pp", pp, 1);
    Checks.atLeast("dp", dp, 1);
    Checks.atLeast("ep", ep, 1);
    Checks.atLeast("slotsPerWorker", slotsPerWorker, 1);
    Checks.atMost("tp", tp, Limits.MAX_WORKERS);
    Checks.atMost("pp", pp, Limits.MAX_WORKERS);
    Checks.atMost("dp", dp, Limits.MAX_WORKERS);
    Checks.atMost("ep", ep, Limits.MAX_WORKERS);
    Checks.atMost("slotsPerWorker", slotsPerWorker, Limits.MAX_SLOTS_PER_WORKER);
    if ((long) ep * slotsPerWorker > Limits.MAX_SLOTS) {
      throw new SpecException(
          "field 'ep' times 'slotsPerWorker' must be <= "
              + Limits.MAX_SLOTS
              + ", got "
              + ((long) ep * slotsPerWorker));
    }
  }

  /** Ranks of a job under this config: {@code tp * pp * dp}. */
  public long worldSize() {
    return (long) tp * pp * dp;
  }

  /**
   * The pipeline stage that hosts MoE layer {@code layer} of {@code moeLayers}: stages hold
   * contiguous blocks of {@code ceil(moeLayers / pp)} layers, stage 0 the first.
   */
  public int stageOfLayer(int layer, int moeLayers) {
    return layer / layersPerStage(moeLayers);
  }

  /** MoE layers per pipeline stage (the last stage may hold fewer). */
  public int layersPerStage(int moeLayers) {
    return (moeLayers + pp - 1) / pp;
  }

  /**
   * The pipeline stage of rank {@code rank} of a job of {@code worldSize} ranks: the pipeline stage
   * is the outermost rank dimension (as in Megatron-LM), so stage {@code s} holds ranks {@code s W
   * / pp .. (s + 1) W / pp - 1}. Needs {@code worldSize} to be a multiple of pp.
   */
  public int stageOfRank(int rank, int worldSize) {
    return rank / ranksPerStage(worldSize);
  }

  /** Ranks of each pipeline stage, which are the ranks that report each of its layers. */
  public int ranksPerStage(int worldSize) {
    if (worldSize % pp != 0) {
      throw new IllegalArgumentException(
          "a job of " + worldSize + " ranks cannot run " + pp + " pipeline stages");
    }
    return worldSize / pp;
  }

  /** Pure expert parallelism over {@code workers} GPUs: tp = pp = 1, dp = ep = workers. */
  public static ParallelConfig expertParallel(int workers, int slotsPerWorker) {
    return new ParallelConfig(1, 1, workers, workers, slotsPerWorker);
  }
}
