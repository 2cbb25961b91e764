package io.moeplan.planner.pool;

/**
 * Receives the progress of a pool search, e.g. to print a progress line. Calls may come from
 * several threads but never at the same time.
 */
@FunctionalInterface
public interface ProgressListener {

  /** A listener that ignores every report. */
  ProgressListener NONE = (phase, done, total) -> {};

  /** The phases of a search, in order. */
  enum Phase {
    /** Representative loads: reading or generating them and finding the load regimes. */
    LOADS,
    /** Enumerating the parallel configs. */
    ENUMERATE,
    /** Scoring each valid config on the representative loads. */
    SCORE,
    /** Building the plans of the kept configs, one step per plan. */
    PLANS
  }

  /** {@code done} of {@code total} steps of {@code phase} are finished. */
  void onProgress(Phase phase, int done, int total);
}
