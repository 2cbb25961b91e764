package io.moeplan.planner.pool;

/**
 * A combination of parallel degrees the enumeration refused, and why. Degrees that were not chosen
 * yet when the combination was refused are 0 (a tensor degree that spans nodes is refused before
 * any expert-parallel size is tried).
 *
 * @param tp tensor-parallel degree
 * @param pp pipeline-parallel degree
 * @param dp data-parallel degree
 * @param ep expert-parallel group size, or 0
 * @param slotsPerWorker slots per worker, or 0; for {@link Reason#MEMORY} the smallest refused
 *     count (every larger count is refused too)
 * @param reason the rule that refused it
 * @param detail a sentence naming the numbers behind the refusal
 */
public record RefusedConfig(
    int tp, int pp, int dp, int ep, int slotsPerWorker, Reason reason, String detail) {

  /**
   * The rules of {@link ConfigEnumerator}. The first three are never enumerated (the enumeration
   * only builds combinations that satisfy them); they are reported for a parallel config given by
   * the user ({@link ConfigEnumerator#refusal}).
   */
  public enum Reason {
    /** {@code tp * pp * dp} is not the cluster's GPU count: not a divisor triple of it. */
    NOT_THE_CLUSTERS_GPUS,
    /** {@code ep} does not divide {@code dp}: an expert-parallel group is ep data ranks. */
    EXPERT_GROUP_SPLITS_DATA,
    /**
     * {@code slotsPerWorker} is below {@code ceil(expertCount / ep)} (some expert has no slot) or
     * above the replication bound.
     */
    SLOTS_OUT_OF_RANGE,
    /** {@code tp} does not divide the GPUs of a node: tensor parallelism stays inside a node. */
    TENSOR_ACROSS_NODES,
    /** {@code pp} exceeds the MoE layers: a stage without an MoE layer is not a useful plan. */
    PIPELINE_DEEPER_THAN_LAYERS,
    /** {@code ep} neither divides the expert count nor is a multiple of it. */
    EXPERT_GROUP_MISMATCH,
    /** The experts' parameters, gradients and optimizer state do not fit a GPU's memory. */
    MEMORY
  }
}
