package io.moeplan.flink.input;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.input.Epochs.Order;
import org.junit.jupiter.api.Test;

class EpochsTest {

  @Test
  void ordersAttemptsOfARunAndRunsLeftOrNot() {
    String[] left = Epochs.leave(null, null);

    assertThat(Epochs.compare("r", 1, left, "r", 1)).isEqualTo(Order.SAME);
    assertThat(Epochs.compare("r", 1, left, "r", 2)).isEqualTo(Order.NEWER_ATTEMPT);
    assertThat(Epochs.compare("r", 1, left, "r", 0)).isEqualTo(Order.OLDER);
    assertThat(Epochs.compare("r", 1, left, "s", 0)).isEqualTo(Order.NEWER_RUN);
    assertThat(Epochs.compare("r", 1, left, null, 0))
        .as("the default run, left")
        .isEqualTo(Order.OLDER);
    assertThat(Epochs.compare(null, 0, null, null, 0)).isEqualTo(Order.SAME);
    assertThat(Epochs.compare(null, 0, null, "r", 0)).isEqualTo(Order.NEWER_RUN);
  }

  @Test
  void remembersTheMostRecentRunsLeftUpToTheBound() {
    String[] left = null;
    for (int run = 0; run < Epochs.MAX_LEFT_RUNS + 2; run++) {
      left = Epochs.leave(left, "run-" + run);
    }

    assertThat(left).hasSize(Epochs.MAX_LEFT_RUNS).startsWith("run-2").endsWith("run-9");
    assertThat(Epochs.compare("x", 0, left, "run-1", 0)).isEqualTo(Order.NEWER_RUN);
    assertThat(Epochs.compare("x", 0, left, "run-2", 0)).isEqualTo(Order.OLDER);
    assertThat(Epochs.leave(left, "run-5")).hasSize(Epochs.MAX_LEFT_RUNS).endsWith("run-5");
    assertThat(Epochs.without(left, "run-5"))
        .hasSize(Epochs.MAX_LEFT_RUNS - 1)
        .doesNotContain("run-5");
  }
}
