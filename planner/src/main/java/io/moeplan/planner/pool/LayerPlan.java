package io.moeplan.planner.pool;

import io.moeplan.planner.placement.Placement;
import java.util.Objects;

/**
 * The placement of one MoE layer in a plan (the Avro {@code LayerPlacement}). The placement is over
 * the {@code ep} workers of one expert-parallel group; every group of the plan's config uses it.
 *
 * @param layer MoE layer index
 * @param placement slot -> expert over the group's workers
 * @param predictedSeconds modelled layer seconds per iteration on the load the plan was made for
 */
public record LayerPlan(int layer, Placement placement, double predictedSeconds) {
  /** Validates the layer index. */
  public LayerPlan {
    Objects.requireNonNull(placement, "placement");
    if (layer < 0) {
      throw new IllegalArgumentException("layer must be >= 0, got " + layer);
    }
  }
}
