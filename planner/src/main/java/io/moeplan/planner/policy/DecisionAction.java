package io.moeplan.planner.policy;

/** What a decision does with the placement of one layer. */
public enum DecisionAction {
  /** Keep the current placement. */
  KEEP,
  /** Switch to a new placement from the effective iteration on. */
  SWITCH
}
