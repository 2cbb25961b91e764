package io.moeplan.executor.workload;

import io.moeplan.executor.backend.MoeLayerBackend;

/**
 * Where an executor's tokens and routing come from, one iteration at a time: a real gate on a
 * synthetic token stream, or a replayed trace.
 */
public interface Workload {

  /** The gate matrix of a layer (hidden x experts, row-major) to load into its backend. */
  float[] gate(int layer);

  /**
   * Moves to {@code iteration}, which must not be before the current one (a restarted executor
   * skips ahead); the first call may name any iteration.
   */
  void advanceTo(long iteration);

  /** The current iteration's tokens of one layer, routed (by {@code backend}'s gate if real). */
  LayerInput input(int layer, MoeLayerBackend backend);

  /** Says where tokens and routing come from, for the console. */
  String describe();
}
