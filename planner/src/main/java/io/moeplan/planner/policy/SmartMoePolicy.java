package io.moeplan.planner.policy;

import io.moeplan.planner.model.PerformanceModel;
import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.LoadMatrix;
import io.moeplan.planner.placement.Placement;
import java.util.Locale;

/**
 * SmartMoE's published online rule (docs/selector.md, baselines): loads summed over all ranks,
 * greedy LPT over slots with sticky ties ({@link GreedyPlacement}), switch iff the new maximum
 * per-worker token count is strictly lower than the current one. No communication term, no
 * migration cost, no margin; the model is used only to report predicted times and the migration the
 * switch costs.
 *
 * <p>Its knob is a threshold {@code t >= 0} on the relative drop: it switches iff {@code currentMax
 * > (1 + t) * greedyMax}, i.e. the current placement's largest per-worker token count exceeds the
 * greedy placement's by more than the fraction {@code t}. {@code t = 0} (the default) is the rule
 * above; a larger {@code t} ignores small gains and so migrates less.
 */
public final class SmartMoePolicy implements PlacementPolicy {
  /** The policy's name. */
  public static final String NAME = "smartmoe";

  private final PerformanceModel model;
  private final double threshold;

  /** A SmartMoE policy (threshold 0) that reports modelled times with {@code model}. */
  public SmartMoePolicy(PerformanceModel model) {
    this(model, 0);
  }

  /** A SmartMoE policy that switches only for a relative drop above {@code threshold}. */
  public SmartMoePolicy(PerformanceModel model, double threshold) {
    if (!(threshold >= 0) || Double.isInfinite(threshold)) {
      throw new IllegalArgumentException("threshold must be finite and >= 0, got " + threshold);
    }
    this.model = model;
    this.threshold = threshold;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Decision decide(Placement current, LoadMatrix observed) {
    double[] loads = observed.expertTotals();
    Placement next = GreedyPlacement.place(loads, current);
    double currentMax = GreedyPlacement.maxWorkerTokens(current, loads);
    double nextMax = GreedyPlacement.maxWorkerTokens(next, loads);
    double currentSeconds = model.layerSeconds(current, observed);
    if (currentMax > (1 + threshold) * nextMax && !next.sameWorkerSets(current)) {
      double nextSeconds = model.layerSeconds(next, observed);
      SwitchCost cost = model.switchCost(current, next);
      return Decision.switchTo(
          next,
          currentSeconds,
          nextSeconds,
          cost,
          String.format(
              Locale.ROOT, "max tokens per worker drops from %.0f to %.0f", currentMax, nextMax));
    }
    return Decision.keep(
        current,
        currentSeconds,
        String.format(
            Locale.ROOT,
            "greedy max tokens per worker %.0f is not below the current %.0f by more than %s",
            nextMax,
            currentMax,
            threshold));
  }
}
