package io.moeplan.tests;

import io.moeplan.schemas.PlanDecision;
import java.util.Collection;

/** Which decision of a layer is in force at an iteration: the latest window's effective one. */
final class InForce {
  private InForce() {}

  /** The decision of a layer whose placement is in force at an iteration, or null (the pool's). */
  static PlanDecision decision(Collection<PlanDecision> decisions, int layer, long iteration) {
    PlanDecision latest = null;
    for (PlanDecision d : decisions) {
      if (d.getLayer() == layer
          && d.getEffectiveIteration() <= iteration
          && (latest == null || d.getWindow() > latest.getWindow())) {
        latest = d;
      }
    }
    return latest;
  }

  /** Plan version of a layer's placement in force at an iteration (0: the pool's initial one). */
  static long planVersion(Collection<PlanDecision> decisions, int layer, long iteration) {
    PlanDecision inForce = decision(decisions, layer, iteration);
    return inForce == null ? 0 : inForce.getPlanVersion();
  }
}
