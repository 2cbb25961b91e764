package io.moeplan.executor.process;

import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;

/**
 * Specs that describe CPU executors to the planner, so a pool built from them predicts what the cpu
 * backend measures: a "GPU" is one worker of an executor process, the model has the small
 * dimensions the executor runs, fp32 weights with Adam's two fp32 moments (12 bytes per parameter,
 * what a slot copy moves).
 *
 * <p>The performance model charges {@code 12 * hidden * ffn} FLOPs per token (forward and
 * backward); the executor runs the forward ({@code 4 * hidden * ffn}). {@link #gpuFlops} is three
 * times the measured forward rate so the modelled per-worker compute equals the measured one.
 */
public final class CpuWorkers {

  /**
   * Forward expert-FFN rate of the float32 reference on one core at hidden 32, ffn 64 (measured
   * 1-3.5 GFLOP/s on a shared 2-core machine; 2 GFLOP/s taken).
   */
  public static final double FORWARD_FLOPS = 2e9;

  /** Fixed cost per expert replica and iteration (slicing and allocating per slot). */
  public static final double EXPERT_FIXED_SECONDS = 5e-6;

  /** Bytes per second of an in-process array copy (slot moves, the token exchange). */
  public static final double COPY_BANDWIDTH = 5e9;

  private CpuWorkers() {}

  /** The modelled rate that makes modelled forward+backward equal measured forward compute. */
  public static double gpuFlops() {
    return 3 * FORWARD_FLOPS;
  }

  /** CPU workers in the shape of a cluster: {@code nodes x workersPerNode} workers. */
  public static ClusterSpec cluster(int nodes, int workersPerNode) {
    return new ClusterSpec(
        nodes,
        workersPerNode,
        gpuFlops(),
        COPY_BANDWIDTH,
        COPY_BANDWIDTH,
        0,
        8L << 30,
        EXPERT_FIXED_SECONDS);
  }

  /**
   * A model of {@code layers} layers of {@code experts} experts (top-k) at the given small
   * dimensions, each rank routing {@code tokensPerRank} tokens per layer and iteration.
   */
  public static ModelSpec model(
      int layers, int experts, int topK, int hidden, int ffn, int tokensPerRank) {
    return new ModelSpec(layers, experts, topK, hidden, ffn, 4, 8, (long) tokensPerRank * topK);
  }
}
