package io.moeplan.executor.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.schemas.DecisionWindows;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ExecutorSettingsTest {

  @Test
  void defaultsToTheJobsWindowAndLead() {
    ExecutorSettings settings = ExecutorSettings.defaults("job", 2);

    assertThat(settings.windowIterations()).isEqualTo(DecisionWindows.DEFAULT_WINDOW_ITERATIONS);
    assertThat(settings.leadIterations()).isEqualTo(DecisionWindows.DEFAULT_LEAD_ITERATIONS);
  }

  @Test
  void errorsNameTheWindowAndLeadFlagsOfEveryCommand() {
    ExecutorSettings settings = ExecutorSettings.defaults("job", 2);

    assertThatThrownBy(() -> settings.withWindow(0, 2, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--window-iterations must be >= 1, got 0");
    assertThatThrownBy(() -> settings.withWindow(10, -1, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--lead-iterations must be >= 0, got -1");
  }

  @Test
  void refusesAJobIdThatCannotStartAKey() {
    assertThatThrownBy(() -> ExecutorSettings.defaults("a/b", 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--job: ")
        .hasMessageContaining("'a/b'");
    assertThatThrownBy(() -> ExecutorSettings.defaults(" ", 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--job: ");
  }
}
