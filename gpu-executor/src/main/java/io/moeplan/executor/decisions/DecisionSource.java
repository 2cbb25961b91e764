package io.moeplan.executor.decisions;

import io.moeplan.schemas.PlanDecision;
import java.time.Duration;
import java.util.List;

/** Where decisions arrive from: the decisions topic, or a test's queue. */
@FunctionalInterface
public interface DecisionSource {

  /** Decisions that arrived, waiting at most {@code maxWait} for the first one. */
  List<PlanDecision> poll(Duration maxWait);
}
