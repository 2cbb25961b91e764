package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ParallelConfig;

/**
 * How a parallel config scored on the representative loads; the pool keeps the configs with the
 * lowest {@link #iterationSeconds()}.
 *
 * @param parallel the config
 * @param iterationSeconds modelled MoE seconds per iteration with the best of the greedy placement
 *     and the static layout per layer and load, averaged over the load regimes by weight
 * @param staticIterationSeconds the same with the static layout everywhere
 * @param expertDataSyncSeconds per layer: the all-reduce of the expert gradients among the {@code
 *     dp / ep} copies of each expert-parallel group (0 when {@code ep == dp})
 * @param expertBytesPerGpu memory the expert slots need on one GPU ({@link MemoryBudget})
 */
public record ConfigScore(
    ParallelConfig parallel,
    double iterationSeconds,
    double staticIterationSeconds,
    double expertDataSyncSeconds,
    double expertBytesPerGpu) {}
