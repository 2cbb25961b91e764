package io.moeplan.launcher.fit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ModelFitTextTest {

  @Test
  void summarisesACalibratedModelWithItsError() {
    assertThat(ModelFitText.summary(StepModelTest.fit(true, 1e9)))
        .isEqualTo(
            "model v3 calibrated: compute MAPE 4.1% (0.8% at the step's speed), r 0.981, step MAPE"
                + " 3.0%");
  }

  @Test
  void saysWhenThereIsNoCalibratedModelYet() {
    assertThat(ModelFitText.summary(null)).isEqualTo("model: not calibrated yet");
    assertThat(ModelFitText.summary(StepModelTest.fit(false, 0)))
        .isEqualTo("model: not calibrated yet");
  }

  @Test
  void aBlockShowsTheConstantsAgainstThePoolsAndTheError() {
    String block = ModelFitText.block(StepModelTest.fit(true, 1.5e9));
    assertThat(block)
        .startsWith("job job (cpu workers, pool v1): model v3, calibrated, last iteration 99")
        .contains("fixed 2.00 us per active slot (pool 5.00 us), per token 40.0 us (pool 131 us)")
        .contains("1.50 GB/s per receiving worker (pool 5.00 GB/s), measured; 12 samples")
        .contains(
            "compute MAPE 4.1%, r 0.981; at each step's measured speed, compute MAPE 0.8%; step MAPE"
                + " 3.0% (predicted 12.000 ms, measured 12.500 ms")
        .contains("migration MAPE -")
        .doesNotEndWith("\n");
  }

  @Test
  void unitsReadWell() {
    assertThat(ModelFitText.seconds(2.5)).isEqualTo("2.50 s");
    assertThat(ModelFitText.seconds(0.0125)).isEqualTo("12.5 ms");
    assertThat(ModelFitText.seconds(3e-9)).isEqualTo("3.00 ns");
    assertThat(ModelFitText.bandwidth(2.5e8)).isEqualTo("250.0 MB/s");
    assertThat(ModelFitText.percent(null)).isEqualTo("-");
  }
}
