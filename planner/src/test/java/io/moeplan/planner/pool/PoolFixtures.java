package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;

/** Vocabulary of the pool tests: small clusters and tiny models. */
final class PoolFixtures {
  private PoolFixtures() {}

  /** H100 constants with another shape and memory. */
  static ClusterSpec cluster(int nodes, int gpusPerNode, long gpuMemoryBytes) {
    ClusterSpec h = ClusterSpec.h100(nodes, gpusPerNode);
    return new ClusterSpec(
        nodes,
        gpusPerNode,
        h.gpuFlops(),
        h.intraNodeBandwidth(),
        h.interNodeBandwidth(),
        h.latencySeconds(),
        gpuMemoryBytes,
        h.expertFixedSeconds());
  }

  /**
   * A model whose expert shard has {@code 2 * 8 * 16 / tp} parameters: 4096 bytes per slot and
   * layer at tp 1 (weight 2 + gradient 2 + optimizer 12 bytes per parameter).
   */
  static ModelSpec tinyModel(int layers, int experts) {
    return new ModelSpec(layers, experts, 2, 8, 16, 2, 12, 4096);
  }
}
