package io.moeplan.planner.replay;

import io.moeplan.planner.selector.SelectorOptions;
import java.util.List;

/**
 * What a replay evaluates.
 *
 * @param workers workers the trace's ranks are folded onto
 * @param slotsPerWorker expert slots per worker
 * @param windowIterations iterations each trace sample stands for (the replan interval)
 * @param policies policy names in report order, from {@link ReplayEvaluator#POLICIES}
 * @param selector options of the selector (and of the oracle's search)
 */
public record ReplayOptions(
    int workers,
    int slotsPerWorker,
    int windowIterations,
    List<String> policies,
    SelectorOptions selector) {

  /** Validates the options. */
  public ReplayOptions {
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be >= 1, got " + workers);
    }
    if (slotsPerWorker < 1) {
      throw new IllegalArgumentException("slotsPerWorker must be >= 1, got " + slotsPerWorker);
    }
    if (windowIterations < 1) {
      throw new IllegalArgumentException("windowIterations must be >= 1, got " + windowIterations);
    }
    policies = List.copyOf(policies);
    for (String p : policies) {
      if (!ReplayEvaluator.POLICIES.contains(p)) {
        throw new IllegalArgumentException(
            "unknown policy '" + p + "'; valid: " + String.join(", ", ReplayEvaluator.POLICIES));
      }
    }
    if (policies.isEmpty()) {
      throw new IllegalArgumentException("at least one policy is needed");
    }
  }

  /** All policies, default selector options for the window. */
  public static ReplayOptions of(int workers, int slotsPerWorker, int windowIterations) {
    return new ReplayOptions(
        workers,
        slotsPerWorker,
        windowIterations,
        ReplayEvaluator.POLICIES,
        SelectorOptions.defaults(windowIterations));
  }
}
