package io.moeplan.flink.state;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;

/** Opening operator test harnesses the way a task starts an operator. */
public final class Harnesses {

  private Harnesses() {}

  /** Sets up and opens {@code harness}, restored from {@code snapshot} when one is given. */
  public static <H extends AbstractStreamOperatorTestHarness<?>> H opened(
      H harness, OperatorSubtaskState snapshot) throws Exception {
    harness.setup();
    if (snapshot != null) {
      harness.initializeState(snapshot);
    }
    harness.open();
    return harness;
  }
}
