package io.moeplan.planner.policy;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;

/**
 * Decides the placement of one layer for the next window from the load observed in the window that
 * just closed. An instance serves one layer and may keep state across windows (for example a load
 * estimate); given the same sequence of inputs it returns the same decisions.
 */
public interface PlacementPolicy {

  /** Short name of the policy, e.g. {@code smartmoe}. */
  String name();

  /** The decision for the next window, given the placement in force and the observed load. */
  Decision decide(Placement current, LoadMatrix observed);
}
