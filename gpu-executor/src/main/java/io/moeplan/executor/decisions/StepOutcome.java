package io.moeplan.executor.decisions;

import java.util.List;

/**
 * What the follower decided for one iteration: the window whose decisions were due (-1 when none),
 * the placement changes to apply before the iteration runs, and the layers whose decision did not
 * arrive in time (they keep their placement).
 */
public record StepOutcome(long window, List<LayerSwitch> switches, List<Integer> timedOutLayers) {

  /** An iteration at which no window's decisions take effect. */
  public static final StepOutcome NONE = new StepOutcome(-1, List.of(), List.of());

  /** Copies the lists. */
  public StepOutcome {
    switches = List.copyOf(switches);
    timedOutLayers = List.copyOf(timedOutLayers);
  }
}
