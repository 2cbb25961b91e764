package io.moeplan.planner.pool;

import io.moeplan.planner.spec.ParallelConfig;
import java.util.List;
import java.util.Objects;

/**
 * A parallel config plus a placement for every MoE layer (the Avro {@code Plan}), made for one load
 * regime of the representative loads.
 *
 * @param planId index of the plan within its pool
 * @param parallel the parallel degrees
 * @param layers one entry per MoE layer, in layer order
 * @param predictedIterationSeconds modelled MoE seconds per iteration on the plan's load regime:
 *     with {@code pp = 1} the layers' predicted seconds summed, plus each layer's expert-gradient
 *     all-reduce among data-parallel copies; with pipeline stages the slowest stage's sum times the
 *     pipeline bubble (see {@link PoolSearch})
 * @param regimeWeight share of the representative samples in the regime the plan was made for
 */
public record Plan(
    int planId,
    ParallelConfig parallel,
    List<LayerPlan> layers,
    double predictedIterationSeconds,
    double regimeWeight) {
  /** Copies the layer list. */
  public Plan {
    Objects.requireNonNull(parallel, "parallel");
    layers = List.copyOf(layers);
  }
}
