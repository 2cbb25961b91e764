package io.moeplan.planner.selector;

import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import io.moeplan.planner.policy.Decision;
import io.moeplan.planner.policy.PlacementPolicy;
import java.util.List;

/**
 * Our policy for one layer: folds each observed window into the load estimate ({@link
 * LoadEstimator}) and asks the {@link OnlineSelector} for the decision, with the pool's placements
 * as candidates.
 */
public final class SelectorPolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "selector";

  private final OnlineSelector selector;
  private final LoadEstimator estimator;
  private final List<Placement> pool;
  private LoadMatrix estimate;

  /** A selector policy for one layer with the given pool placements (may be empty). */
  public SelectorPolicy(OnlineSelector selector, List<Placement> pool) {
    this.selector = selector;
    this.estimator = new LoadEstimator(selector.options().emaAlpha());
    this.pool = List.copyOf(pool);
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    estimate = estimator.next(estimate, observed);
    return selector.decide(current, estimate, pool);
  }

  /** The current load estimate ({@code null} before the first window). */
  public LoadMatrix estimate() {
    return estimate;
  }
}
