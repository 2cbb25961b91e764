package io.moeplan.planner.policy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;

/**
 * Static expert parallelism: the placement fixed before training ({@link Placement#staticLayout}:
 * expert e in slot e, spare slots round-robin) never changes.
 */
public final class StaticPolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "static";

  private final PerformanceModel model;

  /** A static policy that reports modelled times with {@code model}. */
  public StaticPolicy(PerformanceModel model) {
    this.model = model;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    return Decision.keep(
        current, model.layerSeconds(current, observed), "static placement never changes");
  }
}
