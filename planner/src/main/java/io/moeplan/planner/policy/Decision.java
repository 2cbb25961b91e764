package io.moeplan.planner.policy;

import io.moeplan.planner.model.SwitchCost;
import io.moeplan.planner.placement.Placement;
import java.util.Objects;

/**
 * The outcome of one decision for one layer: keep or switch, the placement in force afterwards, the
 * modelled times of the current and the chosen placement on the estimated load, the migration it
 * costs and why.
 *
 * @param action keep or switch
 * @param placement the placement in force after the decision (the current one for KEEP)
 * @param predictedCurrentSeconds modelled layer seconds per iteration of the current placement
 * @param predictedNewSeconds modelled layer seconds per iteration of {@code placement}
 * @param migrationBytes bytes moved by the switch (0 for KEEP)
 * @param migrationSeconds modelled seconds of the switch (0 for KEEP)
 * @param reason a sentence for people reading the decision
 */
public record Decision(
    DecisionAction action,
    Placement placement,
    double predictedCurrentSeconds,
    double predictedNewSeconds,
    long migrationBytes,
    double migrationSeconds,
    String reason) {

  /** Validates that a KEEP moves nothing. */
  public Decision {
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(reason, "reason");
    if (action == DecisionAction.KEEP && (migrationBytes != 0 || migrationSeconds != 0)) {
      throw new IllegalArgumentException("a KEEP decision migrates nothing");
    }
  }

  /** Keeps {@code current}. */
  public static Decision keep(Placement current, double currentSeconds, String reason) {
    return new Decision(DecisionAction.KEEP, current, currentSeconds, currentSeconds, 0, 0, reason);
  }

  /** Keeps {@code current}, recording the time the best alternative would have had. */
  public static Decision keep(
      Placement current, double currentSeconds, double alternativeSeconds, String reason) {
    return new Decision(
        DecisionAction.KEEP, current, currentSeconds, alternativeSeconds, 0, 0, reason);
  }

  /** Switches to {@code next} at the given cost. */
  public static Decision switchTo(
      Placement next, double currentSeconds, double newSeconds, SwitchCost cost, String reason) {
    return new Decision(
        DecisionAction.SWITCH,
        next,
        currentSeconds,
        newSeconds,
        cost.bytes(),
        cost.seconds(),
        reason);
  }

  /** True for SWITCH. */
  public boolean switches() {
    return action == DecisionAction.SWITCH;
  }
}
