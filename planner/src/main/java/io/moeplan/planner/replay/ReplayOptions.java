package io.moeplan.planner.replay;

import io.moeplan.planner.selector.SelectorOptions;
import java.util.List;

/**
 * What a replay evaluates.
 *
 * @param workers workers the trace's ranks are folded onto
 * @param slotsPerWorker expert slots per worker
 * @param windowIterations iterations each trace sample stands for (the replan interval)
 * @param policies policies in report order: names from {@link ReplayEvaluator#POLICIES}, each
 *     optionally with settings ({@link PolicySpec}, e.g. {@code eplb(interval=1000,window=100)})
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
      PolicySpec.parse(p, windowIterations);
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
