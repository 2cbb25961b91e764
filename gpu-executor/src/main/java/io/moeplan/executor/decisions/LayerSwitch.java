package io.moeplan.executor.decisions;

import io.moeplan.planner.placement.Placement;

/**
 * A placement change of one layer taking effect at {@code iteration}: a SWITCH decision, or a KEEP
 * whose placement differs from the one this process runs (the repair of a missed switch).
 */
public record LayerSwitch(
    int layer,
    long iteration,
    Placement from,
    Placement to,
    long planVersion,
    String decisionId,
    boolean repair) {}
