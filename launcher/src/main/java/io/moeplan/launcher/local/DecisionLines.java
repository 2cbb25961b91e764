package io.moeplan.launcher.local;

import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.PlanDecision;
import java.util.Locale;

/** The lines {@code moeplan local} prints for what the plan-selector job writes. */
final class DecisionLines {
  private DecisionLines() {}

  /**
   * A switch decision: its id, the plan version and effective iteration, the modelled times before
   * and after, the bytes it moves and the selector's reason.
   */
  static String switchLine(PlanDecision decision) {
    return String.format(
        Locale.ROOT,
        "decision %s: SWITCH to v%d at iteration %d, predicted %.3f -> %.3f ms, moves %.1f KiB"
            + " (%s)",
        decision.getDecisionId(),
        decision.getPlanVersion(),
        decision.getEffectiveIteration(),
        decision.getPredictedCurrentSeconds() * 1e3,
        decision.getPredictedNewSeconds() * 1e3,
        decision.getMigrationBytes() / 1024.0,
        decision.getReason());
  }

  /** A dead-lettered record: its reason code, where it was read and the job's sentence. */
  static String deadLetterLine(DeadLetter letter) {
    return String.format(
        Locale.ROOT,
        "dead letter %s at %s/%d/%d: %s",
        letter.getReason(),
        letter.getSourceTopic(),
        letter.getPartition(),
        letter.getOffset(),
        letter.getDetail());
  }
}
