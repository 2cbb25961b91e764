package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;

/**
 * Memory one GPU needs for its expert slots and the memory it has for them.
 *
 * <p>Each slot holds one expert shard of every MoE layer of the GPU's pipeline stage ({@code
 * ceil(moeLayers / pp)} layers); a shard has {@code 2 * hidden * ffnHidden / tp} parameters and
 * keeps, per parameter, its weight and its gradient ({@code bytesPerElement} each) and the
 * optimizer state ({@code optimizerBytesPerParam}). Everything else (activations, dense layers and
 * their optimizer state, communication buffers, allocator slack) is covered by the allowance: a
 * fixed fraction of the GPU's memory ({@link PoolOptions#memoryReserveFraction()}) is not given to
 * experts.
 */
public final class MemoryBudget {
  private MemoryBudget() {}

  /** MoE layers one pipeline stage holds: {@code ceil(moeLayers / pp)}. */
  public static int layersPerStage(ModelSpec model, int pp) {
    return (model.moeLayers() + pp - 1) / pp; // as ParallelConfig.layersPerStage
  }

  /** Bytes of one expert shard of one layer: parameters times (2 * bytesPerElement + optimizer). */
  public static double bytesPerSlotAndLayer(ModelSpec model, int tp) {
    return (double) model.expertParams(tp)
        * (2.0 * model.bytesPerElement() + model.optimizerBytesPerParam());
  }

  /** Bytes one GPU needs for the expert slots of a config. */
  public static double expertBytesPerGpu(ModelSpec model, ParallelConfig config) {
    return bytesPerSlotAndLayer(model, config.tp())
        * config.slotsPerWorker()
        * layersPerStage(model, config.pp());
  }

  /** Bytes of one GPU available to experts: memory times (1 - reserve fraction). */
  public static double availableBytes(ClusterSpec cluster, double memoryReserveFraction) {
    return cluster.gpuMemoryBytes() * (1 - memoryReserveFraction);
  }
}
